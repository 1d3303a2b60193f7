/**
 * `bucket-sync sync`: runs the deployed state machine's definition on this machine against any
 * S3-compatible endpoint (or AWS), with the Lambda handlers in-process.
 */
import { ENFORCE_IAM_ENV } from "./stackIam";
import { SUBCOMMANDS } from "./commands";
import { Option, type Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Location, RequestCeiling, SyncRequest, SyncStats } from "../model/contract";
import { fromText, parseSetting, requestMessage, SCHEDULED_MODE, SYNC_SETTINGS, textType, type Setting, type SyncSettingName } from "../model/settings";
import { DELETES_DENIED } from "../infra/definition";
import { dryRunVerdict, refusalMessage } from "./deleteGuard";
import { realRunDeleteDecision } from "../handlers/engine/summary";
import { formatBytes, formatUsd } from "../handlers/engine/reportPage";
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
  /** `--exclude`/`--include` in the order typed, as the `filters` setting writes them. */
  filters?: string[];
  reportTo?: string;
  approveDeletes?: boolean;
  stack?: string;
  json?: boolean;
  verbose?: boolean;
  enforceIam?: boolean;
  /** false with --no-progress. */
  progress?: boolean;
  quiet?: boolean;
  profile?: string;
  // Flags of aws s3 sync and rclone with the same meaning (see compatibleOptions).
  delete?: boolean;
  endpointUrl?: string;
  dryrun?: boolean;
  n?: boolean;
  transfers?: string;
}

/**
 * Folds the flags of `aws s3 sync` and rclone into their bucket-sync names; one idea given twice
 * in disagreement (`--delete --mode backup`) is refused.
 */
export function foldCompatibleFlags(options: SyncOptions): SyncOptions {
  const folded = { ...options };
  if (options.delete) {
    if (options.mode !== undefined && options.mode !== "mirror") {
      throw new Error(`--delete means --mode mirror, and this run says --mode ${options.mode}; give one`);
    }
    folded.mode = "mirror";
  }
  const same = <K extends keyof SyncOptions>(ours: K, theirs: keyof SyncOptions, value: SyncOptions[K] | undefined) => {
    if (value === undefined) return;
    if (options[ours] !== undefined && options[ours] !== value) {
      throw new Error(`${flagOf(String(theirs))} and ${flagOf(String(ours))} are the same setting, given different values; give one`);
    }
    folded[ours] = value;
  };
  same("endpoint", "endpointUrl", options.endpointUrl);
  same("concurrency", "transfers", options.transfers);
  if (options.dryrun || options.n) folded.dryRun = true;
  return folded;
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

/**
 * A flag's help where the setting's description speaks of the deployed machine (a Lambda call,
 * its timeout, a worker): the same setting in the words of a local run.
 */
const LOCAL_HELP: Partial<Record<(typeof FLAG_SETTINGS)[number], string>> = {
  concurrency: "S3 requests in flight at once, per partition.",
  partitions: "Key ranges synced side by side (local runs: one is fastest, see bench/RESULTS.md).",
  timeBudgetSeconds: "Seconds one pass over a partition runs before it saves its place and goes on.",
  startAfter: "Sync only keys after this one (relative to the source prefix, in UTF-8 byte order).",
};

/** Byte settings' defaults as people read them (`64 MiB`, not 67108864). */
const BYTE_SETTINGS = new Set<string>(["partSizeBytes", "multipartThresholdBytes"]);

/** A setting's flag as commander declares it: `--mode <backup|mirror|two-way>`, `--dry-run`. */
function flagOption(name: (typeof FLAG_SETTINGS)[number]): Option {
  const declared = flagSetting(name);
  const description = LOCAL_HELP[name] ?? declared.description;
  const type = textType(declared);
  if (type === "boolean") return new Option(flagOf(name), description);
  const options = (declared.schema as { options?: readonly string[] }).options;
  const value = options ? options.join("|") : type === "integer" ? (BYTE_SETTINGS.has(name) ? "bytes" : "n") : "value";
  const fallback = declared.localDefault ?? declared.default;
  if (fallback === undefined) return new Option(`${flagOf(name)} <${value}>`, description);
  const shown = BYTE_SETTINGS.has(name) && typeof fallback === "number" ? `${fallback} = ${fallback / 2 ** 20} MiB` : String(fallback);
  return new Option(`${flagOf(name)} <${value}>`, `${description} (default: ${shown})`);
}

/**
 * Flags of `aws s3 sync` and rclone that mean the same here, accepted under their names; hidden
 * from the help, which shows each idea once.
 */
function compatibleOptions(): Option[] {
  return [
    new Option("--delete", "aws s3 sync: delete extra objects, i.e. --mode mirror").hideHelp(),
    new Option("--endpoint-url <url>", "aws: --endpoint").hideHelp(),
    new Option("--dryrun", "aws: --dry-run").hideHelp(),
    new Option("-n", "rclone: --dry-run").hideHelp(),
    new Option("--transfers <n>", "rclone: --concurrency").hideHelp(),
  ];
}

/**
 * Flags of `aws s3 sync` and rclone whose meaning differs here: refused with what to use instead,
 * rather than left to a guess at the closest name.
 */
export const DIFFERENT_FLAGS: Record<string, string> = {
  "--size-only": "bucket-sync compares sizes, ETags and metadata, never sizes alone; drop --size-only",
  "--exact-timestamps": "bucket-sync compares content and metadata, not timestamps; drop --exact-timestamps",
  "--checksum": "bucket-sync already compares content (ETags, checksums where both sides keep them); drop --checksum",
  "--storage-class": "set the storage class in the request (storageClass) or the stack config; the CLI has no flag for it",
  "--acl": "bucket-sync copies no ACLs (buckets with ACLs disabled are the S3 default); drop --acl",
  "--sse": "written objects take the destination bucket's default encryption; drop --sse",
  "--progress": "progress is shown by default; --no-progress hides it",
  "-P": "progress is shown by default; --no-progress hides it",
};

/** How `sync` exits (cli/exitCodes.ts), at the end of its help. */
const EXIT_HELP = `
Exit codes:
  0  the run succeeded (a dry run too)
  1  the run failed or was refused (objects failed, deletes over --max-deletes not approved)
  2  bad input: a usage error, an invalid value, a bucket or report location that does not exist
  130  interrupted (Ctrl-C): what was copied stays; run again to resume
`;

/**
 * The flags' values as request fields: each checked by its declaration, a problem naming the
 * flag as typed; an absent flag takes the setting's local default, else the request's own. With
 * `--stack`, an absent flag is absent from the request, which then takes the stack's value, as a
 * request to the deployed machine does.
 */
export function settingsFromFlags(options: SyncOptions): Partial<SyncRequest> {
  const fields: Record<string, unknown> = {};
  for (const name of FLAG_SETTINGS) {
    const declared = flagSetting(name);
    const given = options[name];
    if (given === undefined) {
      if (declared.localDefault !== undefined && options.stack === undefined) fields[name] = declared.localDefault;
      continue;
    }
    const value = typeof given === "string" ? fromText(declared, given) : given;
    const result = parseSetting(declared, value, "text");
    if (!result.ok) throw new Error(requestMessage(flagOf(name), given, result.problem));
    fields[name] = value;
  }
  if (options.filters !== undefined && options.filters.length > 0) {
    const result = parseSetting(SYNC_SETTINGS.filters, options.filters, "text");
    if (!result.ok) throw new Error(requestMessage("--exclude/--include", options.filters, result.problem));
    fields.filters = options.filters;
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

/**
 * `--exclude PATTERN` and `--include PATTERN`, repeatable, collected in the order typed into one
 * list (the `filters` setting): the order decides, so two lists of their own would lose it.
 */
function filterOptions(collected: string[]): Option[] {
  const kinds = [
    ["exclude", "leave out keys matching PATTERN (relative to the source prefix; * matches any characters, / included); repeatable"],
    ["include", "take back keys matching PATTERN that an earlier --exclude left out; repeatable, the last matching filter decides"],
  ] as const;
  return kinds.map(([kind, description]) =>
    new Option(`--${kind} <pattern>`, description).argParser((pattern: string) => {
      collected.push(`${kind} ${pattern}`);
      return collected;
    }),
  );
}

export function registerSync(program: Command): void {
  const filters: string[] = [];
  const [excludeOption, includeOption] = filterOptions(filters);
  const compatible = compatibleOptions();
  program
    .command("sync")
    .description(SUBCOMMANDS["sync"])
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
    .addOption(excludeOption)
    .addOption(includeOption)
    .addOption(compatible[0])
    .addOption(compatible[1])
    .addOption(compatible[2])
    .addOption(compatible[3])
    .addOption(compatible[4])
    .option("--report-to <s3url|dir>", "where to write the JSON/HTML report (default: a local directory, printed after the run)")
    .option("--approve-deletes", "approve deletes above --max-deletes instead of failing")
    .option(
      "--stack <stack>",
      "act as that stack's deployed machine (Pulumi.<stack>.yaml): refuse a request over its ceiling, absent settings take its values, and with --enforce-iam run as its roles (default: unconstrained)",
    )
    .option("--json", "print the report as JSON on stdout")
    .option("-v, --verbose", "print a line per object copied or deleted (on stderr with --json)")
    .option(
      "--enforce-iam",
      "run each handler as the role the stack deploys (--stack, default prod), refusing what its IAM would refuse on AWS (needs an IAM evaluator add-on; without it the error names the install command)",
    )
    .option("--no-progress", "no progress line on stderr")
    .option("-q, --quiet", "print nothing but errors (no progress, no summary)")
    .option("--profile <name>", "the AWS profile to take credentials from (as AWS_PROFILE; the region comes from AWS_REGION)")
    .addHelpText("after", EXIT_HELP)
    .exitOverride(exitOnUsageError)
    .configureOutput({
      // A flag of aws s3 sync or rclone that means something else here gets its own advice.
      outputError: (text, write) => {
        const flag = /unknown option '([^'=]+)/.exec(text)?.[1];
        write(flag !== undefined && DIFFERENT_FLAGS[flag] !== undefined ? `error: ${flag} is not a bucket-sync option: ${DIFFERENT_FLAGS[flag]}\n` : text);
      },
    })
    .action(async (source: string | undefined, destination: string | undefined, options: SyncOptions) => {
      let folded: SyncOptions;
      try {
        folded = foldCompatibleFlags({ ...options, filters });
      } catch (err) {
        console.error(`bucket-sync sync: ${(err as Error).message}`);
        process.exitCode = EXIT.badInput;
        return;
      }
      // The SDK's default credential chain reads the profile from AWS_PROFILE.
      if (folded.profile !== undefined) process.env.AWS_PROFILE = folded.profile;
      process.exitCode = await runSync(folded, source, destination);
    });
}

async function runSync(options: SyncOptions, sourceArgument?: string, destinationArgument?: string): Promise<number> {
  let request: SyncRequest;
  let report: ReturnType<typeof reportLocation>;
  let endpoint: string | undefined;
  let requestCeiling: RequestCeiling | undefined;
  let dryRun = false;
  try {
    request = {
      source: parseS3Url(locationArgument(sourceArgument, options.source, "source"), sourceArgument === undefined ? "--source" : "SOURCE"),
      destination: parseS3Url(
        locationArgument(destinationArgument, options.destination, "destination"),
        destinationArgument === undefined ? "--destination" : "DESTINATION",
      ),
      ...settingsFromFlags(options),
    };
    if (options.stack !== undefined) {
      const { stackCeiling } = await import("./stackCeiling");
      requestCeiling = stackCeiling(options.stack, { source: request.source.bucket, destination: request.destination.bucket });
    }
    const { validateRequest } = await import("../handlers/engine/validation");
    // bad input, or a request over the stack's ceiling, fails here, naming each problem, before any S3 call
    const job = validateRequest(request, requestCeiling);
    dryRun = job.dryRun;
    checkModeFlags(options, job.mode);
    report = reportLocation(options);
    endpoint = endpointUrl(options.endpoint);
  } catch (err) {
    const problems = (err as { problems?: unknown }).problems;
    if (options.stack !== undefined && Array.isArray(problems)) {
      console.error(`bucket-sync sync: stack "${options.stack}" would refuse this request:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    } else {
      console.error(`bucket-sync sync: ${(err as Error).message}`);
    }
    return EXIT.badInput;
  }
  let iam: import("../local-stepfunctions/iam").IamEnforcement | undefined;
  if (options.enforceIam) {
    try {
      const { loadStackIam } = await import("./stackIam");
      const stack = await loadStackIam(options.stack ?? "prod");
      iam = stack.iam;
      console.error(
        `enforcing the IAM of stack ${stack.stack}: its roles may sync s3://${stack.buckets.source}/ into s3://${stack.buckets.destination}/ (reports in s3://${stack.buckets.reports}/)`,
      );
    } catch (err) {
      console.error(`bucket-sync sync: ${(err as Error).message}`);
      return EXIT.badInput;
    }
  } else if (process.env[ENFORCE_IAM_ENV] === "1") {
    // The suite's CLI specs: every run as the roles of a stack syncing exactly these locations.
    const { locationsIam } = await import("./stackIam");
    iam = await locationsIam({ source: request.source, destination: request.destination, reports: report, mode: request.mode });
  }
  return runRequest(request, options, report, endpoint, "sync", { requestCeiling, iam });
}

/** What a run of a validated request reads from its command's options. */
export type RunOptions = Pick<SyncOptions, "json" | "verbose" | "approveDeletes" | "quiet" | "progress">;

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
  stack: { requestCeiling?: RequestCeiling; iam?: import("../local-stepfunctions/iam").IamEnforcement } = {},
): Promise<number> {
  const { requestCeiling, iam } = stack;
  const dryRun = request.dryRun ?? false;
  const { ENDPOINT_UNREACHABLE, REPORT_LOCATION_UNWRITABLE, runLocalSync } = await import("./localSync");
  const { createProgress, humanBytes, ProgressTally } = await import("./progress");
  const quiet = options.quiet ?? false;
  const progress = quiet || options.progress === false ? silentProgress(new ProgressTally()) : createProgress(process.stderr, { dryRun: request.dryRun });
  if (!quiet && request.mode === "mirror" && !request.dryRun) {
    // A run that deletes says so before it starts.
    const limit = request.maxDeletes ?? SYNC_SETTINGS.maxDeletes.default;
    console.error(
      `mirror: objects in ${s3Url(request.destination)} that are not in ${s3Url(request.source)} will be deleted (at most --max-deletes ${limit} without --approve-deletes)`,
    );
  }
  let observe = progress.observe;
  if (options.verbose) {
    const { keyLine } = await import("./keyLines");
    const out = options.json ? process.stderr : process.stdout;
    const sides = { source: request.source as Required<Location>, destination: request.destination as Required<Location>, dryRun };
    observe = (event) => {
      progress.observe(event);
      const line = keyLine(event, sides);
      if (line !== undefined) progress.interrupt(() => out.write(`${line}\n`));
    };
  }
  // Ctrl-C: every copy is a whole object written by S3 or none, and the next run compares before
  // copying, so stopping now loses nothing; say what was done and how to go on.
  process.once("SIGINT", () => {
    progress.stop();
    const counts = progress.counts?.();
    const done = counts ? `${counts.copied.toLocaleString("en-US")} objects (${humanBytes(counts.transferredBytes)}) copied so far` : "what was copied stays";
    const deleted = counts && counts.deleted > 0 ? `, ${counts.deleted.toLocaleString("en-US")} deleted` : "";
    console.error(`cancelled: ${done}${deleted}; run again to resume`);
    process.exit(EXIT.interrupted);
  });
  const result = await runLocalSync({
    request,
    requestCeiling,
    endpoint,
    report,
    approve: async () => options.approveDeletes ?? false,
    progress: { observe, summarized: progress.summarized, planned: progress.planned },
    iam,
  });
  progress.stop();
  if (result.error === REPORT_LOCATION_UNWRITABLE) {
    // nothing ran: one line that says what to change, not a summary of zeros
    if (options.json) printResult(result, true);
    else console.error(`bucket-sync sync: ${result.cause}`);
    return EXIT.badInput;
  }
  if (result.error === ENDPOINT_UNREACHABLE && !options.json) {
    // nothing ran: one line, not a summary of zeros with a cost
    console.error(`bucket-sync ${command}: ${causeMessage(result.cause)}`);
    return EXIT.failed;
  }
  if (quiet && !options.json) {
    if (result.status !== "SUCCEEDED") console.error(`bucket-sync ${command}: ${failureMessage(result)}`);
  } else {
    printResult(result, options.json ?? false, progress.counts?.(), command);
  }
  const verdict = dryRunVerdict(result.summary);
  if (verdict !== undefined && !options.json && !quiet) console.log(verdict);
  if (result.status === "SUCCEEDED") return EXIT.ok;
  return result.error === "ValidationError" ? EXIT.badInput : EXIT.failed;
}

/** Each figure to a millionth of a dollar. */
function roundedUsd<T extends Record<string, number>>(cost: T): T {
  return Object.fromEntries(Object.entries(cost).map(([name, usd]) => [name, Math.round(usd * 1e6) / 1e6])) as T;
}

/** `s3://bucket/prefix`. */
function s3Url(location: Location): string {
  return `s3://${location.bucket}/${location.prefix ?? ""}`;
}

/** Progress that shows nothing (--quiet, --no-progress) but keeps count (for Ctrl-C). */
function silentProgress(tally: import("./progress").ProgressTally): import("./progress").Progress {
  return {
    observe: (event) => tally.observe(event),
    summarized: (summary) => tally.summarized(summary),
    planned: (partitions) => tally.planned(partitions),
    counts: () => tally.snapshot(),
    interrupt: (write) => write(),
    stop: () => undefined,
  };
}

/** The `--json` document: what the run did, what it cost, where the report is. */
export function resultDocument(result: LocalSyncResult) {
  const stats: Partial<SyncStats> = result.summary?.stats ?? {};
  return {
    status: result.status,
    error: result.error,
    // The message alone: a Lambda error's Cause also holds its stack trace, with install paths.
    cause: result.cause === undefined ? undefined : causeMessage(result.cause),
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
    /**
     * The delete guard's verdict for this request run for real: a dry run's `deleteDecision` is
     * "no-deletes" (it deletes nothing), so a CI gate reads this one (`over-limit`: the real run
     * stops unless its deletes are approved).
     */
    deleteVerdict: result.summary ? realRunDeleteDecision(result.summary) : undefined,
    deleteVerdictText: dryRunVerdict(result.summary),
    failures: result.summary?.failures ?? [],
    stateTransitions: result.transitions,
    durationMs: Math.round(result.durationMs),
    // Rounded to a millionth of a dollar: sums of list prices are not exact in binary (0.00032500000000000004).
    estimatedCostUsd: roundedUsd(result.estimatedCostUsd),
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
  return `${outcome}: ${counts.join(", ")}; ${formatBytes(doc.bytes)}; ${doc.stateTransitions} state transitions (~${formatUsd(doc.estimatedCostUsd.total)} on AWS); ${(doc.durationMs / 1000).toFixed(1)} s`;
}

/** What a user reads about conflicts: how many keys changed on both sides and that nothing overwrote them. */
export function conflictLine(doc: ReturnType<typeof resultDocument>): string | undefined {
  if (doc.conflicts === 0) return undefined;
  const left = doc.conflicts === 1 ? `${doc.dryRun ? "would be" : "was"} left as it is` : `${doc.dryRun ? "would be" : "were"} left as they are`;
  const keys = doc.conflicts === 1 ? "1 key" : `${doc.conflicts} keys`;
  return `conflicts: ${keys} changed on both sides ${left} (--conflict-policy report); the report lists them with the newer side`;
}

function printResult(result: LocalSyncResult, json: boolean, sofar?: import("./progress").ProgressCounts, command = "sync"): void {
  const doc = resultDocument(result);
  if (json) {
    console.log(JSON.stringify(doc, null, 2));
  } else if (result.summary || result.status === "SUCCEEDED") {
    // A run that failed before its summary (a bucket that does not exist) has no counts to show:
    // its one error line says it all, without a "FAILED: copied 0" before it.
    console.log(summaryLine(doc));
    const conflicts = conflictLine(doc);
    if (conflicts) console.log(conflicts);
    if (doc.report) console.log(`report: ${reportPath(doc.report)}`);
    if (doc.report?.changesKey) {
      const where = doc.report.bucket === "" ? doc.report.changesKey : `s3://${doc.report.bucket}/${doc.report.changesKey}`;
      console.log(`changes: ${where} (${doc.report.changeCount ?? 0} listed, in key order)`);
    }
  } else if (sofar !== undefined && sofar.done > 0) {
    // Failed mid-run, before its summary: the true counts are those the progress kept.
    const n = (x: number) => x.toLocaleString("en-US");
    const deleted = sofar.deleted > 0 ? `, deleted ${n(sofar.deleted)}` : "";
    console.log(
      `FAILED: ${doc.dryRun ? "would copy" : "copied"} ${n(sofar.copied)} (${formatBytes(sofar.transferredBytes)})${deleted}, failed ${n(sofar.failed)}, of ${n(sofar.done)} objects checked before the run stopped; run again to resume`,
    );
  }
  if (result.status !== "SUCCEEDED") console.error(`bucket-sync ${command}: ${failureMessage(result)}`);
}

/** Why a run failed, in a user's words where the CLI knows them better than the state machine. */
export function failureMessage(result: LocalSyncResult): string {
  if (result.error === DELETES_DENIED && result.summary) return refusalMessage(result.summary);
  const message = causeMessage(result.cause);
  // Our own errors' messages say what to change; an S3 error keeps its code at the end, for searching.
  if (result.error === "ValidationError" || result.error?.startsWith("BucketSync.") || message.includes(result.error ?? "")) return message;
  return `${message} (${result.error})`;
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
