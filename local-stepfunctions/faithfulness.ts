/**
 * What the local runner can run faithfully, checked before it runs anything.
 *
 * aws-local-stepfunctions accepts, and silently ignores, several features whose absence changes
 * what a run does: JSONata and variables, Distributed Map's ItemReader/ItemBatcher/ResultWriter
 * and failure tolerance (of these, the emulation implements one ItemReader: a JSON array in one
 * S3 object, see emulation.ts; any other reader is refused), heartbeats, cross-account credentials. It would also try to call real
 * AWS for any Task it is not told how to run. A local run that "passes" by ignoring what the
 * definition relies on proves nothing, so the runner refuses such a definition up front, naming
 * each state and field. Pure: no I/O, no library import.
 *
 * What is fine: `ProcessorConfig` (a Distributed Map over `ItemsPath` runs as an inline Map, with
 * the same items and the same iteration), `Label`, JSONPath `QueryLanguage`.
 */
import { allStates, LAMBDA_INVOKE, S3_GET_OBJECT, SNS_PUBLISH, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN, type StateMachineDefinition } from "../infra/asl";

/** One thing the local runner would not do as Step Functions does. */
export interface FaithfulnessIssue {
  /** State path, outer to inner: `Copy partitions > Copy range`; `(machine)` for the top level. */
  state: string;
  /** The field (or feature) at fault. */
  field: string;
  /** Why it cannot run faithfully, and what to do instead. */
  problem: string;
}

/** Task resources the emulation (local-stepfunctions/emulation.ts) implements. */
export const EMULATED_RESOURCES: readonly string[] = [LAMBDA_INVOKE, SNS_PUBLISH, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN];

/** Fields that only mean something with JSONata or variables, which the runner does not implement. */
const JSONATA_OR_VARIABLE_FIELDS = ["Arguments", "Output", "Assign", "Items"];

/** Map fields of Distributed Map that the interpreter ignores, each changing what the Map does. */
const IGNORED_MAP_FIELDS: Record<string, string> = {
  ItemBatcher: "batches items; locally each iteration would get one item instead of a batch",
  ResultWriter: "writes results to S3; locally they would stay in the state's data",
  ToleratedFailurePercentage: "tolerates failed items; locally the first failure fails the Map",
  ToleratedFailurePercentagePath: "tolerates failed items; locally the first failure fails the Map",
  ToleratedFailureCount: "tolerates failed items; locally the first failure fails the Map",
  ToleratedFailureCountPath: "tolerates failed items; locally the first failure fails the Map",
};

/** Task fields the interpreter ignores. */
const IGNORED_TASK_FIELDS: Record<string, string> = {
  HeartbeatSeconds: "is not enforced locally",
  HeartbeatSecondsPath: "is not enforced locally",
  Credentials: "(a cross-account role) is not assumed locally",
};

/**
 * Context object paths the runner provides. `$$.Execution.Input` and `$$.Execution.StartTime`
 * only at the top level: inside a Map iteration or Parallel branch the interpreter restarts them,
 * and in a Distributed Map they belong to the child execution.
 */
const CONTEXT_PATHS_ANYWHERE = [
  "$$.Execution.Name",
  "$$.Execution.Id",
  "$$.StateMachine.Id",
  "$$.StateMachine.Name",
  "$$.Task.Token",
  "$$.Map.Item.Index",
  "$$.Map.Item.Value",
];
const CONTEXT_PATHS_TOP_LEVEL = ["$$.Execution.Input", "$$.Execution.StartTime"];

/** Every issue in `definition`; empty when the local runner can run it faithfully. */
export function findFaithfulnessIssues(definition: unknown): FaithfulnessIssue[] {
  const issues: FaithfulnessIssue[] = [];
  if (!isObject(definition) || !isObject(definition.States)) {
    return [{ state: "(machine)", field: "States", problem: "is not a state machine definition" }];
  }
  if (definition.QueryLanguage === "JSONata") {
    issues.push({ state: "(machine)", field: "QueryLanguage", problem: jsonataProblem() });
  }
  checkStates(definition as unknown as StateMachineDefinition, issues);
  return issues;
}

/** Throws one error listing every issue, or returns when there are none. */
export function assertRunsFaithfully(definition: unknown): void {
  const issues = findFaithfulnessIssues(definition);
  if (issues.length === 0) return;
  const lines = issues.map((i) => `  - ${i.state}: ${i.field} ${i.problem}`);
  throw new Error(
    `The local runner refuses this definition: it relies on ${issues.length === 1 ? "a feature" : "features"} ` +
      `the local interpreter would silently ignore or cannot emulate.\n${lines.join("\n")}`,
  );
}

function checkStates(definition: StateMachineDefinition, issues: FaithfulnessIssue[]): void {
  for (const located of allStates(definition)) {
    // Read as a plain record: the checks look for fields the typed States leave out on purpose.
    const state = located.state as unknown as Record<string, unknown>;
    const where = located.path.join(" > ");
    const topLevel = located.enclosing.length === 0;
    const add = (field: string, problem: string) => issues.push({ state: where, field, problem });

    if (state.QueryLanguage === "JSONata") add("QueryLanguage", jsonataProblem());
    for (const field of JSONATA_OR_VARIABLE_FIELDS) {
      if (field in state) {
        add(field, "belongs to JSONata or variables, which the local interpreter ignores; use JSONPath Parameters/ResultSelector/ResultPath.");
      }
    }
    for (const value of strings(state)) {
      if (/^\{%[\s\S]*%\}$/.test(value.trim())) {
        add("JSONata expression", `${JSON.stringify(value)} would be passed on as a literal string locally.`);
        break;
      }
    }
    for (const ref of contextReferences(state)) {
      const allowed = [...CONTEXT_PATHS_ANYWHERE, ...(topLevel ? CONTEXT_PATHS_TOP_LEVEL : [])];
      if (!allowed.some((prefix) => ref === prefix || ref.startsWith(`${prefix}.`) || ref.startsWith(`${prefix}[`))) {
        add(
          ref,
          CONTEXT_PATHS_TOP_LEVEL.some((p) => ref.startsWith(p))
            ? "inside a Map iteration or Parallel branch differs from AWS locally (the interpreter restarts it per iteration); read it at the top level and pass it down."
            : "is a context object field the local runner does not provide.",
        );
      }
    }
    for (const value of strings(state)) {
      if (value.trim().startsWith("States.") && hasParenthesisInStringLiteral(value)) {
        add(
          "intrinsic function",
          `${JSON.stringify(value)} has a parenthesis inside a string literal, which the local interpreter's argument parser misreads.`,
        );
      }
    }

    switch (state.Type) {
      case "Task":
        checkTask(state, add);
        break;
      case "Choice":
        if (Array.isArray(state.Choices) && state.Choices.some((rule) => isObject(rule) && ("Condition" in rule || "Assign" in rule))) {
          add("Choices", "use JSONata Condition or Assign, which the local interpreter ignores; use JSONPath Variable rules.");
        }
        break;
      case "Map": {
        if ("ItemReader" in state) checkItemReader(state, add);
        for (const [field, why] of Object.entries(IGNORED_MAP_FIELDS)) {
          const value = state[field];
          const harmless = field.startsWith("ToleratedFailure") && value === 0;
          if (field in state && !harmless) add(field, `${why}.`);
        }
        break;
      }
      default:
        break;
    }
  }
}

function checkTask(state: Record<string, unknown>, add: (field: string, problem: string) => void): void {
  for (const [field, why] of Object.entries(IGNORED_TASK_FIELDS)) {
    if (field in state) add(field, `${why}.`);
  }
  const resource = state.Resource;
  if (typeof resource !== "string" || !EMULATED_RESOURCES.includes(resource)) {
    add(
      "Resource",
      `${JSON.stringify(resource)} is not emulated (only ${EMULATED_RESOURCES.join(", ")}); the interpreter would call real AWS for it.`,
    );
    return;
  }
  const params = state.Parameters;
  if (resource === LAMBDA_INVOKE) {
    if (!isObject(params) || !("FunctionName" in params || "FunctionName.$" in params)) {
      add("Parameters.FunctionName", "is required: the emulation dispatches on it.");
    }
    if (!isObject(params) || !("Payload" in params || "Payload.$" in params)) {
      add("Parameters.Payload", "is required: set the function's event explicitly (`Payload.$`).");
    }
  } else {
    if (!isObject(params) || !("Message" in params || "Message.$" in params)) {
      add("Parameters.Message", "is required by SNS Publish.");
    }
    if (resource === SNS_PUBLISH_WAIT_FOR_TASK_TOKEN && !contextReferences(params).some((r) => r === "$$.Task.Token")) {
      add("Parameters", "never passes $$.Task.Token, so nobody could answer the callback and the task would only time out.");
    }
  }
}

function jsonataProblem(): string {
  return "is JSONata, which the local interpreter does not evaluate; write the state in JSONPath.";
}

/** Every `$$...` path mentioned in a value (paths, intrinsic arguments, Choice variables). */
function contextReferences(value: unknown): string[] {
  const refs = new Set<string>();
  for (const s of strings(value)) {
    for (const match of s.matchAll(/\$\$(?:\.[A-Za-z0-9_]+|\[[^\]]*\])+/g)) refs.add(match[0]);
  }
  return [...refs];
}

/** Whether an intrinsic function call has `(` or `)` inside one of its `'...'` literals. */
function hasParenthesisInStringLiteral(expression: string): boolean {
  let inLiteral = false;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "\\") {
      i++; // an escaped character never opens or closes a literal
    } else if (c === "'") {
      inLiteral = !inLiteral;
    } else if (inLiteral && (c === "(" || c === ")")) {
      return true;
    }
  }
  return false;
}

/**
 * Every string in a state, except comments and nested Map/Parallel machines (those are checked
 * on their own).
 */
function strings(value: unknown, depth = 0): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, depth + 1));
  if (isObject(value)) {
    return Object.entries(value).flatMap(([key, v]) =>
      key === "Comment" || (depth === 0 && (key === "ItemProcessor" || key === "Iterator" || key === "Branches"))
        ? []
        : strings(v, depth + 1),
    );
  }
  return [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The one ItemReader the emulation implements: `arn:aws:states:::s3:getObject` over a JSON array
 * (`ReaderConfig: { InputType: "JSON" }`, nothing else), its `Parameters` naming `Bucket` and
 * `Key` and nothing else, and no `ItemsPath` beside it. CSV, manifests, listings, MaxItems and
 * the rest would read other items than the emulation does.
 */
function checkItemReader(map: Record<string, unknown>, add: (field: string, problem: string) => void): void {
  const reader = map.ItemReader;
  const problem = "reads items from S3; locally only a JSON array in one object (arn:aws:states:::s3:getObject, ReaderConfig { InputType: JSON }, Parameters Bucket and Key) is emulated";
  if (!isObject(reader) || reader.Resource !== S3_GET_OBJECT) {
    add("ItemReader", `${problem}.`);
    return;
  }
  const config = reader.ReaderConfig;
  if (!isObject(config) || config.InputType !== "JSON" || Object.keys(config).length !== 1) {
    add("ItemReader.ReaderConfig", `${problem}: this reader's ReaderConfig is ${JSON.stringify(config)}.`);
  }
  const params = reader.Parameters;
  const names = isObject(params) ? Object.keys(params).map((k) => k.replace(/\.\$$/, "")).sort() : [];
  if (names.join(",") !== "Bucket,Key") add("ItemReader.Parameters", `${problem}: its Parameters are ${JSON.stringify(params)}.`);
  if ("ItemsPath" in map) add("ItemsPath", "beside an ItemReader is not emulated: the items are the JSON array itself.");
}
