/**
 * The Lambda handlers: thin entry points over the sync engine. `createHandlers` reads the
 * environment and creates the S3 client once; each handler validates, delegates, returns JSON.
 *
 * Deployed two ways (see infra/handlerPackaging.ts): as `aws.lambda.CallbackFunction`s whose
 * serialized factory loads this module, compiled, and calls `createHandlers()` at cold start; and
 * as an esbuild bundle of handlers/lambda.ts. No Pulumi import here.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  HANDLER_ENV,
  type HandlerName,
  type Partition,
  type ReportLocation,
  type SummarizeInput,
  type SyncJob,
  type SyncRangeInput,
  type SyncRangeResult,
  type SyncRequest,
  type SyncSummary,
  type WriteReportInput,
} from "../model/contract";
import { planPartitions } from "./engine/partitions";
import { writeReport } from "./engine/report";
import { checkRunName, readPhaseRecords, type RunRecords, s3RunRecords } from "./engine/runRecords";
import { createS3Client, type S3Compatibility } from "./engine/s3Client";
import { summarize } from "./engine/summary";
import { type RangeEvent, syncRange } from "./engine/syncRange";
import { checkBucketsExist, validateRequest } from "./engine/validation";
import { checkRestore, parseGrant } from "./engine/restore";
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
    restoreTarget: env[HANDLER_ENV.restoreTarget] ? parseGrant(env[HANDLER_ENV.restoreTarget] as string) : undefined,
  };
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
  return {
    async "validate-input"(event) {
      const job = validateRequest(event);
      await checkBucketsExist(client, job);
      await checkRestore(client, job, { grant: settings.restoreTarget });
      return job;
    },
    async "plan-partitions"(event) {
      return planPartitions(client, validateRequest(event.job));
    },
    async "sync-range"(event, context) {
      const run = event.run === undefined ? undefined : checkRunName(event.run);
      // The time budget is the job's; the function's own timeout bounds it too.
      const remaining = context?.getRemainingTimeInMillis?.();
      const deadline = remaining === undefined ? undefined : Date.now() + remaining - RESULT_RESERVE_MS;
      const result = await syncRange(client, { ...event, job: validateRequest(event.job) }, { deadline, observe: settings.observe });
      if (run !== undefined && result.done) await records().put(run, result);
      return result;
    },
    async summarize(event) {
      if (event.results) return summarize({ ...event, results: event.results });
      if (event.run === undefined || !Array.isArray(event.partitionIds)) {
        throw new Error("summarize needs the phase's results, or the run and partitionIds whose records hold them");
      }
      return summarize({ ...event, results: await readPhaseRecords(records(), checkRunName(event.run), event.phase, event.partitionIds) });
    },
    async "write-report"(event) {
      if (!settings.reportBucket) {
        throw new Error(`${HANDLER_ENV.reportBucket} is not set: the write-report handler needs a bucket for reports`);
      }
      return writeReport(client, { bucket: settings.reportBucket, prefix: settings.reportPrefix ?? REPORT_PREFIX.default }, event);
    },
  };
}
