/**
 * `bucket-sync sync`: runs the deployed state machine's definition on this machine against any
 * S3-compatible endpoint (or AWS), with the Lambda handlers in-process.
 */
import type { Command } from "commander";
import type { SyncRequest, SyncStats } from "../handlers/contract";
import type { LocalSyncResult } from "../local/localSync";
import { parseS3Url } from "./s3Url";

interface SyncOptions {
  source: string;
  destination: string;
  endpoint?: string;
  mode?: string;
  conflictPolicy?: string;
  dryRun?: boolean;
  maxDeletes?: string;
  concurrency?: string;
  partitions?: string;
  reportTo?: string;
  approveDeletes?: boolean;
  json?: boolean;
}

/**
 * Defaults of a local run. All partitions of a local run share one process and one endpoint, so
 * more partitions add LIST requests, not capacity: one partition with 64 requests in flight was
 * the fastest setting in every benchmark (bench/RESULTS.md). Deployed stacks keep their own
 * defaults (16 partitions of 32), where each partition is its own Lambda function.
 */
export const LOCAL_DEFAULTS = { partitions: 1, concurrency: 64 } as const;

/** Exit codes: 0 synced; 1 the run failed (copies failed, deletes refused, S3 errors); 2 bad input. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

function integer(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${option} must be a whole number, got "${value}"`);
  return Number(value);
}

/** The report location: --report-to, or a prefix beside the destination's when that is safe. */
function reportLocation(options: SyncOptions, request: SyncRequest): { bucket: string; prefix: string } {
  if (options.reportTo) {
    const location = parseS3Url(options.reportTo, "--report-to");
    return { bucket: location.bucket, prefix: location.prefix };
  }
  const destination = request.destination;
  const prefix = destination.prefix ?? "";
  if (prefix === "") {
    throw new Error(
      "--report-to is needed when the destination is a whole bucket (a report inside it would be synced over): give e.g. --report-to s3://my-reports/bucket-sync/",
    );
  }
  return { bucket: destination.bucket, prefix: "bucket-sync-reports/" };
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("sync a source into a destination by running the state machine locally")
    .requiredOption("--source <s3url>", "source, s3://bucket[/prefix]")
    .requiredOption("--destination <s3url>", "destination, s3://bucket[/prefix]")
    .option("--endpoint <url>", "S3-compatible endpoint (default: $AWS_ENDPOINT_URL, else AWS)")
    .option("--mode <mode>", "backup | mirror | two-way (default: backup)")
    .option("--conflict-policy <policy>", "two-way only: report | newer-wins (default: report)")
    .option("--dry-run", "plan and report, write nothing")
    .option("--max-deletes <N|P%>", "most objects mirror may delete (default: 10%)")
    .option("--concurrency <n>", `parallel S3 operations per partition (default: ${LOCAL_DEFAULTS.concurrency})`)
    .option("--partitions <n>", `key ranges synced in parallel (default: ${LOCAL_DEFAULTS.partitions})`)
    .option("--report-to <s3url>", "where to write the JSON/HTML report")
    .option("--approve-deletes", "approve deletes above --max-deletes instead of failing")
    .option("--json", "print the report as JSON on stdout")
    // Usage errors (a missing or unknown option) are bad input too: exit 2, not commander's 1.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput))
    .action(async (options: SyncOptions) => {
      process.exitCode = await runSync(options);
    });
}

async function runSync(options: SyncOptions): Promise<number> {
  let request: SyncRequest;
  let report: { bucket: string; prefix: string };
  try {
    request = {
      source: parseS3Url(options.source, "--source"),
      destination: parseS3Url(options.destination, "--destination"),
      mode: options.mode as SyncRequest["mode"],
      conflictPolicy: options.conflictPolicy as SyncRequest["conflictPolicy"],
      dryRun: options.dryRun ?? false,
      maxDeletes: options.maxDeletes,
      concurrency: integer(options.concurrency, "--concurrency") ?? LOCAL_DEFAULTS.concurrency,
      partitions: integer(options.partitions, "--partitions") ?? LOCAL_DEFAULTS.partitions,
    };
    const { validateRequest } = await import("../handlers/engine/validation");
    validateRequest(request); // bad input fails here, naming the problem, before any S3 call
    report = reportLocation(options, request);
  } catch (err) {
    console.error(`bucket-sync sync: ${(err as Error).message}`);
    return EXIT.badInput;
  }
  const { runLocalSync } = await import("../local/localSync");
  const { createProgress } = await import("./progress");
  const progress = createProgress(process.stderr);
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const result = await runLocalSync({
    request,
    endpoint,
    report,
    approve: async () => options.approveDeletes ?? false,
    progress,
  });
  progress.stop();
  printResult(result, options.json ?? false);
  if (result.status === "SUCCEEDED") return EXIT.ok;
  return result.error === "ValidationError" ? EXIT.badInput : EXIT.failed;
}

/** The `--json` document: what the run did, what it cost, where the report is. */
export function resultDocument(result: LocalSyncResult) {
  const stats: Partial<SyncStats> = result.summary?.stats ?? {};
  return {
    status: result.status,
    error: result.error,
    cause: result.cause,
    dryRun: result.summary?.job.dryRun ?? false,
    copied: stats.copied ?? 0,
    updated: stats.updated ?? 0,
    copiedToSource: stats.copiedToSource ?? 0,
    deleted: stats.deleted ?? 0,
    unchanged: stats.unchanged ?? 0,
    extra: stats.extra ?? 0,
    conflicts: stats.conflicts ?? 0,
    failed: stats.failed ?? 0,
    bytes: stats.bytes ?? 0,
    plannedDeletes: result.summary?.plannedDeletes ?? 0,
    deleteDecision: result.summary?.deleteDecision,
    failures: result.summary?.failures ?? [],
    stateTransitions: result.transitions,
    durationMs: Math.round(result.durationMs),
    estimatedCostUsd: result.estimatedCostUsd,
    report: result.report,
  };
}

function printResult(result: LocalSyncResult, json: boolean): void {
  const doc = resultDocument(result);
  if (json) {
    console.log(JSON.stringify(doc, null, 2));
  } else {
    const verb = doc.dryRun ? "would copy" : "copied";
    console.log(
      `${doc.status === "SUCCEEDED" ? "synced" : "FAILED"}: ${verb} ${doc.copied}, updated ${doc.updated}, deleted ${doc.deleted}, unchanged ${doc.unchanged}, extra ${doc.extra}, conflicts ${doc.conflicts}, failed ${doc.failed}; ${doc.bytes} bytes; ${doc.stateTransitions} state transitions (~$${doc.estimatedCostUsd.total.toFixed(6)} on AWS); ${(doc.durationMs / 1000).toFixed(1)} s`,
    );
    if (doc.report) console.log(`report: s3://${doc.report.bucket}/${doc.report.htmlKey}`);
  }
  if (result.status !== "SUCCEEDED") console.error(`bucket-sync sync: ${result.error}: ${causeMessage(result.cause)}`);
}

/** A Lambda error's Cause is JSON (`errorType`, `errorMessage`, `trace`): show the message. */
export function causeMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? "");
    if (typeof parsed?.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // not JSON: a Fail state's own cause
  }
  return cause ?? "";
}
