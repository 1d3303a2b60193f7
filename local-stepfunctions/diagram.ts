/**
 * Draws a state machine definition as a Mermaid flowchart, for docs and reviews: one node per
 * state (shaped by type), Choice branches labelled with their conditions, Map and Parallel states
 * as subgraphs around their nested machines, Catch edges dashed and labelled with the errors they
 * catch. Pure: definition in, text out.
 */

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

  const drawMachine = (machine: Machine, indent: string, entryFrom: string) => {
    edges.push(`${entryFrom} --> ${idOf(machine.StartAt)}`);
    for (const [name, state] of Object.entries(machine.States)) {
      const id = idOf(name);
      if (state.Type === "Map" && (state.ItemProcessor ?? state.Iterator)) {
        const inner = (state.ItemProcessor ?? state.Iterator) as Machine;
        const mode = inner.ProcessorConfig?.Mode === "DISTRIBUTED" ? "Map, distributed" : "Map";
        lines.push(`${indent}subgraph ${id}["${label(name)} (${mode})"]`);
        lines.push(`${indent}  direction TB`);
        const start = `${id}_start`;
        lines.push(`${indent}  ${start}(("each item"))`);
        drawMachine(inner, `${indent}  `, start);
        lines.push(`${indent}end`);
      } else if (state.Type === "Parallel" && Array.isArray(state.Branches)) {
        lines.push(`${indent}subgraph ${id}["${label(name)} (Parallel)"]`);
        lines.push(`${indent}  direction TB`);
        (state.Branches as Machine[]).forEach((branch, i) => {
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

  const drawTransitions = (id: string, state: AnyState) => {
    if (state.Type === "Choice") {
      for (const rule of state.Choices ?? []) {
        edges.push(`${id} -->|"${label(condition(rule))}"| ${idOf(rule.Next)}`);
      }
      if (state.Default) edges.push(`${id} -->|"otherwise"| ${idOf(state.Default)}`);
      return;
    }
    if (state.Next) edges.push(`${id} --> ${idOf(state.Next)}`);
    for (const c of state.Catch ?? []) {
      edges.push(`${id} -.->|"${label(c.ErrorEquals.join(", "))}"| ${idOf(c.Next)}`);
    }
  };

  const machine = definition as Machine;
  lines.push(`  start(("start"))`);
  drawMachine(machine, "  ", "start");
  return [...lines, ...edges.map((e) => `  ${e}`)].join("\n") + "\n";
}

interface Machine {
  StartAt: string;
  States: Record<string, AnyState>;
  ProcessorConfig?: { Mode?: string };
}

interface AnyState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: Array<Record<string, any> & { Next: string }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  ItemProcessor?: unknown;
  Iterator?: unknown;
  Branches?: unknown[];
  Resource?: string;
  Parameters?: Record<string, unknown>;
}

/** The node shape per state type; a Task also shows what it calls. */
function shape(state: AnyState, name: string): string {
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
function target(state: AnyState): string {
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
