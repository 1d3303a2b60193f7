/**
 * One structured JSON log line per handler call in Lambda, written with the Logger of Powertools
 * for AWS Lambda (TypeScript) (https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/):
 * the handler, the execution (the state machine run), the partition and phase, the counts, the
 * duration, the contract version, and the error of a failed call. With the functions' JSON log
 * format (`loggingConfig.logFormat: JSON`) each line is a JSON object CloudWatch Logs Insights
 * queries by field (README, "Reading a failed run").
 *
 * Only the deployed entry points log (handlers/lambda.ts and the `callback` packaging's factory,
 * through `createLambdaHandlers`); the CLI runs the same handlers without it, so its output stays
 * its own.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { HandlerName, PlanPartitionsInput, SyncStats } from "../model/contract";
import { createHandlers, type HandlerSettings, type Handlers, type InvocationContext } from "./index";

/** The `message` of every call line: the one thing a query filters on. */
export const CALL_LOG_MESSAGE = "handler call";

/** What one call line carries besides Powertools' own keys (level, timestamp, service, ...). */
export interface CallLogFields {
  handler: HandlerName;
  /** The execution (run) name, when the payload carries it. */
  execution?: string;
  phase?: string;
  partition?: number;
  /** Counts of the call's result: a range's or a summary's stats, a plan's partitions. */
  stats?: SyncStats;
  partitions?: number;
  done?: boolean;
  deleteDecision?: string;
  durationMs: number;
  contractVersion?: unknown;
  outcome: "ok" | "error";
  error?: { name: string; message: string };
}

type Payload = Record<string, unknown> & {
  run?: unknown;
  phase?: unknown;
  partition?: { id?: unknown };
  job?: { version?: unknown };
  summary?: { job?: { version?: unknown } };
  execution?: { name?: unknown };
  version?: unknown;
};

/** The fields a payload gives (read defensively: a malformed payload is logged, then refused by the handler). */
function payloadFields(event: unknown): Pick<CallLogFields, "execution" | "phase" | "partition" | "contractVersion"> {
  const e = (event && typeof event === "object" ? event : {}) as Payload;
  const execution = typeof e.run === "string" ? e.run : typeof e.execution?.name === "string" ? e.execution.name : undefined;
  return {
    ...(execution !== undefined ? { execution } : {}),
    ...(typeof e.phase === "string" ? { phase: e.phase } : {}),
    ...(typeof e.partition?.id === "number" ? { partition: e.partition.id } : {}),
    contractVersion: e.job?.version ?? e.summary?.job?.version ?? e.version,
  };
}

/** The counts a result gives. */
function resultFields(result: unknown): Pick<CallLogFields, "stats" | "partitions" | "done" | "deleteDecision"> {
  const r = (result && typeof result === "object" ? result : {}) as Record<string, unknown>;
  return {
    ...(r.stats && typeof r.stats === "object" ? { stats: r.stats as SyncStats } : {}),
    ...(Array.isArray(r.partitions) ? { partitions: r.partitions.length } : {}),
    ...(typeof r.done === "boolean" ? { done: r.done } : {}),
    ...(typeof r.deleteDecision === "string" ? { deleteDecision: r.deleteDecision } : {}),
  };
}

/** Wraps one handler: the call runs unchanged, and one line says what it did. */
export function withCallLog<E, R>(
  handler: HandlerName,
  fn: (event: E, context?: InvocationContext) => Promise<R>,
  logger: Logger,
): (event: E, context?: InvocationContext) => Promise<R> {
  return async (event, context) => {
    const started = Date.now();
    const base = { handler, ...payloadFields(event) };
    try {
      const result = await fn(event, context);
      logger.info(CALL_LOG_MESSAGE, { ...base, ...resultFields(result), durationMs: Date.now() - started, outcome: "ok" } satisfies CallLogFields);
      return result;
    } catch (err) {
      const error = err instanceof Error ? { name: err.name, message: err.message } : { name: typeof err, message: String(err) };
      logger.error(CALL_LOG_MESSAGE, { ...base, durationMs: Date.now() - started, outcome: "error", error } satisfies CallLogFields);
      throw err;
    }
  };
}

/** The handlers as the deployed functions run them: each call logged as one JSON line. */
export function createLambdaHandlers(settings?: HandlerSettings, logger = new Logger({ serviceName: "bucket-sync" })): Handlers {
  const handlers = createHandlers(settings);
  return {
    "validate-input": withCallLog("validate-input", handlers["validate-input"], logger),
    "plan-partitions": withCallLog("plan-partitions", handlers["plan-partitions"] as (event: PlanPartitionsInput) => Promise<unknown>, logger) as Handlers["plan-partitions"],
    "sync-range": withCallLog("sync-range", handlers["sync-range"], logger),
    summarize: withCallLog("summarize", handlers.summarize, logger),
    "write-report": withCallLog("write-report", handlers["write-report"], logger),
  };
}
