/**
 * Runs the sync machine's definition on this machine: the very object `buildDefinition` returns,
 * interpreted by aws-local-stepfunctions, with every Lambda Task dispatched to handler code and
 * the AWS services around it emulated in local-stepfunctions/emulation.ts.
 *
 * Before running, the definition is checked by local-stepfunctions/faithfulness.ts: a definition that relies on
 * something the interpreter would silently ignore is refused rather than run differently.
 *
 * The run is measured: state transitions (from the interpreter's event stream) and handler wall
 * time, priced as a Standard workflow and Lambda functions would be, to show what a run costs.
 */
// aws-local-stepfunctions 3 targets Node 22 and calls `Promise.withResolvers` in every Task, after
// the Task's function has run; on Node 20 that throws a TypeError the definition's Catch would
// route like a failed Task. The polyfill must be installed before any run.
import "core-js/actual/promise/with-resolvers";

import { randomUUID } from "node:crypto";
import { StateMachine, type RunOptions, type StateMachineDefinition as InterpreterDefinition } from "aws-local-stepfunctions";
import { HANDLER_NAMES, type HandlerName, type SyncRequest } from "../model/contract";
import { HANDLER_SPECS } from "../infra/handlerSpecs";
import {
  createEmulation,
  DATA_LIMIT_BYTES,
  emulateItemReaders,
  exceedsDataLimit,
  type Approver,
  type HandlerTable,
  type Notification,
  type ObjectStore,
} from "./emulation";
import { allStates, type StateMachineDefinition } from "../infra/asl";
import { AWS_PRICES } from "../pricing/prices";
import { assertRunsFaithfully } from "./faithfulness";
import { AccessDeniedError, type IamEnforcement } from "./iam";

export type { HandlerTable, Notification, ObjectStore } from "./emulation";

/** One event of the interpreter's event stream (StateEntered, StateRetried, MapIterationFailed, ...). */
export type RunEvent = ReturnType<StateMachine["run"]>["eventLogs"] extends AsyncGenerator<infer E> ? E : never;

type InterpreterInput = Parameters<StateMachine["run"]>[0];
type TaskOverrides = NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;

/** What a local run did and what it would cost on AWS. */
export interface LocalRunResult {
  status: "SUCCEEDED" | "FAILED";
  /** The execution's output when it succeeded. */
  output?: unknown;
  /** The execution's error and cause when it failed (a Fail state's, or an uncaught error's). */
  error?: string;
  cause?: string;
  /** State transitions as Step Functions bills them: states entered plus retries. */
  transitions: number;
  /** Total wall time spent in handlers. */
  handlerMs: number;
  /** Wall time of the whole run. */
  durationMs: number;
  /** Estimated AWS cost of the run in USD (list prices in pricing/prices.ts). */
  estimatedCostUsd: { transitions: number; lambda: number; total: number };
  /** Every SNS message the run published, in order. */
  notifications: Notification[];
  /** How close the run came to the limits of Step Functions (see {@link RunLimits}). */
  limits: RunLimits;
}

/**
 * What a run used of the limits Step Functions enforces on an execution, so a run that works at
 * demo size can be checked against them before it fails at production size.
 */
export interface RunLimits {
  /**
   * Largest state data of the run in UTF-8 bytes: the biggest input or output of any state
   * (Map iterations included), against the 256 KiB a state's data may hold.
   */
  maxStateBytes: number;
  /** {@link DATA_LIMIT_BYTES}, for comparison. */
  stateBytesLimit: number;
  /**
   * Events in the history of the parent execution, as AWS would record them: the states outside
   * the Distributed Maps (whose iterations are child executions with their own histories), counted
   * per state type as AWS records them (see {@link HISTORY_EVENTS}). Standard workflows stop at
   * 25,000 events.
   */
  historyEvents: number;
  /** {@link HISTORY_EVENTS_LIMIT}, for comparison. */
  historyEventsLimit: number;
}

/** The most events the history of a Standard workflow execution may hold. */
export const HISTORY_EVENTS_LIMIT = 25_000;

/**
 * History events AWS records per state (HistoryEvent types, Step Functions API reference): a Task
 * is `TaskStateEntered`, then per attempt `TaskScheduled`, `TaskStarted` and `TaskSucceeded` or
 * `TaskFailed`, then `TaskStateExited`; a Distributed Map is `MapStateEntered`, `MapStateStarted`,
 * `MapRunStarted`, `MapRunSucceeded`, `MapStateSucceeded`, `MapStateExited` (its iterations are in
 * child executions); a Parallel adds `ParallelStateStarted`/`ParallelStateSucceeded` around its
 * branches' states; Pass, Choice, Succeed and Fail record an entered and an exited event.
 */
export const HISTORY_EVENTS = {
  execution: 2,
  entered: { Task: 4, Map: 3, Parallel: 2, default: 1 },
  exited: { Task: 1, Map: 3, Parallel: 2, default: 1 },
  retried: 3,
} as const;

/** Options of {@link runLocally}. */
export interface LocalRunOptions {
  /** A definition as `buildDefinition` returns it. */
  definition: object;
  /** The ARNs the definition was built with; each dispatches to the handler of that name. */
  functionArns: Record<HandlerName, string>;
  handlers: HandlerTable;
  /** The execution input. */
  input: SyncRequest;
  /**
   * The S3 a Map's ItemReader reads its items from (what the handlers wrote the plan to).
   * Required when the definition has an ItemReader.
   */
  objects?: ObjectStore;
  /** Answers a delete-approval request. @default none: the request times out (the run fails) */
  approve?: Approver;
  /** Every interpreter event, as it happens. */
  onEvent?: (event: RunEvent) => void;
  /** `$$.Execution.Name`. @default `local-<uuid>` */
  executionName?: string;
  /**
   * Memory of each handler's function, to price its time.
   * @default the memory its HANDLER_SPECS entry (infra/handlerSpecs.ts) deploys it with
   */
  lambdaMemoryMb?: (handler: HandlerName) => number;
  /**
   * Check the definition with asl-validator (ARNs and paths included) before running. It builds
   * its JSON-schema validator on every call, 0.3–0.6 s.
   * @default true
   */
  validate?: boolean;
  /**
   * Wait this long before every retry instead of the Retry's backoff (tests).
   * @default the Retry's own IntervalSeconds, BackoffRate, MaxDelaySeconds and jitter
   */
  retryIntervalMs?: number;
  /**
   * Runs every handler as its role and every call of the machine as the machine's role, as AWS
   * authorizes them (local-stepfunctions/iam.ts); the handlers' S3 clients must be attached to it.
   * @default none: nothing is authorized
   */
  iam?: IamEnforcement;
}

/** Fake ARNs for local runs: `arn:aws:lambda:us-east-1:000000000000:function:<prefix>-<handler>`. */
export function localFunctionArns(prefix = "bucket-sync"): Record<HandlerName, string> {
  return Object.fromEntries(
    HANDLER_NAMES.map((name) => [name, `arn:aws:lambda:us-east-1:000000000000:function:${prefix}-${name}`]),
  ) as Record<HandlerName, string>;
}

/** Runs `definition` locally to completion. Rejects only if the definition cannot be run. */
export async function runLocally(opts: LocalRunOptions): Promise<LocalRunResult> {
  assertRunsFaithfully(opts.definition);
  const started = performance.now();
  const executionName = opts.executionName ?? `local-${randomUUID()}`;
  const emulation = createEmulation({
    definition: opts.definition,
    functionArns: opts.functionArns,
    handlers: opts.handlers,
    approve: opts.approve,
    executionName,
    iam: opts.iam,
  });

  // The interpreter has no ItemReader: it runs a copy of the definition in which each reader is a
  // Task of its own (emulation.ts). It also validates with asl-validator, which writes
  // QueryLanguage into every state: either way it gets a copy, never the caller's object.
  // An ItemReader reads as the state machine's role (its s3:GetObject is the role's to grant).
  const iam = opts.iam;
  const objects =
    iam && opts.objects ? { getObject: (bucket: string, key: string) => iam.runAs("state-machine", () => opts.objects!.getObject(bucket, key)) } : opts.objects;
  const readers = emulateItemReaders(opts.definition as StateMachineDefinition, objects);
  const machine = new StateMachine(readers.definition as unknown as InterpreterDefinition, {
    validationOptions: opts.validate === false ? { noValidate: true } : { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(opts.input as unknown as InterpreterInput, {
    overrides: {
      taskResourceLocalHandlers: { ...emulation.taskHandlers, ...readers.taskHandlers } as TaskOverrides,
      ...(opts.retryIntervalMs !== undefined
        ? { retryIntervalOverrides: Object.fromEntries(retryableStates(opts.definition).map((n) => [n, opts.retryIntervalMs!])) }
        : {}),
    },
    context: Object.assign(emulation.context, readers.context),
  });

  let transitions = 0;
  let maxStateBytes = Buffer.byteLength(JSON.stringify(opts.input), "utf8");
  let historyEvents = HISTORY_EVENTS.execution;
  let dataLimitExceeded: { state: string } | undefined;
  let mapRunDenied: { state: string; message: string } | undefined;
  const distributedMaps = distributedMapStates(opts.definition);
  const events = (async () => {
    for await (const event of execution.eventLogs) {
      // the ItemReader's own Task is how the Map reads its items, not a state of the definition
      if ("state" in event && readers.readerStates.has(event.state.name)) continue;
      // A Distributed Map starts its iterations as child executions of the machine, as the
      // machine's role (states:StartExecution on the machine itself).
      if (opts.iam && event.type === "StateEntered" && distributedMaps.has(event.state.name) && !mapRunDenied) {
        try {
          await opts.iam.authorizeMachine("states:StartExecution", opts.iam.model.roles.stateMachineArn);
        } catch (err) {
          if (!(err instanceof AccessDeniedError)) throw err;
          mapRunDenied = { state: event.state.name, message: err.message };
          execution.abort();
        }
      }
      if (event.type === "StateEntered" || event.type === "StateRetried") transitions++;
      if (event.type === "StateEntered" || event.type === "StateExited") {
        const data = event.type === "StateEntered" ? event.state.input : event.state.output;
        if (data !== undefined) maxStateBytes = Math.max(maxStateBytes, Buffer.byteLength(JSON.stringify(data), "utf8"));
      }
      historyEvents += parentHistoryEvents(event);
      if (event.type === "StateExited" && !dataLimitExceeded && exceedsDataLimit(event.state.output)) {
        dataLimitExceeded = { state: event.state.name };
        execution.abort();
      }
      opts.onEvent?.(event);
    }
  })();

  let outcome: Pick<LocalRunResult, "status" | "output" | "error" | "cause">;
  try {
    outcome = { status: "SUCCEEDED", output: await execution.result };
  } catch (err) {
    outcome = { status: "FAILED", ...executionError(err) };
  }
  await events;
  if (opts.iam && opts.iam.requestsSeen === 0 && emulation.invocations.some((i) => i.ok)) {
    // Fail closed: enforcement that saw no request means the handlers' clients were never attached.
    throw new Error("IAM enforcement was on, but no S3 request of the handlers passed through it: attach their clients (attachIamEnforcement)");
  }
  if (mapRunDenied) {
    outcome = {
      status: "FAILED",
      error: "States.Runtime",
      // A Map Run whose role may not start its children is not started, and the parent fails
      // ("Redriving Map Runs", https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html).
      cause: `The Map Run of state "${mapRunDenied.state}" could not start its child executions (AccessDeniedException): ${mapRunDenied.message}`,
    };
  }
  if (dataLimitExceeded) {
    outcome = {
      status: "FAILED",
      error: "States.DataLimitExceeded",
      cause: `The output of state "${dataLimitExceeded.state}" exceeds the 262144-byte limit.`,
    };
  }

  const handlerMs = emulation.invocations.reduce((sum, i) => sum + i.ms, 0);
  const memoryMb = opts.lambdaMemoryMb ?? ((handler: HandlerName) => HANDLER_SPECS[handler].memorySizeMb);
  const transitionCost = transitions * AWS_PRICES.stateTransition.usd;
  const gbSeconds = emulation.invocations.reduce((sum, i) => sum + (Math.ceil(i.ms) / 1000) * (memoryMb(i.handler) / 1024), 0);
  const lambdaCost = gbSeconds * AWS_PRICES.lambdaGbSecond.usd + emulation.invocations.length * AWS_PRICES.lambdaRequest.usd;
  return {
    ...outcome,
    transitions,
    handlerMs,
    durationMs: performance.now() - started,
    estimatedCostUsd: { transitions: transitionCost, lambda: lambdaCost, total: transitionCost + lambdaCost },
    notifications: emulation.notifications,
    limits: { maxStateBytes, stateBytesLimit: DATA_LIMIT_BYTES, historyEvents, historyEventsLimit: HISTORY_EVENTS_LIMIT },
  };
}

/**
 * The events one interpreter event stands for in the parent execution's history. Events of
 * states inside a Map iteration (they carry the iteration's `index`) belong to the Distributed
 * Map's child executions, not to the parent.
 */
function parentHistoryEvents(event: RunEvent): number {
  if (!("state" in event) || event.index !== undefined) return 0;
  const type = event.state.type as string;
  const pick = (counts: { readonly default: number } & Partial<Record<string, number>>) => counts[type] ?? counts.default;
  if (event.type === "StateEntered") return pick(HISTORY_EVENTS.entered);
  if (event.type === "StateExited") return pick(HISTORY_EVENTS.exited);
  if (event.type === "StateRetried") return HISTORY_EVENTS.retried;
  return 0;
}

/**
 * The error and cause of a failed execution. The interpreter rejects with an ExecutionError whose
 * `cause` is the error that ended the run: a Fail state's (name = Error, message = Cause) or an
 * uncaught one.
 */
function executionError(err: unknown): { error: string; cause: string } {
  const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (inner instanceof Error) return { error: inner.name, cause: inner.message };
  return { error: "Error", cause: String(inner) };
}

/** Names of every Distributed Map state (ItemProcessor in DISTRIBUTED mode), nested ones included. */
function distributedMapStates(definition: object): Set<string> {
  return new Set(
    allStates(definition as StateMachineDefinition)
      .filter(({ state }) => (state as { ItemProcessor?: { ProcessorConfig?: { Mode?: string } } }).ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED")
      .map(({ name }) => name),
  );
}

/** Names of every state with a Retry, nested ones included. */
function retryableStates(definition: object): string[] {
  return allStates(definition as StateMachineDefinition)
    .filter(({ state }) => Array.isArray((state as { Retry?: unknown }).Retry))
    .map(({ name }) => name);
}
