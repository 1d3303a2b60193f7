/**
 * `bucket-sync sync`: runs the deployed state machine's definition on this machine against any
 * S3-compatible endpoint (or AWS), with the Lambda handlers in-process.
 */
import { Option, type Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Location, SyncRequest, SyncStats } from "../model/contract";
import { fromText, parseSetting, requestMessage, SCHEDULED_MODE, SYNC_SETTINGS, textType, type Setting, type SyncSettingName } from "../model/settings";
import { DELETES_DENIED } from "../infra/definition";
import { dryRunVerdict, refusalMessage } from "./deleteGuard";
import { endpointUrl } from "./endpoint";
import type { LocalSyncResult } from "./localSync";
import { EXIT, exitOnUsageError } from "./exitCodes";
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
  timeBudgetSeconds?: string;
  partSizeBytes?: string;
  multipartThresholdBytes?: string;
  minKeysPerPartition?: string;
  startAfter?: string;
  reportTo?: string;
  approveDeletes?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/**
 * The sync settings a user tunes on the command line, each a flag named after its setting
 * (`conflictPolicy` is `--conflict-policy`), described, defaulted and checked by its declaration
 * in model/settings.ts. A local run takes a setting's `localDefault` where it has one.
 */
export const FLAG_SETTINGS = [
  "mode",
  "conflictPolicy",
  "dryRun",
  "maxDeletes",
  "concurrency",
  "partitions",
  "timeBudgetSeconds",
  "partSizeBytes",
  "multipartThresholdBytes",
  "minKeysPerPartition",
  "startAfter",
] as const satisfies readonly SyncSettingName[];

/** A flag's declaration: its setting's, but `--mode` takes the scheduled modes (`restore` has its own command). */
function flagSetting(name: (typeof FLAG_SETTINGS)[number]): Setting {
  return name === "mode" ? SCHEDULED_MODE : SYNC_SETTINGS[name];
}

/** `conflictPolicy` -> `--conflict-policy`. */
export function flagOf(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A setting's flag as commander declares it: `--mode <backup|mirror|two-way>`, `--dry-run`. */
function flagOption(name: (typeof FLAG_SETTINGS)[number]): Option {
  const declared = flagSetting(name);
  const type = textType(declared);
  if (type === "boolean") return new Option(flagOf(name), declared.description);
  const options = (declared.schema as { options?: readonly string[] }).options;
  const value = options ? options.join("|") : type === "integer" ? "n" : "value";
  const fallback = declared.localDefault ?? declared.default;
  return new Option(`${flagOf(name)} <${value}>`, `${declared.description} (default: ${String(fallback)})`);
}

/**
 * The flags' values as request fields: each checked by its declaration, a problem naming the
 * flag as typed; an absent flag takes the setting's local default, else the request's own.
 */
export function settingsFromFlags(options: SyncOptions): Partial<SyncRequest> {
  const fields: Record<string, unknown> = {};
  for (const name of FLAG_SETTINGS) {
    const declared = flagSetting(name);
    const given = options[name];
    if (given === undefined) {
      if (declared.localDefault !== undefined) fields[name] = declared.localDefault;
      continue;
    }
    const value = typeof given === "string" ? fromText(declared, given) : given;
    const result = parseSetting(declared, value, "text");
    if (!result.ok) throw new Error(requestMessage(flagOf(name), given, result.problem));
    fields[name] = value;
  }
  return fields as Partial<SyncRequest>;
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
export function reportLocation(options: Pick<SyncOptions, "reportTo">): { bucket: string; prefix: string } | { directory: string } {
  if (options.reportTo === undefined) return { directory: defaultReportDirectory() };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.reportTo)) {
    const location = parseS3Url(options.reportTo, "--report-to");
    return { bucket: location.bucket, prefix: location.prefix };
  }
  return { directory: options.reportTo };
}

/** Flags that mean something in one mode only: given in another, they are refused, not ignored. */
const MODE_FLAGS = [
  { flag: "--conflict-policy", option: "conflictPolicy", mode: "two-way" },
  { flag: "--max-deletes", option: "maxDeletes", mode: "mirror" },
  { flag: "--approve-deletes", option: "approveDeletes", mode: "mirror" },
] as const;

/** Refuses a flag the run's mode would ignore (`--conflict-policy` in a backup). */
export function checkModeFlags(options: SyncOptions, mode: string): void {
  const misplaced = MODE_FLAGS.filter(({ option, mode: only }) => options[option] !== undefined && mode !== only);
  if (misplaced.length > 0) {
    throw new Error(
      misplaced.map(({ flag, mode: only }) => `${flag} applies to --mode ${only} only, and this run is --mode ${mode}`).join("; "),
    );
  }
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
    .addOption(flagOption("mode"))
    .addOption(flagOption("conflictPolicy"))
    .addOption(flagOption("dryRun"))
    .addOption(flagOption("maxDeletes"))
    .addOption(flagOption("concurrency"))
    .addOption(flagOption("partitions"))
    .addOption(flagOption("timeBudgetSeconds"))
    .addOption(flagOption("partSizeBytes"))
    .addOption(flagOption("multipartThresholdBytes"))
    .addOption(flagOption("minKeysPerPartition"))
    .addOption(flagOption("startAfter"))
    .option("--report-to <s3url|dir>", "where to write the JSON/HTML report (default: a local directory, printed after the run)")
    .option("--approve-deletes", "approve deletes above --max-deletes instead of failing")
    .option("--json", "print the report as JSON on stdout")
    .option("-v, --verbose", "print a line per object copied or deleted (on stderr with --json)")
    .exitOverride(exitOnUsageError)
    .action(async (source: string | undefined, destination: string | undefined, options: SyncOptions) => {
      process.exitCode = await runSync(options, source, destination);
    });
}

async function runSync(options: SyncOptions, sourceArgument?: string, destinationArgument?: string): Promise<number> {
  let request: SyncRequest;
  let report: ReturnType<typeof reportLocation>;
  let endpoint: string | undefined;
  try {
    request = {
      source: parseS3Url(locationArgument(sourceArgument, options.source, "source"), sourceArgument === undefined ? "--source" : "SOURCE"),
      destination: parseS3Url(
        locationArgument(destinationArgument, options.destination, "destination"),
        destinationArgument === undefined ? "--destination" : "DESTINATION",
      ),
      ...settingsFromFlags(options),
    };
    const { validateRequest } = await import("../handlers/engine/validation");
    const job = validateRequest(request); // bad input fails here, naming the problem, before any S3 call
    checkModeFlags(options, job.mode);
    report = reportLocation(options);
    endpoint = endpointUrl(options.endpoint);
  } catch (err) {
    console.error(`bucket-sync sync: ${(err as Error).message}`);
    return EXIT.badInput;
  }
  return runRequest(request, options, report, endpoint, "sync");
}

/** What a run of a validated request reads from its command's options. */
export type RunOptions = Pick<SyncOptions, "json" | "verbose" | "approveDeletes">;

/**
 * Runs a validated request through the local state machine and prints its outcome; the exit
 * code. `command` names the subcommand in messages (`sync`, `restore`).
 */
export async function runRequest(
  request: SyncRequest,
  options: RunOptions,
  report: ReturnType<typeof reportLocation>,
  endpoint: string | undefined,
  command: string,
): Promise<number> {
  const { ENDPOINT_UNREACHABLE, runLocalSync } = await import("./localSync");
  const { createProgress } = await import("./progress");
  const progress = createProgress(process.stderr, { dryRun: request.dryRun });
  let observe = progress.observe;
  if (options.verbose) {
    const { keyLine } = await import("./keyLines");
    const out = options.json ? process.stderr : process.stdout;
    const sides = { source: request.source as Required<Location>, destination: request.destination as Required<Location>, dryRun: request.dryRun ?? false };
    observe = (event) => {
      progress.observe(event);
      const line = keyLine(event, sides);
      if (line !== undefined) progress.interrupt(() => out.write(`${line}\n`));
    };
  }
  const result = await runLocalSync({
    request,
    endpoint,
    report,
    approve: async () => options.approveDeletes ?? false,
    progress: { observe, summarized: progress.summarized },
  });
  progress.stop();
  if (result.error === ENDPOINT_UNREACHABLE && !options.json) {
    // nothing ran: one line, not a summary of zeros with a cost
    console.error(`bucket-sync ${command}: ${causeMessage(result.cause)}`);
    return EXIT.failed;
  }
  printResult(result, options.json ?? false, command);
  const verdict = dryRunVerdict(result.summary);
  if (verdict !== undefined && !options.json) console.log(verdict);
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
    mode: result.summary?.job.mode,
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
    deleteLimit: result.summary?.deleteLimit,
    deleteDecision: result.summary?.deleteDecision,
    failures: result.summary?.failures ?? [],
    stateTransitions: result.transitions,
    durationMs: Math.round(result.durationMs),
    estimatedCostUsd: result.estimatedCostUsd,
    /**
     * How close the run came to Step Functions' limits: the largest state data (256 KiB allowed)
     * and the parent execution's history events (25,000 allowed for Standard workflows).
     */
    limits: { partitions: result.partitions ?? 0, ...result.limits },
    report: result.report,
  };
}

/**
 * The one-line summary of a run: every count of the run's mode, in the words of a dry run
 * ("would copy") when it wrote nothing. Two-way runs show both directions; deletes made above
 * the limit say they were approved.
 */
export function summaryLine(doc: ReturnType<typeof resultDocument>): string {
  const verb = (done: string, planned: string) => (doc.dryRun ? planned : done);
  const outcome = doc.status !== "SUCCEEDED" ? "FAILED" : doc.dryRun ? "dry run" : doc.mode === "restore" ? "restored" : "synced";
  const toSource = doc.mode === "two-way" || doc.copiedToSource > 0 ? `, ${verb("copied", "would copy")} to source ${doc.copiedToSource}` : "";
  const approved =
    !doc.dryRun && doc.deleted > 0 && doc.deleteDecision === "over-limit"
      ? ` (above the limit of ${doc.deleteLimit}, approved)`
      : "";
  const counts = [
    `${verb("copied", "would copy")} ${doc.copied}`,
    `${verb("updated", "would update")} ${doc.updated}${toSource}`,
    `${verb("deleted", "would delete")} ${doc.dryRun ? doc.plannedDeletes : doc.deleted}${approved}`,
    `unchanged ${doc.unchanged}`,
    `extra ${doc.extra}`,
    `conflicts ${doc.conflicts}`,
    `failed ${doc.failed}`,
  ];
  return `${outcome}: ${counts.join(", ")}; ${doc.bytes} bytes; ${doc.stateTransitions} state transitions (~$${doc.estimatedCostUsd.total.toFixed(6)} on AWS); ${(doc.durationMs / 1000).toFixed(1)} s`;
}

/** What a user reads about conflicts: how many keys changed on both sides and that nothing overwrote them. */
export function conflictLine(doc: ReturnType<typeof resultDocument>): string | undefined {
  if (doc.conflicts === 0) return undefined;
  const left = doc.conflicts === 1 ? `${doc.dryRun ? "would be" : "was"} left as it is` : `${doc.dryRun ? "would be" : "were"} left as they are`;
  const keys = doc.conflicts === 1 ? "1 key" : `${doc.conflicts} keys`;
  return `conflicts: ${keys} changed on both sides ${left} (--conflict-policy report); the report lists them with the newer side`;
}

function printResult(result: LocalSyncResult, json: boolean, command = "sync"): void {
  const doc = resultDocument(result);
  if (json) {
    console.log(JSON.stringify(doc, null, 2));
  } else {
    console.log(summaryLine(doc));
    const conflicts = conflictLine(doc);
    if (conflicts) console.log(conflicts);
    if (doc.report) console.log(`report: ${reportPath(doc.report)}`);
  }
  if (result.status !== "SUCCEEDED") console.error(`bucket-sync ${command}: ${failureMessage(result)}`);
}

/** Why a run failed, in a user's words where the CLI knows them better than the state machine. */
export function failureMessage(result: LocalSyncResult): string {
  if (result.error === DELETES_DENIED && result.summary) return refusalMessage(result.summary);
  return `${result.error}: ${causeMessage(result.cause)}`;
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
