/**
 * Small typed helpers for Amazon States Language (JSONPath flavour), in the spirit of the CDK
 * `aws-stepfunctions` chain API but as plain functions returning plain objects: the definition is
 * data, so it can be built without Pulumi, serialized once, checked by tests, run by the local
 * runner and drawn as a diagram.
 *
 * Only what the sync machine uses is modelled. ARNs are plain strings; callers resolve Pulumi
 * outputs first (`pulumi.all([...]).apply(build)`).
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A JSONPath payload template (`Parameters`, `ItemSelector`, `ResultSelector`): keys ending in
 * `.$` take a path (`$.a`, `$$.Execution.Name`) or an intrinsic function (`States.Format(...)`).
 */
export type PayloadTemplate = { [key: string]: JsonValue };

/** One `Retry` entry. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

/** One `Catch` entry. */
export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

/** How a non-terminal state ends: go on to `Next`, or end its (sub-)machine. */
export type Transition = { Next: string; End?: never } | { End: true; Next?: never };

interface StateBase {
  Comment?: string;
  InputPath?: string | null;
  OutputPath?: string | null;
}

export type TaskState = StateBase &
  Transition & {
    Type: "Task";
    Resource: string;
    Parameters?: PayloadTemplate;
    ResultSelector?: PayloadTemplate;
    ResultPath?: string | null;
    TimeoutSeconds?: number;
    HeartbeatSeconds?: number;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export type PassState = StateBase &
  Transition & {
    Type: "Pass";
    Parameters?: PayloadTemplate;
    Result?: JsonValue;
    ResultPath?: string | null;
  };

/** A Choice comparison; only the operators this project uses are typed. */
export type ChoiceCondition =
  | { Variable: string; StringEquals: string }
  | { Variable: string; BooleanEquals: boolean }
  | { Variable: string; NumericEquals: number }
  | { Variable: string; NumericGreaterThan: number }
  | { Variable: string; IsPresent: boolean }
  | { Variable: string; IsNumeric: boolean }
  | { And: ChoiceCondition[] }
  | { Or: ChoiceCondition[] }
  | { Not: ChoiceCondition };

export type ChoiceRule = ChoiceCondition & { Next: string };

export interface ChoiceState extends StateBase {
  Type: "Choice";
  Choices: ChoiceRule[];
  Default?: string;
}

/** A machine nested in a Map (`ItemProcessor`) or a Parallel branch. */
export interface SubMachine {
  StartAt: string;
  States: Record<string, State>;
}

export interface ProcessorConfig {
  Mode: "INLINE" | "DISTRIBUTED";
  ExecutionType?: "STANDARD" | "EXPRESS";
}

export type MapState = StateBase &
  Transition & {
    Type: "Map";
    ItemsPath?: string;
    /** Where a Distributed Map reads its items instead of its input (here: a JSON array in S3). */
    ItemReader?: ItemReader;
    ItemSelector?: PayloadTemplate;
    ItemProcessor: SubMachine & { ProcessorConfig?: ProcessorConfig };
    MaxConcurrency?: number;
    Label?: string;
    ResultSelector?: PayloadTemplate;
    ResultPath?: string | null;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export type ParallelState = StateBase &
  Transition & {
    Type: "Parallel";
    Branches: SubMachine[];
    Parameters?: PayloadTemplate;
    ResultSelector?: PayloadTemplate;
    ResultPath?: string | null;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export interface SucceedState extends StateBase {
  Type: "Succeed";
}

/** A Fail state names its error and cause, either literally or by path. */
export type FailState = { Type: "Fail"; Comment?: string } & (
  | { Error: string; Cause: string }
  | { ErrorPath: string; CausePath: string }
);

export type State = TaskState | PassState | ChoiceState | MapState | ParallelState | SucceedState | FailState;

/** A whole state machine definition, ready for `JSON.stringify`. */
export interface StateMachineDefinition extends SubMachine {
  Comment?: string;
  TimeoutSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Service integrations

/**
 * A Distributed Map's ItemReader over one JSON file in S3: `Parameters` name the bucket and key
 * (`Bucket.$`/`Key.$` paths on the Map's input), `ReaderConfig.InputType` is `JSON`.
 */
export interface ItemReader {
  Resource: typeof S3_GET_OBJECT;
  ReaderConfig: { InputType: "JSON" };
  Parameters: PayloadTemplate;
}

/** The ItemReader resource that reads one S3 object (a JSON array of items). */
export const S3_GET_OBJECT = "arn:aws:states:::s3:getObject";
/** Optimized Lambda integration: the result is `{ Payload, StatusCode, ... }`. */
export const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
/** Optimized SNS integration (request-response). */
export const SNS_PUBLISH = "arn:aws:states:::sns:publish";
/** SNS publish, then wait until someone calls SendTaskSuccess/SendTaskFailure with `$$.Task.Token`. */
export const SNS_PUBLISH_WAIT_FOR_TASK_TOKEN = "arn:aws:states:::sns:publish.waitForTaskToken";

/** Transient Lambda service errors, as AWS recommends retrying them (bp-lambda-serviceexception). */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ClientExecutionTimeoutException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
] as const;

/**
 * Throttling: Lambda's own, and S3's `SlowDown` (503), which reaches the state machine as the
 * error name of a handler that gave up after the SDK's own retries.
 */
export const THROTTLING_ERRORS = ["Lambda.TooManyRequestsException", "SlowDown", "ThrottlingException"] as const;

/** Transient SNS errors of the optimized integration. */
export const SNS_TRANSIENT_ERRORS = ["SNS.ThrottledException", "SNS.InternalErrorException"] as const;

/** Retry with exponential backoff and full jitter, so parallel partitions do not retry in step. */
export function retryWithBackoff(
  errors: readonly string[],
  opts: { intervalSeconds: number; maxAttempts: number; maxDelaySeconds: number; backoffRate?: number },
): Retrier {
  return {
    ErrorEquals: [...errors],
    IntervalSeconds: opts.intervalSeconds,
    MaxAttempts: opts.maxAttempts,
    BackoffRate: opts.backoffRate ?? 2,
    MaxDelaySeconds: opts.maxDelaySeconds,
    JitterStrategy: "FULL",
  };
}

/** The Retry every Lambda Task gets: service errors quickly, throttling with more patience. */
export function lambdaRetry(): Retrier[] {
  return [
    retryWithBackoff(LAMBDA_SERVICE_ERRORS, { intervalSeconds: 2, maxAttempts: 6, maxDelaySeconds: 60 }),
    retryWithBackoff(THROTTLING_ERRORS, { intervalSeconds: 5, maxAttempts: 8, maxDelaySeconds: 120 }),
  ];
}

/** The Retry every SNS Task gets. */
export function snsRetry(): Retrier[] {
  return [retryWithBackoff(SNS_TRANSIENT_ERRORS, { intervalSeconds: 2, maxAttempts: 5, maxDelaySeconds: 30 })];
}

/** Catch everything into `next`, keeping the state input and adding the error at `resultPath`. */
export function catchAll(next: string, resultPath = "$.error"): Catcher[] {
  return [{ ErrorEquals: ["States.ALL"], Next: next, ResultPath: resultPath }];
}

/** `Next` or `End`, for helpers that take either. */
export type Then = { next: string } | { end: true };

function transition(then: Then): Transition {
  return "next" in then ? { Next: then.next } : { End: true };
}

export interface LambdaInvokeProps {
  functionArn: string;
  /** The event the function receives: a path (`"$"`) or a template. */
  payload: string | PayloadTemplate;
  /**
   * A key: the function's JSON result is stored under it (the `Payload` wrapper is dropped). A
   * list of keys: the function returns an object and exactly those of its fields are kept, each
   * by a plain path (`$.Payload.<key>`).
   */
  resultKey: string | readonly string[];
  /** Where the selected result goes in the state's data. @default "$" (replaces it) */
  resultPath?: string;
  timeoutSeconds: number;
  /** Errors are caught into this state unless the Task sits in a branch the parent catches. */
  catchTo?: string;
  comment?: string;
}

/**
 * A Task that invokes a Lambda function through the optimized integration. Its raw result is
 * `{ ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode }`; the
 * `ResultSelector` keeps only the function's own result, so HTTP headers never reach the state's
 * data (which is limited to 256 KiB).
 */
export function lambdaInvoke(props: LambdaInvokeProps, then: Then): TaskState {
  const payload: PayloadTemplate =
    typeof props.payload === "string" ? { "Payload.$": props.payload } : { Payload: props.payload };
  return {
    Type: "Task",
    ...(props.comment ? { Comment: props.comment } : {}),
    Resource: LAMBDA_INVOKE,
    Parameters: { FunctionName: props.functionArn, ...payload },
    ResultSelector:
      typeof props.resultKey === "string"
        ? { [`${props.resultKey}.$`]: "$.Payload" }
        : Object.fromEntries(props.resultKey.map((key) => [`${key}.$`, `$.Payload.${key}`])),
    ...(props.resultPath !== undefined ? { ResultPath: props.resultPath } : {}),
    TimeoutSeconds: props.timeoutSeconds,
    Retry: lambdaRetry(),
    ...(props.catchTo ? { Catch: catchAll(props.catchTo) } : {}),
    ...transition(then),
  };
}

export interface SnsPublishProps {
  topicArn: string;
  /** Email subject: at most 100 printable ASCII characters. */
  subject: string;
  /** A JSON object template; Step Functions serializes it into the SNS message. */
  message: PayloadTemplate;
  timeoutSeconds: number;
  /** Publish, then wait for SendTaskSuccess/SendTaskFailure with the task token. @default false */
  waitForTaskToken?: boolean;
  /** @default null: the publish result is dropped and the state's input passes through */
  resultPath?: string | null;
  catchTo?: string;
  /** Where a caught error goes in the state's data. @default "$.error" */
  catchResultPath?: string;
  comment?: string;
}

/** A Task that publishes to an SNS topic (and optionally waits for a callback). */
export function snsPublish(props: SnsPublishProps, then: Then): TaskState {
  return {
    Type: "Task",
    ...(props.comment ? { Comment: props.comment } : {}),
    Resource: props.waitForTaskToken ? SNS_PUBLISH_WAIT_FOR_TASK_TOKEN : SNS_PUBLISH,
    Parameters: { TopicArn: props.topicArn, Subject: props.subject, Message: props.message },
    ResultPath: props.resultPath === undefined ? null : props.resultPath,
    TimeoutSeconds: props.timeoutSeconds,
    Retry: snsRetry(),
    ...(props.catchTo ? { Catch: catchAll(props.catchTo, props.catchResultPath) } : {}),
    ...transition(then),
  };
}

/** A Pass state that reshapes its input with a template. */
export function reshape(parameters: PayloadTemplate, then: Then, comment?: string): PassState {
  return { Type: "Pass", ...(comment ? { Comment: comment } : {}), Parameters: parameters, ...transition(then) };
}

/** A Choice state: the first matching rule wins, else `Default`. */
export function choice(rules: ChoiceRule[], defaultNext: string, comment?: string): ChoiceState {
  return { Type: "Choice", ...(comment ? { Comment: comment } : {}), Choices: rules, Default: defaultNext };
}

/** `Variable == value` for strings. */
export function stringEquals(variable: string, value: string, next: string): ChoiceRule {
  return { Variable: variable, StringEquals: value, Next: next };
}

/** `Variable == value` for booleans. */
export function booleanEquals(variable: string, value: boolean, next: string): ChoiceRule {
  return { Variable: variable, BooleanEquals: value, Next: next };
}

/** A Fail state whose error and cause are read from the state's data (e.g. a caught error). */
export function failFromPath(errorPath: string, causePath: string, comment?: string): FailState {
  return { Type: "Fail", ...(comment ? { Comment: comment } : {}), ErrorPath: errorPath, CausePath: causePath };
}

/** A Fail state with a fixed error and cause. */
export function fail(error: string, cause: string, comment?: string): FailState {
  return { Type: "Fail", ...(comment ? { Comment: comment } : {}), Error: error, Cause: cause };
}

/** A Succeed state. */
export function succeed(comment?: string): SucceedState {
  return { Type: "Succeed", ...(comment ? { Comment: comment } : {}) };
}

/**
 * The nested machine of a Map or Parallel branch. Also checks, as the CDK does when it renders a
 * chain, that `StartAt` and every `Next` name a state of this machine (a branch cannot jump out).
 */
export function subMachine(startAt: string, states: Record<string, State>): SubMachine {
  const targets = [startAt, ...Object.values(states).flatMap(nextStates)];
  for (const target of targets) {
    if (!(target in states)) throw new Error(`state "${target}" is referenced but not defined in this machine`);
  }
  return { StartAt: startAt, States: states };
}

/** Every state name a state can move to (Next, Choice rules and Default, Catch). */
export function nextStates(state: State): string[] {
  switch (state.Type) {
    case "Choice":
      return [...state.Choices.map((rule) => rule.Next), ...(state.Default ? [state.Default] : [])];
    case "Succeed":
    case "Fail":
      return [];
    default: {
      const catches = "Catch" in state && state.Catch ? state.Catch.map((c) => c.Next) : [];
      return [...(state.Next ? [state.Next] : []), ...catches];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The one walker over a definition: the builder's tests, the local runtime (emulation, runner,
// faithfulness checks) and the diagram all see states through it.

/** A state with where it sits. */
export interface LocatedState {
  name: string;
  state: State;
  /** The machine that holds it (the definition, a Map's item processor or a Parallel branch). */
  machine: SubMachine;
  /**
   * From the outermost enclosing state inward, ending with this state's name; a Parallel branch
   * shows as `branch N`: `["Report", "branch 1", "Write report"]`.
   */
  path: string[];
  /** The Map and Parallel states around it, outermost first. */
  enclosing: LocatedState[];
}

/**
 * The machines directly inside a state: a Map's item processor (or the older `Iterator` a
 * hand-written definition may still use), a Parallel state's branches.
 */
export function innerMachines(state: State): SubMachine[] {
  if (state.Type === "Map") {
    const processor = state.ItemProcessor ?? (state as { Iterator?: SubMachine }).Iterator;
    return isMachine(processor) ? [processor] : [];
  }
  if (state.Type === "Parallel") return Array.isArray(state.Branches) ? state.Branches.filter(isMachine) : [];
  return [];
}

/**
 * Every state of a machine, nested ones included, depth first in definition order: a state, then
 * the states of the machines inside it. Tolerates a malformed definition (a definition read from
 * elsewhere): what is not a state or a machine is skipped, for the caller's checks to report.
 */
export function allStates(machine: SubMachine, outer: LocatedState[] = [], outerPath: string[] = []): LocatedState[] {
  if (!isMachine(machine)) return [];
  return Object.entries(machine.States).flatMap(([name, state]) => {
    if (typeof state !== "object" || state === null) return [];
    const here: LocatedState = { name, state, machine, path: [...outerPath, name], enclosing: outer };
    const inner: Array<[SubMachine, string[]]> =
      state.Type === "Parallel"
        ? (Array.isArray(state.Branches) ? state.Branches : []).map((branch, i) => [branch, [...here.path, `branch ${i + 1}`]])
        : innerMachines(state).map((processor) => [processor, here.path]);
    const inside = inner.flatMap(([sub, path]) => allStates(sub, [...outer, here], path));
    return [here, ...inside];
  });
}

function isMachine(value: unknown): value is SubMachine {
  const states = (value as { States?: unknown } | null | undefined)?.States;
  return typeof states === "object" && states !== null && !Array.isArray(states);
}
