/**
 * `bucket-sync restore`: brings a location back as it was at a time, from a versioned backup.
 * The same request as the deployed machine takes (`mode: "restore"`, `asOf`), run through the
 * same state machine locally: the versions current at `--as-of` are copied by version id into
 * `--to`; with `--delete`, keys that did not exist then are deleted (within --max-deletes).
 */
import { type Command, Option } from "commander";
import type { SyncRequest } from "../model/contract";
import { fromText, parseSetting, requestMessage, type Setting, SYNC_SETTINGS } from "../model/settings";
import { endpointUrl } from "./endpoint";
import { EXIT, exitOnUsageError } from "./exitCodes";
import { parseS3Url } from "./s3Url";
import { ENFORCE_IAM_ENV } from "./stackIam";
import { reportLocation, runRequest } from "./sync";

interface RestoreOptions {
  from: string;
  to: string;
  asOf: string;
  prefix?: string;
  dryRun?: boolean;
  delete?: boolean;
  approveOverwrite?: boolean;
  maxDeletes?: string;
  approveDeletes?: boolean;
  concurrency?: string;
  endpoint?: string;
  reportTo?: string;
  json?: boolean;
  verbose?: boolean;
}

/** The request a restore command line stands for; throws naming the flag at fault. */
export function restoreRequest(options: RestoreOptions): SyncRequest {
  const from = parseS3Url(options.from, "--from");
  const to = parseS3Url(options.to, "--to");
  const prefix = options.prefix ?? "";
  const request: SyncRequest = {
    source: { bucket: from.bucket, prefix: from.prefix + prefix },
    destination: { bucket: to.bucket, prefix: to.prefix + prefix },
    mode: "restore",
    asOf: options.asOf,
    dryRun: options.dryRun ?? false,
    delete: options.delete ?? false,
    approveOverwrite: options.approveOverwrite ?? false,
    partitions: SYNC_SETTINGS.partitions.localDefault as number,
    concurrency: SYNC_SETTINGS.concurrency.localDefault as number,
  };
  for (const [flag, name, given] of [
    ["--max-deletes", "maxDeletes", options.maxDeletes],
    ["--concurrency", "concurrency", options.concurrency],
  ] as const) {
    if (given === undefined) continue;
    const declared: Setting = SYNC_SETTINGS[name];
    const value = fromText(declared, given);
    const result = parseSetting(declared, value, "text");
    if (!result.ok) throw new Error(requestMessage(flag, given, result.problem));
    (request as unknown as Record<string, unknown>)[name] = value;
  }
  if (options.maxDeletes !== undefined && !options.delete) throw new Error("--max-deletes applies to --delete only");
  return request;
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description("restore a location as it was at a time, from a versioned backup, by running the state machine locally")
    .requiredOption("--from <s3url>", "the versioned backup, s3://bucket[/prefix]")
    .requiredOption("--to <s3url>", "where to restore, s3://bucket[/prefix]: the backup itself, another bucket or another prefix")
    .requiredOption("--as-of <time>", SYNC_SETTINGS.asOf.description)
    .option("--prefix <prefix>", "restore only keys under this prefix (relative to --from and --to)")
    .addOption(new Option("--dry-run", "plan and report, write nothing"))
    .option("--delete", SYNC_SETTINGS.delete.description)
    .option("--approve-overwrite", SYNC_SETTINGS.approveOverwrite.description)
    .option("--max-deletes <limit>", `${SYNC_SETTINGS.maxDeletes.description} (default: ${String(SYNC_SETTINGS.maxDeletes.default)})`)
    .option("--approve-deletes", "approve deletes above --max-deletes instead of failing")
    .option("--concurrency <n>", SYNC_SETTINGS.concurrency.description)
    .option("--endpoint <url>", "S3-compatible endpoint (default: $AWS_ENDPOINT_URL, else AWS)")
    .option("--report-to <s3url|dir>", "where to write the JSON/HTML report (default: a local directory, printed after the run)")
    .option("--json", "print the report as JSON on stdout")
    .option("-v, --verbose", "print a line per object restored or deleted (on stderr with --json)")
    .exitOverride(exitOnUsageError)
    .action(async (options: RestoreOptions) => {
      process.exitCode = await runRestore(options);
    });
}

async function runRestore(options: RestoreOptions): Promise<number> {
  let request: SyncRequest;
  let report: ReturnType<typeof reportLocation>;
  let endpoint: string | undefined;
  try {
    request = restoreRequest(options);
    const { validateRequest } = await import("../handlers/engine/validation");
    validateRequest(request); // bad input fails here, naming the problem, before any S3 call
    report = reportLocation(options);
    endpoint = endpointUrl(options.endpoint);
  } catch (err) {
    console.error(`bucket-sync restore: ${(err as Error).message}`);
    return EXIT.badInput;
  }
  // The suite's CLI specs (BUCKET_SYNC_ENFORCE_IAM): the run acts as the restore role the stack deploys.
  const iam =
    process.env[ENFORCE_IAM_ENV] === "1"
      ? await (await import("./stackIam")).restoreIam({ backup: request.source, target: request.destination, reports: report })
      : undefined;
  return runRequest(request, options, report, endpoint, "restore", { iam });
}
