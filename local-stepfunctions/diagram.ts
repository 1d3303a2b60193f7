/**
 * Draws a state machine definition as a Mermaid flowchart, for docs and reviews: one node per
 * state (shaped by type), Choice branches labelled with their conditions, Map and Parallel states
 * as subgraphs around their nested machines, Catch edges dashed and labelled with the errors they
 * catch. Pure: definition in, text out; states typed and nested machines found as infra/asl.ts
 * defines them.
 */
import { innerMachines, type ProcessorConfig, type State, type StateMachineDefinition, type SubMachine, type TaskState } from "../infra/asl";

/** The Mermaid flowchart (`flowchart TD`) of a definition. */
export function toMermaid(definition: object): string {
  const lines = ["flowchart TD"];
  const ids = new Map<string, string>();
  const idOf = (name: string) => {
    let id = ids.get(name);
    if (!id) {
      id = `s${ids.size}`;
      ids.set(name, id);
    }
    return id;
  };
  const edges: string[] = [];

  const drawMachine = (machine: SubMachine, indent: string, entryFrom: string) => {
    edges.push(`${entryFrom} --> ${idOf(machine.StartAt)}`);
    for (const [name, state] of Object.entries(machine.States)) {
      const id = idOf(name);
      const inner = innerMachines(state);
      if (state.Type === "Map" && inner.length > 0) {
        const processor = inner[0] as SubMachine & { ProcessorConfig?: ProcessorConfig };
        const mode = processor.ProcessorConfig?.Mode === "DISTRIBUTED" ? "Map, distributed" : "Map";
        lines.push(`${indent}subgraph ${id}["${label(name)} (${mode})"]`);
        lines.push(`${indent}  direction TB`);
        const start = `${id}_start`;
        lines.push(`${indent}  ${start}(("each item"))`);
        drawMachine(processor, `${indent}  `, start);
        lines.push(`${indent}end`);
      } else if (state.Type === "Parallel" && inner.length > 0) {
        lines.push(`${indent}subgraph ${id}["${label(name)} (Parallel)"]`);
        lines.push(`${indent}  direction TB`);
        inner.forEach((branch, i) => {
          const branchId = `${id}_b${i}`;
          lines.push(`${indent}  subgraph ${branchId}["branch ${i + 1}"]`);
          lines.push(`${indent}    direction TB`);
          const start = `${branchId}_start`;
          lines.push(`${indent}    ${start}(("start"))`);
          drawMachine(branch, `${indent}    `, start);
          lines.push(`${indent}  end`);
        });
        lines.push(`${indent}end`);
      } else {
        lines.push(`${indent}${id}${shape(state, name)}`);
      }
      drawTransitions(id, state);
    }
  };

  const drawTransitions = (id: string, state: State) => {
    if (state.Type === "Choice") {
      for (const rule of state.Choices ?? []) {
        edges.push(`${id} -->|"${label(condition(rule))}"| ${idOf(rule.Next)}`);
      }
      if (state.Default) edges.push(`${id} -->|"otherwise"| ${idOf(state.Default)}`);
      return;
    }
    if ("Next" in state && state.Next) edges.push(`${id} --> ${idOf(state.Next)}`);
    for (const c of ("Catch" in state && state.Catch) || []) {
      edges.push(`${id} -.->|"${label(c.ErrorEquals.join(", "))}"| ${idOf(c.Next)}`);
    }
  };

  lines.push(`  start(("start"))`);
  drawMachine(definition as StateMachineDefinition, "  ", "start");
  return [...lines, ...edges.map((e) => `  ${e}`)].join("\n") + "\n";
}

/** The node shape per state type; a Task also shows what it calls. */
function shape(state: State, name: string): string {
  const text = state.Type === "Task" && state.Resource ? `${label(name)}<br/>${label(target(state))}` : label(name);
  switch (state.Type) {
    case "Choice":
      return `{"${text}"}`;
    case "Succeed":
    case "Fail":
      return `(["${text}"])`;
    case "Pass":
      return `[/"${text}"/]`;
    default:
      return `["${text}"]`;
  }
}

/** What a Task calls: `lambda: <function name>` for Lambda, the integration otherwise. */
function target(state: TaskState): string {
  const resource = state.Resource ?? "";
  const integration = resource.replace(/^arn:aws:states:::/, "");
  if (integration === "lambda:invoke") {
    const fn = String(state.Parameters?.FunctionName ?? state.Parameters?.["FunctionName.$"] ?? "");
    return `lambda: ${fn.replace(/^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:/, "")}`;
  }
  return integration;
}

const OPERATORS: Record<string, string> = {
  StringEquals: "==",
  NumericEquals: "==",
  BooleanEquals: "==",
  TimestampEquals: "==",
  NumericGreaterThan: ">",
  NumericGreaterThanEquals: ">=",
  NumericLessThan: "<",
  NumericLessThanEquals: "<=",
  StringGreaterThan: ">",
  StringLessThan: "<",
  TimestampGreaterThan: ">",
  TimestampLessThan: "<",
  StringMatches: "matches",
};

/** A Choice rule as text: `$.summary.deleteDecision == "over-limit"`, with And/Or/Not. */
export function condition(rule: Record<string, any>): string {
  if (Array.isArray(rule.And)) return rule.And.map((r: Record<string, any>) => `(${condition(r)})`).join(" and ");
  if (Array.isArray(rule.Or)) return rule.Or.map((r: Record<string, any>) => `(${condition(r)})`).join(" or ");
  if (rule.Not) return `not (${condition(rule.Not)})`;
  const operator = Object.keys(rule).find((k) => k !== "Variable" && k !== "Next");
  if (!operator) return String(rule.Variable);
  const value = rule[operator];
  if (operator === "IsPresent") return `${rule.Variable} ${value ? "is present" : "is absent"}`;
  if (operator.startsWith("Is")) return `${rule.Variable} ${value ? "is" : "is not"} ${operator.slice(2).toLowerCase()}`;
  const symbol = OPERATORS[operator.replace(/Path$/, "")] ?? operator;
  return `${rule.Variable} ${symbol} ${operator.endsWith("Path") ? value : JSON.stringify(value)}`;
}

/** Text safe inside a quoted Mermaid label. */
function label(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}
