/**
 * `bucket-sync sync`: runs the deployed state machine's definition on this machine against any
 * S3-compatible endpoint (or AWS), with the Lambda handlers in-process.
 */
import type { Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import type { SyncRequest, SyncStats } from "../handlers/contract";
import type { LocalSyncResult } from "../local/localSync";
import { parseS3Url } from "./s3Url";

interface SyncOptions {
  source?: string;
  destination?: string;
  endpoint?: string;
  mode?: string;
  conflictPolicy?: string;
  dryRun?: boolean;
  maxDeletes?: string;
  concurrency?: string;
  partitions?: string;
  minKeysPerPartition?: string;
  startAfter?: string;
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

/**
 * Where reports go when --report-to is not given: a directory on this machine that stays after
 * the run (the XDG state directory), never a bucket. A report written into a bucket the user did
 * not name could land outside the destination prefix, or in a source that later syncs it as data.
 */
export function defaultReportDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "bucket-sync", "reports");
}

/** The report location: --report-to (`s3://bucket/prefix/` or a local directory), else the default directory. */
function reportLocation(options: SyncOptions): { bucket: string; prefix: string } | { directory: string } {
  if (options.reportTo === undefined) return { directory: defaultReportDirectory() };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.reportTo)) {
    const location = parseS3Url(options.reportTo, "--report-to");
    return { bucket: location.bucket, prefix: location.prefix };
  }
  return { directory: options.reportTo };
}

/** One location given once: as the positional argument or as its flag, not both. */
function locationArgument(positional: string | undefined, flag: string | undefined, name: "source" | "destination"): string {
  if (positional !== undefined && flag !== undefined) {
    throw new Error(`the ${name} is given twice: as an argument ("${positional}") and as --${name} ("${flag}"); give it once`);
  }
  const value = positional ?? flag;
  if (value === undefined) {
    throw new Error(`no ${name}: give it as an argument (bucket-sync sync s3://source-bucket s3://destination-bucket) or as --${name}`);
  }
  return value;
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("sync a source into a destination by running the state machine locally")
    .argument("[source]", "source, s3://bucket[/prefix] (or --source)")
    .argument("[destination]", "destination, s3://bucket[/prefix] (or --destination)")
    .option("--source <s3url>", "source, s3://bucket[/prefix]")
    .option("--destination <s3url>", "destination, s3://bucket[/prefix]")
    .option("--endpoint <url>", "S3-compatible endpoint (default: $AWS_ENDPOINT_URL, else AWS)")
    .option("--mode <mode>", "backup | mirror | two-way (default: backup)")
    .option("--conflict-policy <policy>", "two-way only: report | newer-wins (default: report)")
    .option("--dry-run", "plan and report, write nothing")
    .option("--max-deletes <N|P%>", "most objects mirror may delete (default: 10%)")
    .option("--concurrency <n>", `parallel S3 operations per partition (default: ${LOCAL_DEFAULTS.concurrency})`)
    .option("--partitions <n>", `key ranges synced in parallel (default: ${LOCAL_DEFAULTS.partitions})`)
    .option("--min-keys-per-partition <n>", "fewest keys a planned partition holds (default: 1000)")
    .option("--start-after <key>", "sync only keys after this one (relative to the source prefix)")
    .option("--report-to <s3url|dir>", "where to write the JSON/HTML report (default: a local directory, printed after the run)")
    .option("--approve-deletes", "approve deletes above --max-deletes instead of failing")
    .option("--json", "print the report as JSON on stdout")
    // Usage errors (a missing or unknown option) are bad input too: exit 2, not commander's 1.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput))
    .action(async (source: string | undefined, destination: string | undefined, options: SyncOptions) => {
      process.exitCode = await runSync(options, source, destination);
    });
}

async function runSync(options: SyncOptions, sourceArgument?: string, destinationArgument?: string): Promise<number> {
  let request: SyncRequest;
  let report: ReturnType<typeof reportLocation>;
  try {
    request = {
      source: parseS3Url(locationArgument(sourceArgument, options.source, "source"), sourceArgument === undefined ? "--source" : "SOURCE"),
      destination: parseS3Url(
        locationArgument(destinationArgument, options.destination, "destination"),
        destinationArgument === undefined ? "--destination" : "DESTINATION",
      ),
      mode: options.mode as SyncRequest["mode"],
      conflictPolicy: options.conflictPolicy as SyncRequest["conflictPolicy"],
      dryRun: options.dryRun ?? false,
      maxDeletes: options.maxDeletes,
      concurrency: integer(options.concurrency, "--concurrency") ?? LOCAL_DEFAULTS.concurrency,
      partitions: integer(options.partitions, "--partitions") ?? LOCAL_DEFAULTS.partitions,
      minKeysPerPartition: integer(options.minKeysPerPartition, "--min-keys-per-partition"),
      startAfter: options.startAfter,
    };
    const { validateRequest } = await import("../handlers/engine/validation");
    validateRequest(request); // bad input fails here, naming the problem, before any S3 call
    report = reportLocation(options);
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
    const verb = (done: string, planned: string) => (doc.dryRun ? planned : done);
    const outcome = doc.status !== "SUCCEEDED" ? "FAILED" : doc.dryRun ? "dry run" : "synced";
    const toSource = doc.copiedToSource > 0 ? `, ${verb("copied", "would copy")} to source ${doc.copiedToSource}` : "";
    console.log(
      `${outcome}: ${verb("copied", "would copy")} ${doc.copied}, ${verb("updated", "would update")} ${doc.updated}${toSource}, ${verb("deleted", "would delete")} ${doc.dryRun ? doc.plannedDeletes : doc.deleted}, unchanged ${doc.unchanged}, extra ${doc.extra}, conflicts ${doc.conflicts}, failed ${doc.failed}; ${doc.bytes} bytes; ${doc.stateTransitions} state transitions (~$${doc.estimatedCostUsd.total.toFixed(6)} on AWS); ${(doc.durationMs / 1000).toFixed(1)} s`,
    );
    if (doc.report) console.log(`report: ${reportPath(doc.report)}`);
  }
  if (result.status !== "SUCCEEDED") console.error(`bucket-sync sync: ${result.error}: ${causeMessage(result.cause)}`);
}

/** Where the HTML report is: a local path a browser opens, or its s3:// URL. */
export function reportPath(report: { bucket: string; htmlKey: string }): string {
  return report.bucket === "" ? report.htmlKey : `s3://${report.bucket}/${report.htmlKey}`;
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
