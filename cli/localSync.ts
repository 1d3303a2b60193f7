/**
 * A sync run on this machine: the state machine definition the Pulumi program deploys, run by
 * the local interpreter, its Lambda tasks dispatched to the handlers, against any S3-compatible
 * endpoint. What the CLI's `sync` and `demo` commands run.
 */
import type { ReportLocation, SyncRequest, SyncSummary, WriteReportInput } from "../model/contract";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createHandlers } from "../handlers/index";
import { buildReport, writeReport } from "../handlers/engine/report";
import { renderHtml, type RunFacts } from "../handlers/engine/reportPage";
import { phaseFolder, recordPath, type RunRecords } from "../handlers/engine/runRecords";
import { createS3Client, type S3Compatibility } from "../handlers/engine/s3Client";
import type { RangeEvent } from "../handlers/engine/syncRange";
import { buildDefinition } from "../infra/definition";
import { type LocalRunResult, localFunctionArns, runLocally } from "../local-stepfunctions/runner";

/** The topic ARN the local definition is built with; its messages are kept in the result. */
export const LOCAL_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:bucket-sync-notifications";

export interface LocalSyncOptions {
  request: SyncRequest;
  /** S3-compatible endpoint; absent for AWS. */
  endpoint?: string;
  compatibility?: S3Compatibility;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  /**
   * Where write-report stores the report: a bucket and prefix on the endpoint, or a directory on
   * this machine (`<directory>/<execution>/report.{json,html}`), which nothing syncs as data.
   */
  report: { bucket: string; prefix: string } | { directory: string };
  /** Answers a delete-approval request. @default deny */
  approve?: (request: { message: unknown }) => Promise<boolean>;
  /** Every interpreter event. */
  onEvent?: (event: unknown) => void;
  /** Progress: told of each partition's work key by key, and of each phase's summary. */
  progress?: {
    observe(event: RangeEvent): void;
    summarized?(summary: SyncSummary): void;
  };
  /** Most partitions synced at once. @default 16 */
  maxConcurrency?: number;
  /** The one location a restore may write, as a deployed restore role's grant. @default any */
  restoreTarget?: { bucket: string; prefix?: string };
}

/** The outcome of a local run: the interpreter's result plus the final summary and report. */
export interface LocalSyncResult extends LocalRunResult {
  summary?: SyncSummary;
  report?: ReportLocation;
  /** Partitions planned (absent when the run failed before planning). */
  partitions?: number;
}

/** Runs one sync through the generated state machine on this machine. */
export async function runLocalSync(options: LocalSyncOptions): Promise<LocalSyncResult> {
  const functionArns = localFunctionArns();
  const definition = buildDefinition({
    functionArns,
    notificationTopicArn: LOCAL_TOPIC_ARN,
    maxConcurrency: options.maxConcurrency,
  });
  const client = createS3Client({
    endpoint: options.endpoint,
    compatibility: options.compatibility,
    credentials: options.credentials,
    region: options.region,
  });
  // The first contact with the endpoint (validate-input's bucket check) gives up quickly: a wrong
  // --endpoint or a server that is not running should fail in about a second, not after the
  // client's eight attempts with backoff. Later steps keep the patient client.
  const firstContact = createS3Client({
    endpoint: options.endpoint,
    compatibility: options.compatibility,
    credentials: options.credentials,
    region: options.region,
    maxAttempts: 2,
    connectionTimeoutMs: 1000,
  });
  const reportTo = options.report;
  const observe = options.progress && ((event: RangeEvent) => options.progress?.observe(event));
  // Partition results are kept where the report goes (see handlers/engine/runRecords.ts).
  const handlers = createHandlers(
    "bucket" in reportTo
      ? { client, observe, reportBucket: reportTo.bucket, reportPrefix: reportTo.prefix }
      : { client, observe, records: directoryRunRecords(reportTo.directory) },
  );
  let summary: SyncSummary | undefined;
  let report: ReportLocation | undefined;
  let planned: number | undefined;
  let reportInput: WriteReportInput | undefined;
  const phases = new PhaseClock("Validate and plan");
  const approve = options.approve ?? (async () => false);
  const validateInput = createHandlers({ client: firstContact, restoreTarget: options.restoreTarget })["validate-input"];
  const tracked = {
    ...handlers,
    async "validate-input"(event: Parameters<typeof validateInput>[0]) {
      try {
        return await validateInput(event);
      } catch (err) {
        throw unreachable(err) ? endpointUnreachable(options.endpoint, err) : err;
      }
    },
    async "plan-partitions"(event: Parameters<(typeof handlers)["plan-partitions"]>[0]) {
      const partitions = await handlers["plan-partitions"](event);
      planned = partitions.length;
      phases.enter("List, compare and copy");
      return partitions;
    },
    async "sync-range"(event: Parameters<(typeof handlers)["sync-range"]>[0]) {
      if (event.phase === "delete") phases.enter("Delete");
      const result = await handlers["sync-range"](event);
      return result;
    },
    async summarize(event: Parameters<typeof handlers.summarize>[0]) {
      phases.enter("Summarize");
      summary = await handlers.summarize(event);
      options.progress?.summarized?.(summary);
      return summary;
    },
    async "write-report"(event: Parameters<(typeof handlers)["write-report"]>[0]) {
      phases.enter("Report");
      reportInput = event;
      report = "bucket" in reportTo ? await handlers["write-report"](event) : await writeLocalReport(reportTo.directory, event);
      return report;
    },
  };
  try {
    const result = await runLocally({
      definition,
      functionArns,
      handlers: tracked,
      input: options.request,
      // buildDefinition's output is checked by asl-validator in tests/unit/definition.test.ts; checking
      // it again here would add 0.3–0.6 s to every run. The faithfulness check still runs.
      validate: false,
      approve: async (request) => {
        phases.enter("Delete approval");
        return approve(request);
      },
      onEvent: options.onEvent,
    });
    if (reportInput && report) {
      // The report was written during the run, before its end was known: write it again with
      // what the whole run measured, so the page and the CLI show the same figures.
      const run: RunFacts = {
        // Rounded as the CLI prints it, so the page and the --json document agree to the millisecond.
        durationMs: Math.round(result.durationMs),
        phases: phases.finish(),
        stateTransitions: result.transitions,
        estimatedCostUsd: result.estimatedCostUsd,
        // How close the run came to the platform's limits (see local-stepfunctions/runner.ts).
        limits: { partitions: planned ?? 0, ...result.limits },
      };
      report =
        "bucket" in reportTo
          ? await writeReport(client, { bucket: reportTo.bucket, prefix: reportTo.prefix }, reportInput, run)
          : await writeLocalReport(reportTo.directory, reportInput, run);
    }
    return { ...result, summary, report, partitions: planned };
  } finally {
    client.destroy();
    firstContact.destroy();
  }
}

/** The error of a local run whose endpoint cannot be reached; the CLI prints its message alone. */
export const ENDPOINT_UNREACHABLE = "BucketSync.EndpointUnreachable";

/** Node's codes for a connection that could not be made, and the SDK's connection timeout. */
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"]);

function unreachable(err: unknown): boolean {
  const { code, name } = (err ?? {}) as { code?: string; name?: string };
  return (code !== undefined && CONNECTION_ERRORS.has(code)) || name === "TimeoutError";
}

function endpointUnreachable(endpoint: string | undefined, err: unknown): Error {
  const where = endpoint ?? "AWS S3";
  const error = new Error(`cannot reach ${where} (${(err as Error).message}): is the server running, and is the endpoint right?`);
  error.name = ENDPOINT_UNREACHABLE;
  return error;
}

/**
 * The write-report task's work with a local directory as its target: the same JSON and HTML as
 * the handler writes to S3. `bucket` is empty and the keys are absolute paths; `url` opens the
 * HTML page in a browser.
 */
async function writeLocalReport(directory: string, event: WriteReportInput, run?: RunFacts): Promise<ReportLocation> {
  const report = buildReport(event, new Date(), run);
  const folder = resolve(directory, report.execution);
  await mkdir(folder, { recursive: true });
  const jsonKey = join(folder, "report.json");
  const htmlKey = join(folder, "report.html");
  await Promise.all([writeFile(jsonKey, JSON.stringify(report, null, 2)), writeFile(htmlKey, renderHtml(report))]);
  return { bucket: "", jsonKey, htmlKey, url: pathToFileURL(htmlKey).href };
}

/**
 * Run records in a local directory, beside the local report: `<directory>/<run>/partitions/...`,
 * the same layout as in a bucket. Written to a temporary name and renamed, so a reader never sees
 * half a record.
 */
export function directoryRunRecords(directory: string): RunRecords {
  return {
    async put(run, result) {
      const path = resolve(directory, recordPath(run, result.phase, result.partition.id));
      await mkdir(resolve(path, ".."), { recursive: true });
      await writeFile(`${path}.tmp`, JSON.stringify(result));
      await rename(`${path}.tmp`, path);
    },
    async list(run, phase) {
      const folder = resolve(directory, phaseFolder(run, phase));
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
      return Promise.all(
        names.filter((name) => name.endsWith(".json")).map(async (name) => JSON.parse(await readFile(join(folder, name), "utf8"))),
      );
    },
  };
}

/**
 * Wall time per phase of a run, from the moments the handlers see: a phase lasts until the next
 * one is entered. A phase entered again (each partition's first delete call, the second
 * summary) adds to its earlier time, so each name appears once, in the order first entered.
 */
class PhaseClock {
  private readonly totals = new Map<string, number>();
  private current: string;
  private since = performance.now();

  constructor(first: string) {
    this.current = first;
  }

  enter(name: string): void {
    if (name === this.current) return;
    this.close();
    this.current = name;
  }

  /** Every phase with its time, the current one up to now. */
  finish(): Array<{ name: string; ms: number }> {
    this.close();
    return [...this.totals].map(([name, ms]) => ({ name, ms: Math.round(ms) }));
  }

  private close(): void {
    const now = performance.now();
    this.totals.set(this.current, (this.totals.get(this.current) ?? 0) + (now - this.since));
    this.since = now;
  }
}
