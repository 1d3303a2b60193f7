/**
 * The Lambda handlers: thin entry points over the sync engine. `createHandlers` reads the
 * environment and creates the S3 client once; each handler validates, delegates, returns JSON.
 *
 * Deployed two ways (see infra/handlerPackaging.ts): as `aws.lambda.CallbackFunction`s whose
 * serialized factory loads handlers/callLog.ts, compiled, and calls `createLambdaHandlers()` at
 * cold start; and as an esbuild bundle of handlers/lambda.ts. Both log each call as one JSON line
 * (callLog.ts); the CLI calls `createHandlers` directly. No Pulumi import here.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  HANDLER_ENV,
  type HandlerName,
  type Partition,
  type PlanLocation,
  type PlanPartitionsInput,
  type ReportLocation,
  type RequestCeiling,
  type SummarizeInput,
  type SyncJob,
  type SyncRangeInput,
  type SyncRangeResult,
  type SyncRequest,
  type SyncSummary,
  type WriteReportInput,
} from "../model/contract";
import { applyDeleteBudget, parseDeleteBudgetConfig, type DeleteBudgetConfig } from "./engine/deleteBudget";
import { planPartitions } from "./engine/partitions";
import { approvalMetricValues, emfDocument, runMetricValues } from "./engine/runMetrics";
import { CHANGE_LOG_FILE } from "./engine/changeLog";
import { changeLogKey, writeChangeLog, writeReport } from "./engine/report";
import { checkRunName, readPhaseRecords, type RunRecords, s3RunRecords } from "./engine/runRecords";
import { createS3Client, type S3Compatibility } from "./engine/s3Client";
import { summarize } from "./engine/summary";
import { type RangeEvent, syncRange } from "./engine/syncRange";
import { checkBucketsExist, validateRequest } from "./engine/validation";
import { checkContractVersion, ValidationError } from "./engine/errors";
import { checkRestore, parseGrant, restoreGrantProblem } from "./engine/restore";
import type { Location } from "../model/contract";
import { REPORT_PREFIX } from "../model/settings";

/** What the Lambda runtime passes beside the event (the part the handlers read). */
export interface InvocationContext {
  /** Milliseconds until the function times out. */
  getRemainingTimeInMillis?(): number;
}

/**
 * How long before the function's own timeout a sync-range call stops its S3 work: time to write
 * the partition's run record and return the result.
 */
export const RESULT_RESERVE_MS = 10_000;

/** Every handler, keyed by its name (the Task state name and Lambda function role). */
export interface Handlers {
  "validate-input"(event: SyncRequest): Promise<SyncJob>;
  /** With a `run`: writes the plan beside the run's records and returns where it is. */
  "plan-partitions"(event: PlanPartitionsInput & { run: string }): Promise<PlanLocation>;
  /** Without one: returns the partitions. */
  "plan-partitions"(event: { job: SyncJob }): Promise<Partition[]>;
  "sync-range"(event: SyncRangeInput, context?: InvocationContext): Promise<SyncRangeResult>;
  summarize(event: SummarizeInput): Promise<SyncSummary>;
  "write-report"(event: WriteReportInput): Promise<ReportLocation>;
}

export type { HandlerName };

/** Where the handlers find S3; read from HANDLER_ENV variables by default. */
export interface HandlerSettings {
  client?: S3Client;
  endpoint?: string;
  compatibility?: S3Compatibility;
  reportBucket?: string;
  reportPrefix?: string;
  /** Where partition results are kept. @default the report bucket and prefix (see runRecords.ts) */
  records?: RunRecords;
  /**
   * The deployed stack's ceiling: validate-input refuses a request that would widen it, however
   * the run was started. @default none: any valid request (a local run without --stack)
   */
  requestCeiling?: RequestCeiling;
  /**
   * The stack's delete budget across runs and its ledger: summarize spends from it, and sends a
   * run that would overspend it for approval. @default none: each run has only its own limit
   */
  deleteBudget?: DeleteBudgetConfig;
  /**
   * The `Stack` dimension of the run metrics; with it, summarize and write-report print them as
   * embedded-metric-format lines. @default none: no metrics (a local run)
   */
  metricsStack?: string;
  /**
   * Where metric lines go. Straight to standard output, not console.log: Lambda's console prefixes
   * each line with a timestamp and request id, and CloudWatch then no longer reads it as JSON.
   * @default process.stdout
   */
  printMetrics?: (line: string) => void;
  /** Told of each sync-range call's work key by key (a local run's progress); deployed functions have none. */
  observe?: (event: RangeEvent) => void;
  /** The one location a restore may write (the restore role's grant). @default any */
  restoreTarget?: Location;
}

/** Reads the handler settings from the environment (names in HANDLER_ENV). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): HandlerSettings {
  return {
    endpoint: env[HANDLER_ENV.endpoint] || undefined,
    compatibility: (env[HANDLER_ENV.compatibility] || undefined) as S3Compatibility | undefined,
    reportBucket: env[HANDLER_ENV.reportBucket] || undefined,
    reportPrefix: env[HANDLER_ENV.reportPrefix] ?? REPORT_PREFIX.default,
    requestCeiling: ceilingFromEnv(env[HANDLER_ENV.requestCeiling]),
    deleteBudget: deleteBudgetFromEnv(env[HANDLER_ENV.deleteBudget]),
    metricsStack: env[HANDLER_ENV.metricsStack] || undefined,
    restoreTarget: env[HANDLER_ENV.restoreTarget] ? parseGrant(env[HANDLER_ENV.restoreTarget] as string) : undefined,
  };
}

function deleteBudgetFromEnv(text: string | undefined): DeleteBudgetConfig | undefined {
  if (text === undefined || text === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${HANDLER_ENV.deleteBudget} is not JSON`);
  }
  return parseDeleteBudgetConfig(parsed, HANDLER_ENV.deleteBudget);
}

/** The ceiling the program set, parsed; a value that is not one fails the cold start (fail closed). */
function ceilingFromEnv(text: string | undefined): RequestCeiling | undefined {
  if (text === undefined || text === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${HANDLER_ENV.requestCeiling} is not JSON: it must be the stack's RequestCeiling`);
  }
  const request = (parsed as { request?: { source?: unknown; destination?: unknown } } | null)?.request;
  if (typeof request?.source !== "object" || typeof request?.destination !== "object") {
    throw new Error(`${HANDLER_ENV.requestCeiling} must be a RequestCeiling: { "request": { "source": ..., "destination": ... } }`);
  }
  return parsed as RequestCeiling;
}

/** Creates every handler over one S3 client; settings come from the environment by default. */
export function createHandlers(settings: HandlerSettings = settingsFromEnv(process.env)): Handlers {
  const client = settings.client ?? createS3Client({ endpoint: settings.endpoint, compatibility: settings.compatibility });
  const records = (): RunRecords => {
    if (settings.records) return settings.records;
    if (!settings.reportBucket) {
      throw new Error(`${HANDLER_ENV.reportBucket} is not set: partition results are kept beside the reports`);
    }
    return s3RunRecords(client, { bucket: settings.reportBucket, prefix: settings.reportPrefix ?? "reports/" });
  };
  const print = settings.printMetrics ?? ((line: string) => void process.stdout.write(line));
  const metrics = (values: Parameters<typeof emfDocument>[1]): void => {
    if (settings.metricsStack) print(`${JSON.stringify(emfDocument(settings.metricsStack, values, new Date()))}\n`);
  };
  return {
    async "validate-input"(event) {
      // The ceiling first: a request over it fails here, before any listing.
      const job = validateRequest(event, settings.requestCeiling);
      const outside = restoreGrantProblem(job, settings.restoreTarget);
      if (outside) throw new ValidationError([outside]);
      await checkBucketsExist(client, job);
      await checkRestore(client, job, { grant: settings.restoreTarget });
      return job;
    },
    "plan-partitions": (async (event: PlanPartitionsInput) => {
      checkContractVersion(event.job?.version, "the plan-partitions payload");
      const run = event.run === undefined ? undefined : checkRunName(event.run);
      const partitions = await planPartitions(client, validateRequest(event.job));
      return run === undefined ? partitions : records().putPlan(run, partitions);
    }) as Handlers["plan-partitions"],
    async "sync-range"(event, context) {
      checkContractVersion(event.job?.version, "the sync-range payload");
      const run = event.run === undefined ? undefined : checkRunName(event.run);
      // The time budget is the job's; the function's own timeout bounds it too.
      const remaining = context?.getRemainingTimeInMillis?.();
      const deadline = remaining === undefined ? undefined : Date.now() + remaining - RESULT_RESERVE_MS;
      const result = await syncRange(
        client,
        { ...event, job: validateRequest(event.job) },
        {
          deadline,
          observe: settings.observe,
          ...(run !== undefined ? { recordChanges: (chunk: string) => records().putChanges(run, event.phase, event.partition.id, chunk) } : {}),
        },
      );
      if (run !== undefined && result.done) await records().put(run, result);
      return result;
    },
    async summarize(event) {
      checkContractVersion(event.job?.version, "the summarize payload");
      let summary: SyncSummary;
      if (event.results) summary = summarize({ ...event, results: event.results });
      else {
        const partitionIds = event.plan ? (await records().getPlan(event.plan)).map((partition) => partition.id) : event.partitionIds;
        if (event.run === undefined || !Array.isArray(partitionIds)) {
          throw new Error("summarize needs the phase's results, or the run and the plan (or partitionIds) whose records hold them");
        }
        summary = summarize({ ...event, results: await readPhaseRecords(records(), checkRunName(event.run), event.phase, partitionIds) });
      }
      if (settings.deleteBudget) {
        summary = await applyDeleteBudget(client, settings.deleteBudget, summary, { run: event.run ?? "unnamed", previous: event.previous });
      }
      const approval = approvalMetricValues(summary);
      if (approval) metrics(approval);
      return summary;
    },
    async "write-report"(event) {
      checkContractVersion(event.summary?.job?.version, "the write-report payload");
      if (!settings.reportBucket) {
        throw new Error(`${HANDLER_ENV.reportBucket} is not set: the write-report handler needs a bucket for reports`);
      }
      const location = { bucket: settings.reportBucket, prefix: settings.reportPrefix ?? REPORT_PREFIX.default };
      const run = event.execution?.name;
      const written =
        run === undefined
          ? await writeReport(client, location, event)
          : await writeReport(client, location, event, undefined, {
              file: CHANGE_LOG_FILE,
              lines: await writeChangeLog(client, { bucket: location.bucket, key: changeLogKey(location.prefix, checkRunName(run)) }, await records().changeChunks(run)),
            });
      metrics(runMetricValues(event.summary, event.execution?.startTime, new Date()));
      return written;
    },
  };
}
