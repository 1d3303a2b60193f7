/**
 * Everything the local runner emulates of AWS, in one place. aws-local-stepfunctions interprets
 * ASL (paths, Choice, Map, Parallel, Retry, Catch, Fail) but runs a Task only as a local function
 * of the Task's effective input, keyed by state name; the service behind each Resource is ours to
 * emulate. The definition relies on exactly these, and they are emulated as AWS documents them:
 *
 * - `arn:aws:states:::lambda:invoke`: the function named by `Parameters.FunctionName` is found in
 *   the handler table by ARN and gets a JSON copy of `Parameters.Payload`. Its result comes back
 *   wrapped as the optimized integration wraps it: `{ ExecutedVersion, Payload, SdkHttpMetadata,
 *   SdkResponseMetadata, StatusCode }`. A thrown error becomes a function error the way the
 *   Node.js runtime reports one: `Error` is the error's name (`SlowDown`, `Error`, ...) and
 *   `Cause` the runtime's JSON `{"errorType","errorMessage","trace"}`, so Retry and Catch match
 *   as in AWS. An unknown ARN fails with `Lambda.ResourceNotFoundException`.
 * - `arn:aws:states:::sns:publish`: the message is recorded (not serialized: kept as the object
 *   Step Functions would serialize) and a `MessageId` returned. Subjects are checked as SNS does.
 * - `arn:aws:states:::sns:publish.waitForTaskToken`: recorded likewise; then `approve` plays the
 *   operator, who runs one of the commands in the message: `true` runs the message's
 *   `send-task-success` (its `--task-output` becomes the Task's result), `false` its
 *   `send-task-failure` (its `--error`/`--cause` become the Task's error). Either command must
 *   carry the task token the Task was given. With no `approve`, nobody answers: the Task fails
 *   with `States.Timeout` at once instead of after `TimeoutSeconds`.
 * - The context object: `$$.Execution.Name/Id`, `$$.StateMachine.Id/Name` and `$$.Task.Token`
 *   (the interpreter adds `$$.Execution.Input/StartTime` and `$$.Map.Item`). A new token is
 *   issued per callback attempt: reading `$$.Task.Token` returns the pending token, and the
 *   callback Task consumes it.
 * - A Distributed Map's `ItemReader` over one JSON file in S3 (`arn:aws:states:::s3:getObject`,
 *   `ReaderConfig.InputType` `JSON`): when the Map starts, its `Parameters` (`Bucket`, `Key`) are
 *   resolved against the Map's input, the object is read from the run's object store (the S3 the
 *   handlers write to), and its JSON array becomes the Map's items; the Map's input itself stays
 *   as it was, so the items never enter the state's data. A missing object, text that is not JSON,
 *   or JSON that is not an array fails the Map with `States.ItemReaderFailed`, which its Catch
 *   handles, as in AWS ("Reading input from JSON files" and "Error names", AWS Step Functions
 *   developer guide: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html,
 *   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). The
 *   interpreter has no ItemReader: {@link emulateItemReaders} gives it a copy of the definition
 *   in which a Task of the reader's own runs first (its events are not the run's) and the Map
 *   takes the items it read.
 * - The 256 KiB limit on a state's data (`States.DataLimitExceeded`), which the interpreter does
 *   not enforce: Task results are checked here, every state's output by the runner through
 *   {@link exceedsDataLimit}.
 *
 * One difference is kept on purpose: a failed iteration fails a Map with the iteration's own
 * error locally (the Map runs inline), while a Distributed Map in AWS fails with
 * `States.ExceedToleratedFailureThreshold`. The definition catches both with `States.ALL`.
 *
 * What the runner refuses instead of emulating is listed in local-stepfunctions/faithfulness.ts.
 */
import { randomUUID } from "node:crypto";
import type { HandlerName } from "../model/contract";
import { AccessDeniedError, type IamEnforcement } from "./iam";
import {
  allStates,
  LAMBDA_INVOKE,
  S3_GET_OBJECT,
  SNS_PUBLISH,
  SNS_PUBLISH_WAIT_FOR_TASK_TOKEN,
  type MapState,
  type State,
  type StateMachineDefinition,
} from "../infra/asl";

/** A handler per name, as `createHandlers(env)` returns them. */
export type HandlerTable = { [K in HandlerName]: (event: any) => Promise<any> };

/** One SNS message published by the run. */
export interface Notification {
  subject?: string;
  /** The `Message` parameter as the state built it (Step Functions serializes objects). */
  message: unknown;
}

/** One handler call, measured. */
export interface Invocation {
  handler: HandlerName;
  ms: number;
  ok: boolean;
}

/** Answers a delete-approval request: `true` approves, `false` denies. */
export type Approver = (request: { message: unknown }) => Promise<boolean>;

/**
 * The S3 an ItemReader reads from, as the state machine's role sees it: an object's text, or
 * undefined when there is no such key (S3's NoSuchKey).
 */
export interface ObjectStore {
  getObject(bucket: string, key: string): Promise<string | undefined>;
}

/** Step Functions' limit on a state's input, output and a Task's result (UTF-8 bytes). */
export const DATA_LIMIT_BYTES = 256 * 1024;

export interface EmulationOptions {
  /** The definition being run: its Task states get an emulated service each. */
  definition: object;
  functionArns: Record<HandlerName, string>;
  handlers: HandlerTable;
  approve?: Approver;
  executionName: string;
  /** @default "us-east-1" */
  region?: string;
  /** @default "000000000000" */
  accountId?: string;
  /**
   * Authorizes the machine's calls against its role, and runs each handler as its own role
   * (local-stepfunctions/iam.ts). @default none: nothing is authorized
   */
  iam?: IamEnforcement;
}

/** What the runner hands the interpreter, and what it reads back after the run. */
export interface Emulation {
  /** `overrides.taskResourceLocalHandlers`: one function per Task state name. */
  taskHandlers: Record<string, (input: any) => Promise<unknown>>;
  /** `context` of the run. */
  context: Record<string, unknown>;
  /** Every SNS message, in publish order. */
  notifications: Notification[];
  /** Every handler call, in completion order. */
  invocations: Invocation[];
}

/** Builds the emulation of every Task of `definition`. */
export function createEmulation(opts: EmulationOptions): Emulation {
  const region = opts.region ?? "us-east-1";
  const accountId = opts.accountId ?? "000000000000";
  const stateMachineName = "bucket-sync-local";
  const handlerByArn = new Map<string, HandlerName>();
  for (const [name, arn] of Object.entries(opts.functionArns) as Array<[HandlerName, string]>) {
    handlerByArn.set(arn, name);
  }
  const notifications: Notification[] = [];
  const invocations: Invocation[] = [];
  const tokens = new TaskTokens();

  const lambdaInvoke = async (input: { FunctionName?: string; Payload?: unknown }) => {
    const handler = input.FunctionName === undefined ? undefined : handlerByArn.get(input.FunctionName);
    if (!handler) {
      throw new TaskError(
        "Lambda.ResourceNotFoundException",
        `Function not found: ${input.FunctionName} (known: ${[...handlerByArn.keys()].join(", ")})`,
      );
    }
    await machineCall(opts.iam, "lambda:InvokeFunction", input.FunctionName!, "Lambda.AWSLambdaException");
    const event = jsonCopy(input.Payload ?? {});
    const started = performance.now();
    let ok = false;
    try {
      const call = () => opts.handlers[handler](event);
      const result = await (opts.iam ? opts.iam.runAs(handler, call) : call());
      ok = true;
      return checkDataLimit({
        ExecutedVersion: "$LATEST",
        Payload: result === undefined ? null : jsonCopy(result),
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: randomUUID() },
        StatusCode: 200,
      });
    } catch (err) {
      if (!ok) throw functionError(err);
      throw err;
    } finally {
      invocations.push({ handler, ms: performance.now() - started, ok });
    }
  };

  const publish = (input: { Subject?: unknown; Message?: unknown }) => {
    if (input.Message === undefined || input.Message === null || input.Message === "") {
      throw new TaskError("SNS.InvalidParameterException", "Invalid parameter: Empty message");
    }
    if (input.Subject !== undefined) {
      const subject = String(input.Subject);
      if (subject.length === 0 || subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject)) {
        throw new TaskError(
          "SNS.InvalidParameterException",
          "Invalid parameter: Subject must be 1-100 printable ASCII characters without line breaks",
        );
      }
    }
    notifications.push({
      ...(input.Subject !== undefined ? { subject: String(input.Subject) } : {}),
      message: jsonCopy(input.Message),
    });
  };

  const snsPublish = async (input: { TopicArn?: string; Subject?: unknown; Message?: unknown }) => {
    await machineCall(opts.iam, "sns:Publish", String(input.TopicArn ?? ""), "SNS.AuthorizationErrorException");
    publish(input);
    return { MessageId: randomUUID(), SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: { RequestId: randomUUID() } };
  };

  const snsPublishWaitForTaskToken = async (input: { TopicArn?: string; Subject?: unknown; Message?: unknown }) => {
    const token = tokens.take();
    await machineCall(opts.iam, "sns:Publish", String(input.TopicArn ?? ""), "SNS.AuthorizationErrorException");
    publish(input);
    if (!token || !JSON.stringify(input.Message).includes(token)) {
      // Not a Step Functions error: the definition is broken (faithfulness checks catch most cases).
      throw new Error("The callback message does not carry $$.Task.Token: in AWS nobody could answer it.");
    }
    if (!opts.approve) throw new TaskError("States.Timeout", "No answer to the callback (no approver in this local run).");
    const approved = await opts.approve({ message: jsonCopy(input.Message) });
    const command = findCommand(input.Message, approved ? "send-task-success" : "send-task-failure");
    if (command && option(command, "--task-token") !== token) {
      throw new Error(`The ${approved ? "approval" : "denial"} command in the message does not carry this task's token.`);
    }
    if (approved) return checkDataLimit(command ? JSON.parse(option(command, "--task-output") ?? "{}") : {});
    throw new TaskError(option(command, "--error") ?? "States.TaskFailed", option(command, "--cause") ?? "");
  };

  const taskHandlers: Emulation["taskHandlers"] = {};
  for (const { name, resource } of taskStates(opts.definition)) {
    if (resource === LAMBDA_INVOKE) taskHandlers[name] = lambdaInvoke;
    else if (resource === SNS_PUBLISH) taskHandlers[name] = snsPublish;
    else if (resource === SNS_PUBLISH_WAIT_FOR_TASK_TOKEN) taskHandlers[name] = snsPublishWaitForTaskToken;
  }

  const stateMachineArn = `arn:aws:states:${region}:${accountId}:stateMachine:${stateMachineName}`;
  const context = {
    Execution: {
      Id: `arn:aws:states:${region}:${accountId}:execution:${stateMachineName}:${opts.executionName}`,
      Name: opts.executionName,
    },
    StateMachine: { Id: stateMachineArn, Name: stateMachineName },
    // A getter, so each callback attempt gets its own token (see TaskTokens).
    Task: {
      get Token() {
        return tokens.pending();
      },
    },
  };

  return { taskHandlers, context, notifications, invocations };
}

/**
 * A call the state machine makes as its role. Denied, the Task fails with the service's error as
 * Step Functions reports an AccessDenied from the service integration (`Lambda.AWSLambdaException`,
 * `SNS.AuthorizationErrorException`), its cause naming the action and resource.
 */
async function machineCall(iam: IamEnforcement | undefined, action: string, resource: string, error: string): Promise<void> {
  if (!iam) return;
  try {
    await iam.authorizeMachine(action, resource);
  } catch (err) {
    if (err instanceof AccessDeniedError) throw new TaskError(error, `${err.message} (Status Code: 403; Error Code: AccessDeniedException)`);
    throw err;
  }
}

/** Whether a state's data exceeds {@link DATA_LIMIT_BYTES} once serialized. */
export function exceedsDataLimit(value: unknown): boolean {
  return value !== undefined && Buffer.byteLength(JSON.stringify(value) ?? "", "utf8") > DATA_LIMIT_BYTES;
}

/**
 * An error as Step Functions reports it: `name` is the `Error` and `message` the `Cause` that
 * Retry/Catch match and a Catch's ResultPath receives (the interpreter reads exactly these two).
 */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/**
 * `States.DataLimitExceeded` is terminal in AWS: neither `States.ALL` nor any Retry handles it.
 * The interpreter honours `isRetryable`/`isCatchable` on thrown errors.
 */
class DataLimitExceeded extends TaskError {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(bytes: number) {
    super("States.DataLimitExceeded", `The state's data is ${bytes} bytes, above the ${DATA_LIMIT_BYTES}-byte limit.`);
  }
}

function checkDataLimit<T>(value: T): T {
  if (exceedsDataLimit(value)) throw new DataLimitExceeded(Buffer.byteLength(JSON.stringify(value), "utf8"));
  return value;
}

/** A handler's thrown value as the Node.js Lambda runtime reports it. */
function functionError(err: unknown): TaskError {
  const e = err instanceof Error ? err : new Error(String(err));
  const errorType = e.name || "Error";
  const trace = (e.stack ?? "").split("\n").map((line) => line.trim()).filter(Boolean);
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage: e.message, trace }));
}

/**
 * Task tokens: `pending()` (what `$$.Task.Token` reads while a Task builds its input) mints a
 * token if none is pending; `take()` (the callback Task, which starts right after) consumes it, so
 * a retry of the Task reads a new one, as in AWS.
 */
class TaskTokens {
  private current: string | undefined;
  pending(): string {
    this.current ??= `local-task-token-${randomUUID()}`;
    return this.current;
  }
  take(): string | undefined {
    const token = this.current;
    this.current = undefined;
    return token;
  }
}

/** Every Task state of a definition, nested ones included, with its Resource. */
function taskStates(definition: object): Array<{ name: string; resource: unknown }> {
  return allStates(definition as StateMachineDefinition)
    .filter(({ state }) => state.Type === "Task")
    .map(({ name, state }) => ({ name, resource: (state as { Resource?: unknown }).Resource }));
}

/** The first string in a message that runs `aws stepfunctions <verb>`. */
function findCommand(message: unknown, verb: string): string | undefined {
  if (typeof message === "string") return message.includes(`stepfunctions ${verb}`) ? message : undefined;
  if (Array.isArray(message)) return message.map((m) => findCommand(m, verb)).find(Boolean);
  if (isObject(message)) return Object.values(message).map((m) => findCommand(m, verb)).find(Boolean);
  return undefined;
}

/** An option's value in a shell command: `--name value` or `--name "quoted value"`. */
function option(command: string | undefined, name: string): string | undefined {
  if (!command) return undefined;
  const match = new RegExp(`${name}\\s+(?:"([^"]*)"|'([^']*)'|(\\S+))`).exec(command);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// ItemReader

/** The name of the Task that reads a Map's items, in the interpreter's copy of the definition. */
export function itemReaderStateName(mapName: string): string {
  return `${mapName} [ItemReader]`;
}

/** The interpreter's copy of a definition, with every ItemReader emulated. */
export interface ItemReaderEmulation {
  /** The definition to hand the interpreter. */
  definition: StateMachineDefinition;
  /** The reader Tasks' functions, by state name (for `taskResourceLocalHandlers`). */
  taskHandlers: Record<string, (input: { Bucket?: unknown; Key?: unknown }) => Promise<unknown>>;
  /** Names of the reader Tasks: their events belong to no state of the real definition. */
  readerStates: Set<string>;
  /** Context entries the Maps read their items from (merge into the run's context). */
  context: Record<string, unknown>;
}

/** Context key under which the reader Tasks leave the items they read. */
const ITEMS_CONTEXT = "ItemReaderItems";

/**
 * Rewrites a copy of `definition` for the interpreter: each Map with an ItemReader gets a Task
 * before it that reads the items from `objects` (references to the Map now reach the Task), and
 * the Map takes them from the context instead of its input. The Task passes the Map's input on
 * unchanged (ResultPath null) and carries the Map's Retry and Catch, so a failed read is handled
 * where a failed Map would be.
 */
export function emulateItemReaders(definition: StateMachineDefinition, objects: ObjectStore | undefined): ItemReaderEmulation {
  const copy = structuredClone(definition);
  const items: Record<string, unknown[]> = {};
  const taskHandlers: ItemReaderEmulation["taskHandlers"] = {};
  const readerStates = new Set<string>();
  for (const { name, state, machine } of allStates(copy)) {
    if (state.Type !== "Map" || !(state as MapState).ItemReader) continue;
    const map = state as MapState;
    const reader = map.ItemReader!;
    const readerName = itemReaderStateName(name);
    const slot = `r${readerStates.size}`;
    readerStates.add(readerName);
    redirect(machine, name, readerName);
    machine.States[readerName] = {
      Type: "Task",
      Resource: S3_GET_OBJECT,
      Parameters: reader.Parameters,
      ...(map.InputPath !== undefined ? { InputPath: map.InputPath } : {}),
      ResultPath: null,
      ...(map.Retry ? { Retry: map.Retry } : {}),
      ...(map.Catch ? { Catch: map.Catch } : {}),
      Next: name,
    } as State;
    delete map.ItemReader;
    map.ItemsPath = `$$.${ITEMS_CONTEXT}.${slot}`;
    taskHandlers[readerName] = async (input) => {
      items[slot] = await readItems(objects, input, name);
      return {};
    };
  }
  return { definition: copy, taskHandlers, readerStates, context: { [ITEMS_CONTEXT]: items } };
}

/** Reads one JSON array of items, failing as AWS does with States.ItemReaderFailed. */
async function readItems(objects: ObjectStore | undefined, input: { Bucket?: unknown; Key?: unknown }, map: string): Promise<unknown[]> {
  const { Bucket: bucket, Key: key } = input;
  if (typeof bucket !== "string" || bucket === "" || typeof key !== "string" || key === "") {
    throw new TaskError("States.ItemReaderFailed", `${map}: the ItemReader needs a Bucket and a Key, got ${JSON.stringify(input)}`);
  }
  if (!objects) throw new Error(`${map} reads its items from S3: the local run needs an object store (runLocally's \`objects\`)`);
  let text: string | undefined;
  try {
    text = await objects.getObject(bucket, key);
  } catch (err) {
    throw new TaskError("States.ItemReaderFailed", `${map}: reading s3://${bucket}/${key} failed: ${(err as Error).name}: ${(err as Error).message}`);
  }
  if (text === undefined) throw new TaskError("States.ItemReaderFailed", `${map}: s3://${bucket}/${key} does not exist (NoSuchKey)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TaskError("States.ItemReaderFailed", `${map}: s3://${bucket}/${key} is not valid JSON`);
  }
  if (!Array.isArray(parsed)) throw new TaskError("States.ItemReaderFailed", `${map}: s3://${bucket}/${key} does not hold a JSON array`);
  return parsed;
}

/** Points every transition of one machine that reached `from` at `to` (StartAt, Next, Default, Choices, Catch). */
function redirect(machine: { StartAt: string; States: Record<string, State> }, from: string, to: string): void {
  if (machine.StartAt === from) machine.StartAt = to;
  for (const state of Object.values(machine.States)) {
    const s = state as { Next?: string; Default?: string; Choices?: Array<{ Next?: string }>; Catch?: Array<{ Next?: string }> };
    if (s.Next === from) s.Next = to;
    if (s.Default === from) s.Default = to;
    for (const rule of [...(s.Choices ?? []), ...(s.Catch ?? [])]) if (rule.Next === from) rule.Next = to;
  }
}
