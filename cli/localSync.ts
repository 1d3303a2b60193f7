/**
 * A sync run on this machine: the state machine definition the Pulumi program deploys, run by
 * the local interpreter, its Lambda tasks dispatched to the handlers, against any S3-compatible
 * endpoint. What the CLI's `sync` and `demo` commands run.
 */
import type { PlanPartitionsInput, ReportLocation, RequestCeiling, SyncRequest, SyncSummary, WriteReportInput } from "../model/contract";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { deleteObjects } from "../handlers/engine/objects";
import { pathToFileURL } from "node:url";
import { createHandlers } from "../handlers/index";
import { CHANGE_LOG_FILE, type ChunkSource, mergeChangeChunks } from "../handlers/engine/changeLog";
import { buildReport, writeReport } from "../handlers/engine/report";
import { type ChangeLogFacts, renderHtml, type RunFacts } from "../handlers/engine/reportPage";
import { changeChunkPath, changesFolder, parsePlan, phaseFolder, planMissing, planPath, recordPath, type RunRecords, s3RunRecords } from "../handlers/engine/runRecords";
import type { ObjectStore } from "../local-stepfunctions/emulation";
import { createS3Client, type S3Compatibility } from "../handlers/engine/s3Client";
import type { RangeEvent } from "../handlers/engine/syncRange";
import { buildDefinition } from "../infra/definition";
import { DATA_LIMIT_BYTES } from "../local-stepfunctions/emulation";
import { HISTORY_EVENTS_LIMIT, type LocalRunResult, localFunctionArns, runLocally } from "../local-stepfunctions/runner";
import { attachIamEnforcement, type IamEnforcement } from "../local-stepfunctions/iam";

/** The topic ARN the local definition is built with; its messages are kept in the result. */
export const LOCAL_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:bucket-sync-notifications";

export interface LocalSyncOptions {
  request: SyncRequest;
  /** A stack's ceiling, which validate-input applies as the deployed one does. @default none: unconstrained */
  requestCeiling?: RequestCeiling;
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
    /** The run planned this many partitions (progress says "listing…" until each is listed). */
    planned?(partitions: number): void;
  };
  /** Most partitions synced at once. @default 16 */
  maxConcurrency?: number;
  /**
   * Runs each handler as the role the stack deploys, and the machine as its role
   * (local-stepfunctions/iam.ts). @default none: the endpoint's own credentials decide
   */
  iam?: IamEnforcement;
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
  // Under a stack's IAM, the definition names that stack's functions and topic, which its
  // machine's role is scoped to.
  const functionArns = options.iam?.model.roles.functionArns ?? localFunctionArns();
  const definition = buildDefinition({
    functionArns,
    notificationTopicArn: options.iam?.model.roles.notificationTopicArn ?? LOCAL_TOPIC_ARN,
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
  if (options.iam) [client, firstContact].forEach((c) => attachIamEnforcement(c));
  const reportTo = options.report;
  const observe = options.progress && ((event: RangeEvent) => options.progress?.observe(event));
  // Partition results are kept where the report goes (see handlers/engine/runRecords.ts).
  const handlers = createHandlers(
    "bucket" in reportTo
      ? {
          client,
          observe,
          reportBucket: reportTo.bucket,
          reportPrefix: reportTo.prefix,
          records: locatedRecords(s3RunRecords(client, reportTo), reportLocationText(reportTo)),
        }
      : { client, observe, records: locatedRecords(directoryRunRecords(reportTo.directory), reportTo.directory) },
  );
  let summary: SyncSummary | undefined;
  let report: ReportLocation | undefined;
  let planned: number | undefined;
  let reportInput: WriteReportInput | undefined;
  let changeLog: ChangeLogFacts | undefined;
  const phases = new PhaseClock("Validate and plan");
  // Named here, so the run's records can be found again if it ends before its report.
  const executionName = `local-${randomUUID()}`;
  const approve = options.approve ?? (async () => false);
  const validateInput = createHandlers({ client: firstContact, requestCeiling: options.requestCeiling, restoreTarget: options.restoreTarget })["validate-input"];
  const tracked = {
    ...handlers,
    async "validate-input"(event: Parameters<typeof validateInput>[0]) {
      try {
        return await validateInput(event);
      } catch (err) {
        throw contactError(options.endpoint, err) ?? err;
      }
    },
    async "plan-partitions"(event: PlanPartitionsInput & { run: string }) {
      const plan = await handlers["plan-partitions"](event);
      planned = plan.partitions;
      options.progress?.planned?.(planned);
      phases.enter("List, compare and copy");
      return plan;
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
      if (report.changeCount !== undefined) changeLog = { file: CHANGE_LOG_FILE, lines: report.changeCount };
      return report;
    },
  };
  try {
    // The report location is checked before anything is copied: a run that cannot keep its
    // records and report would copy everything and then fail without saying what it did.
    const unwritable = await reportLocationProblem(firstContact, reportTo, executionName, options.request, options.endpoint);
    if (unwritable) {
      return {
        status: "FAILED",
        error: REPORT_LOCATION_UNWRITABLE,
        cause: unwritable,
        transitions: 0,
        handlerMs: 0,
        durationMs: 0,
        estimatedCostUsd: { transitions: 0, lambda: 0, total: 0 },
        notifications: [],
        limits: { maxStateBytes: 0, stateBytesLimit: DATA_LIMIT_BYTES, historyEvents: 0, historyEventsLimit: HISTORY_EVENTS_LIMIT },
      };
    }
    const result = await runLocally({
      definition,
      functionArns,
      handlers: tracked,
      input: options.request,
      // The copy Map reads the plan where plan-partitions wrote it: beside the report.
      objects: "bucket" in reportTo ? s3ObjectStore(client) : directoryObjectStore(reportTo.directory),
      executionName,
      // buildDefinition's output is checked by asl-validator in tests/unit/definition.test.ts; checking
      // it again here would add 0.3–0.6 s to every run. The faithfulness check still runs.
      validate: false,
      approve: async (request) => {
        phases.enter("Delete approval");
        return approve(request);
      },
      onEvent: options.onEvent,
      iam: options.iam,
    });
    if (!report && summary) {
      // The run ended after its copies were summarized but before its report (a mirror whose
      // deletes were refused, a failed delete phase): write the report of what it did, so the
      // records beside it are not orphans and the user can see the copies and planned deletes.
      const event = { summary, execution: { name: executionName } };
      reportInput = event;
      report = "bucket" in reportTo ? await handlers["write-report"](event) : await writeLocalReport(reportTo.directory, event);
      if (report.changeCount !== undefined) changeLog = { file: CHANGE_LOG_FILE, lines: report.changeCount };
    } else if (!report) {
      // Nothing to report on (the run failed before its summary): leave no records behind.
      await removeRunRecords(client, reportTo, executionName).catch(() => undefined);
    }
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
          ? await writeReport(client, { bucket: reportTo.bucket, prefix: reportTo.prefix }, reportInput, run, changeLog)
          : await writeLocalReport(reportTo.directory, reportInput, run, changeLog);
    }
    return { ...result, summary, report, partitions: planned };
  } finally {
    client.destroy();
    firstContact.destroy();
  }
}

/** The error of a local run whose report location cannot be written; nothing ran. */
export const REPORT_LOCATION_UNWRITABLE = "BucketSync.ReportLocationUnwritable";

/** `s3://bucket/prefix` or the directory, as the user named it. */
export function reportLocationText(location: LocalSyncOptions["report"]): string {
  return "bucket" in location ? `s3://${location.bucket}/${location.prefix}` : location.directory;
}

/**
 * Why the report location cannot take this run's records and report, or undefined when it can.
 * S3: HeadBucket, then a small PutObject of the run's request (`<run>/request.json`, kept with the
 * report). A directory: created, and the same file written into it.
 */
async function reportLocationProblem(
  client: S3Client,
  location: LocalSyncOptions["report"],
  run: string,
  request: SyncRequest,
  endpoint: string | undefined,
): Promise<string | undefined> {
  const where = reportLocationText(location);
  const body = JSON.stringify(request, null, 2);
  if ("directory" in location) {
    try {
      const folder = resolve(location.directory, run);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, "request.json"), body);
      return undefined;
    } catch (err) {
      const { code, message } = err as NodeJS.ErrnoException;
      return `cannot write reports to ${where} (${code ?? message}): give --report-to a directory you can write, or s3://bucket/prefix/`;
    }
  }
  try {
    await client.send(new HeadBucketCommand({ Bucket: location.bucket }));
    await client.send(
      new PutObjectCommand({ Bucket: location.bucket, Key: `${location.prefix}${run}/request.json`, Body: body, ContentType: "application/json" }),
    );
    return undefined;
  } catch (err) {
    // No credentials, a wrong scheme, a dead server: the run's first contact says so, naming the endpoint.
    if (contactError(endpoint, err)) return undefined;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const name = (err as Error).name;
    if (status === 404 || name === "NoSuchBucket" || name === "NotFound") {
      return `the report bucket "${location.bucket}" does not exist${endpoint ? ` at ${endpoint}` : ""} (--report-to ${where}): create it, or point --report-to at another bucket or a local directory`;
    }
    if (status === 403) {
      return `cannot write reports to ${where} (access denied): the run needs s3:PutObject there, or point --report-to at a local directory`;
    }
    return `cannot write reports to ${where} (${name}: ${(err as Error).message})`;
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

/**
 * The first contact's failures that are about reaching the store rather than the request, as one
 * line that says what to change: no credentials, https spoken to a plain-http server, a server
 * that is not there. Undefined for any other error.
 */
export function contactError(endpoint: string | undefined, err: unknown): Error | undefined {
  const where = endpoint ?? "AWS S3";
  const { name, code, message } = (err ?? {}) as { name?: string; code?: string; message?: string };
  let text: string | undefined;
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message ?? "")) {
    text = `no credentials for ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or --profile) to a profile in ~/.aws/credentials`;
  } else if (code === "EPROTO" || /wrong version number|packet length too long/i.test(message ?? "")) {
    const plain = endpoint?.replace(/^https:/i, "http:");
    text = `${where} does not speak TLS (EPROTO): it looks like a plain-http server; write the endpoint as ${plain ?? "http://host:port"}`;
  } else if (unreachable(err)) {
    return endpointUnreachable(endpoint, err);
  }
  if (text === undefined) return undefined;
  const error = new Error(text);
  error.name = ENDPOINT_UNREACHABLE;
  return error;
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
async function writeLocalReport(directory: string, event: WriteReportInput, run?: RunFacts, known?: ChangeLogFacts): Promise<ReportLocation> {
  const base = buildReport(event, new Date(), run);
  const execution = base.execution;
  const folder = resolve(directory, execution);
  await mkdir(folder, { recursive: true });
  const changesKey = join(folder, CHANGE_LOG_FILE);
  const changeLog = known ?? { file: CHANGE_LOG_FILE, lines: await writeLocalChangeLog(directory, execution, changesKey) };
  const report = { ...base, changeLog };
  const jsonKey = join(folder, "report.json");
  const htmlKey = join(folder, "report.html");
  await Promise.all([writeFile(jsonKey, JSON.stringify(report, null, 2)), writeFile(htmlKey, renderHtml(report))]);
  return { bucket: "", jsonKey, htmlKey, url: pathToFileURL(htmlKey).href, changesKey, changeCount: changeLog.lines };
}

/**
 * Merges a local run's change chunks into `changes.jsonl` (written to a temporary name and
 * renamed), then removes the chunks: the log holds every line they held. Returns the line count.
 */
async function writeLocalChangeLog(directory: string, execution: string, path: string): Promise<number> {
  const records = directoryRunRecords(directory);
  const chunks = await records.changeChunks(execution);
  const file = await open(`${path}.tmp`, "w");
  let lines: number;
  try {
    lines = await mergeChangeChunks(chunks, async (block) => void (await file.write(block)));
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
  await rm(resolve(directory, changesFolder(execution)), { recursive: true, force: true });
  return lines;
}

/**
 * Run records whose failures name the report location: a run that copied for an hour and then
 * could not keep a result says where it tried, not just an SDK error's name.
 */
function locatedRecords(records: RunRecords, where: string): RunRecords {
  const located =
    <A extends unknown[], R>(what: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (err) {
        const error = new Error(`${what} the report location ${where} failed: ${(err as Error).name}: ${(err as Error).message}`);
        error.name = (err as Error).name;
        throw error;
      }
    };
  return {
    putPlan: located("writing the run's plan to", records.putPlan),
    getPlan: located("reading the run's plan from", records.getPlan),
    put: located("writing a partition's result to", records.put),
    list: located("reading the partition results from", records.list),
    putChanges: located("writing changes to", records.putChanges),
    changeChunks: located("reading the changes from", records.changeChunks),
  };
}

/** Removes what a run kept beside its report (records, change chunks): for a run that wrote no report. */
async function removeRunRecords(client: S3Client, location: LocalSyncOptions["report"], run: string): Promise<void> {
  if ("directory" in location) {
    await rm(resolve(location.directory, run), { recursive: true, force: true });
    return;
  }
  const prefix = `${location.prefix}${run}/`;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    if (keys.length > 0) await deleteObjects(client, location.bucket, keys);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Run records in a local directory, beside the local report: `<directory>/<run>/partitions/...`,
 * the same layout as in a bucket. Written to a temporary name and renamed, so a reader never sees
 * half a record.
 */
export function directoryRunRecords(directory: string): RunRecords {
  return {
    async putPlan(run, partitions) {
      const key = planPath(run);
      const path = resolve(directory, key);
      await mkdir(resolve(path, ".."), { recursive: true });
      await writeFile(`${path}.tmp`, JSON.stringify(partitions));
      await rename(`${path}.tmp`, path);
      return { bucket: LOCAL_RECORDS_BUCKET, key, partitions: partitions.length };
    },
    async getPlan(location) {
      const text = await directoryObjectStore(directory).getObject(location.bucket, location.key);
      if (text === undefined) throw planMissing(location);
      return parsePlan(text, location);
    },
    async put(run, result) {
      const path = resolve(directory, recordPath(run, result.phase, result.partition.id));
      await mkdir(resolve(path, ".."), { recursive: true });
      await writeFile(`${path}.tmp`, JSON.stringify(result));
      await rename(`${path}.tmp`, path);
    },
    async putChanges(run, phase, partitionId, chunk) {
      const path = resolve(directory, changeChunkPath(run, phase, partitionId));
      await mkdir(resolve(path, ".."), { recursive: true });
      await writeFile(`${path}.tmp`, chunk);
      await rename(`${path}.tmp`, path);
    },
    async changeChunks(run) {
      const folder = resolve(directory, changesFolder(run));
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
      const paths = names.filter((name) => name.endsWith(".jsonl")).map((name) => join(folder, name));
      return Promise.all(paths.map(async (path) => fileChunk(path, (await stat(path)).size)));
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

/** A file read in ranges: opened for each read, so a merge of thousands of chunks holds no file open. */
export function fileChunk(path: string, size: number): ChunkSource {
  return {
    size,
    async read(offset, length) {
      const file = await open(path, "r");
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    },
  };
}

/**
 * The bucket name a local run's plan location carries when its records are kept in a directory:
 * the directory stands in for the reports bucket, for the handlers and the Map's ItemReader alike.
 */
export const LOCAL_RECORDS_BUCKET = "local-run-records";

/** Objects of a local records directory, by key, as the ItemReader reads them (bucket LOCAL_RECORDS_BUCKET). */
export function directoryObjectStore(directory: string): ObjectStore {
  return {
    async getObject(bucket, key) {
      if (bucket !== LOCAL_RECORDS_BUCKET) throw new Error(`a local run's records are in ${directory}, not in bucket ${bucket}`);
      const path = resolve(directory, key);
      if (!path.startsWith(resolve(directory) + "/")) throw new Error(`key ${key} lies outside ${directory}`);
      try {
        return await readFile(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
  };
}

/** Objects of an S3 endpoint, as the ItemReader reads them (NoSuchKey: undefined). */
export function s3ObjectStore(client: S3Client): ObjectStore {
  return {
    async getObject(bucket, key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await (object.Body as { transformToString(): Promise<string> }).transformToString();
      } catch (err) {
        if ((err as { name?: string }).name === "NoSuchKey") return undefined;
        throw err;
      }
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
