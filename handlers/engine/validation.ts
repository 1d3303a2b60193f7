/**
 * Validation: turns a SyncRequest into a SyncJob with every default filled in, or fails with a
 * ValidationError naming every problem, before anything is written.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { CONTRACT_VERSION, type Location, type RequestCeiling, type SyncJob, type SyncRequest } from "../../model/contract";
import {
  bucketName,
  defaultsOf,
  MAX_EXECUTION_INPUT_BYTES,
  MAX_KEY_BYTES,
  MAX_REQUEST_KEYS,
  parseDeleteLimit,
  parseSetting,
  reasonOf,
  requestMessage,
  requestPolicyOf,
  SYNC_SETTINGS,
  type RequestScope,
  type SyncSettingName,
  type SyncSettingValues,
} from "../../model/settings";
import type { OnChangeBatchCounts } from "../../model/onChange";
import { checkContractVersion, ValidationError } from "./errors";
import { planBatch } from "./onChangeBatch";

export { parseDeleteLimit };

/** The defaults a request's absent settings take (declared in model/settings.ts). */
export const DEFAULTS = defaultsOf(SYNC_SETTINGS);

/** Problems with an S3 bucket name (general purpose bucket rules); empty when valid. */
export function bucketNameProblems(name: unknown, side: string): string[] {
  if (typeof name !== "string" || name === "") return [`${side} bucket name is empty`];
  const result = bucketName.safeParse(name);
  if (result.success) return [];
  const reason = reasonOf(result.error.issues[0]);
  return [`${side} bucket name "${name}" is invalid: ${reason}`];
}

function location(value: unknown, side: string, problems: string[]): Required<Location> {
  if (typeof value !== "object" || value === null) {
    problems.push(`${side} is missing: give { "bucket": "...", "prefix": "..." }`);
    return { bucket: "", prefix: "" };
  }
  const { bucket, prefix } = value as Location;
  problems.push(...bucketNameProblems(bucket, side));
  if (prefix !== undefined && typeof prefix !== "string") problems.push(`${side} prefix must be a string`);
  else if (typeof prefix === "string" && utf8Bytes(prefix) > MAX_KEY_BYTES) {
    problems.push(`${side} prefix is ${utf8Bytes(prefix)} bytes long: S3 keys, and so prefixes, are at most ${MAX_KEY_BYTES} bytes`);
  }
  return { bucket: typeof bucket === "string" ? bucket : "", prefix: typeof prefix === "string" ? prefix : "" };
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Validates a request and fills in defaults. Throws ValidationError listing every problem.
 * A SyncJob is a valid request too: handlers re-validate the job they are given.
 *
 * With a `ceiling` (a deployed stack's), the request's absent fields take the stack's values, and
 * a request that would widen the stack's configuration is refused: one problem per setting,
 * naming the value asked and the ceiling (see RequestPolicy in model/settings.ts).
 */
export function validateRequest(request: unknown, ceiling?: RequestCeiling, now: number = Date.now()): SyncJob {
  const problems: string[] = [];
  if (typeof request !== "object" || request === null || Array.isArray(request)) throw new ValidationError(["the request must be an object"]);
  const inputBytes = utf8Bytes(JSON.stringify(request));
  if (inputBytes > MAX_EXECUTION_INPUT_BYTES) {
    // Step Functions itself refuses such an input (StartExecution); a local run must not accept it either.
    problems.push(`the request is ${inputBytes} bytes: an execution input is at most ${MAX_EXECUTION_INPUT_BYTES} bytes (256 KiB)`);
  }
  const r = (ceiling ? { ...ceiling.request, ...definedFields(request) } : request) as SyncRequest;
  // A request may leave the version out (it is the current one); a job always carries it.
  if (r.version !== undefined) checkContractVersion(r.version, "the request");
  const source = location(r.source, "source", problems);
  const destination = location(r.destination, "destination", problems);
  // A restore in place reads versions as of a past time and writes new current versions: the
  // versions it reads are not the ones it writes.
  const inPlaceRestore = r.mode === "restore" && source.bucket === destination.bucket && source.prefix === destination.prefix;
  if (
    !inPlaceRestore &&
    source.bucket !== "" &&
    source.bucket === destination.bucket &&
    (source.prefix.startsWith(destination.prefix) || destination.prefix.startsWith(source.prefix))
  ) {
    problems.push(
      `source s3://${source.bucket}/${source.prefix} and destination s3://${destination.bucket}/${destination.prefix} overlap: a sync would read its own writes; use another bucket or disjoint prefixes`,
    );
  }
  // `exclude`/`include` as request fields of their own could not keep the order the filters apply
  // in; ignoring them would widen the run (and a mirror's deletes), so they are refused.
  for (const field of ["exclude", "include"]) {
    if ((r as unknown as Record<string, unknown>)[field] !== undefined) {
      problems.push(`${field} is not a request field: list filters in order as filters: ["exclude PATTERN", "include PATTERN"]`);
    }
  }
  const settings: Record<string, unknown> = {};
  for (const name of Object.keys(SYNC_SETTINGS) as SyncSettingName[]) {
    const value = (r as unknown as Record<string, unknown>)[name];
    const result = parseSetting<unknown>(SYNC_SETTINGS[name], value);
    if (result.ok) settings[name] = result.value;
    else problems.push(requestMessage(name, value, result.problem));
  }
  const s = settings as SyncSettingValues;
  let keys: string[] | undefined;
  if (r.keys !== undefined) {
    if (!Array.isArray(r.keys) || r.keys.some((key) => typeof key !== "string" || key === "")) {
      problems.push("keys must be a list of non-empty key names");
    } else if (distinctKeys(r.keys, s.keysEncoding) > MAX_REQUEST_KEYS) {
      problems.push(`keys lists ${distinctKeys(r.keys, s.keysEncoding)} keys: a request names at most ${MAX_REQUEST_KEYS}; sync a prefix (or startAfter) instead`);
    } else if (r.keys.some((key) => utf8Bytes(key) > MAX_KEY_BYTES)) {
      problems.push(`keys must each be at most ${MAX_KEY_BYTES} bytes (S3's longest key)`);
    } else {
      keys = [...new Set(s.keysEncoding === "s3-event" ? r.keys.flatMap(eventKeyCandidates) : r.keys)];
    }
  }
  if (ceiling) problems.push(...ceilingProblems(r, source, destination, settings, ceiling));
  let maxDeletes = s.maxDeletes;
  let onChange = r.changes === undefined ? onChangeCounts((r as unknown as SyncJob).onChange) : undefined;
  if (r.changes !== undefined && problems.length === 0) {
    if (r.keys !== undefined) problems.push("give keys or changes, not both");
    if (!("count" in s.maxDeletes)) problems.push(`maxDeletes of an on-change batch must be a count, got ${JSON.stringify(r.maxDeletes)}`);
    if (problems.length === 0) {
      const plan = planBatch(r.changes, { sourceBucket: source.bucket, sourcePrefix: source.prefix });
      onChange = plan.counts;
      // The delete guard counts the batch's deletions: a run may delete at most the keys its
      // batch reports deleted, and never more than the stack's on-change limit.
      maxDeletes = { count: Math.min(plan.counts.deletes, (s.maxDeletes as { count: number }).count) };
      if (plan.counts.scope === "keys") keys = [...new Set(plan.keys.flatMap(eventKeyCandidates))];
      else {
        source.prefix += plan.commonFolder;
        destination.prefix += plan.commonFolder;
      }
    }
  }
  problems.push(...restoreProblems(s, keys !== undefined, now));
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    version: CONTRACT_VERSION,
    source,
    destination,
    mode: s.mode,
    conflictPolicy: s.conflictPolicy,
    dryRun: s.dryRun,
    maxDeletes,
    concurrency: s.concurrency,
    multipartThresholdBytes: s.multipartThresholdBytes,
    partSizeBytes: s.partSizeBytes,
    storageClass: s.storageClass,
    sseKmsKeyId: s.sseKmsKeyId,
    partitions: s.partitions,
    minKeysPerPartition: s.minKeysPerPartition,
    startAfter: s.startAfter,
    keys,
    timeBudgetSeconds: s.timeBudgetSeconds,
    filters: s.filters,
    notifyOnSuccess: s.notifyOnSuccess,
    ...(onChange ? { onChange } : {}),
    ...(s.mode === "restore" ? { asOf: new Date(s.asOf as string).toISOString() } : {}),
    delete: s.delete,
    approveOverwrite: s.approveOverwrite,
  };
}

/** A request's fields that are given (a JSON `null` or an absent field takes the stack's value). */
function definedFields(request: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined && value !== null));
}

/** The stack's settings, parsed as a request's are; an invalid ceiling is the program's bug, refused. */
function ceilingSettings(ceiling: RequestCeiling): Record<string, unknown> {
  const parsed: Record<string, unknown> = {};
  for (const name of Object.keys(SYNC_SETTINGS) as SyncSettingName[]) {
    const result = parseSetting<unknown>(SYNC_SETTINGS[name], (ceiling.request as unknown as Record<string, unknown>)[name]);
    if (!result.ok) throw new Error(`the stack's request ceiling is invalid: ${requestMessage(name, undefined, result.problem)}`);
    parsed[name] = result.value;
  }
  return parsed;
}

/**
 * How a request (absent fields already the stack's) widens the stack's ceiling, one problem each:
 * locations other than the stack's mapping narrowed by one sub-prefix on both sides, and each
 * setting against its declared policy.
 */
function ceilingProblems(
  request: SyncRequest,
  source: Required<Location>,
  destination: Required<Location>,
  settings: Record<string, unknown>,
  ceiling: RequestCeiling,
): string[] {
  const problems: string[] = [];
  const stackSource = { bucket: ceiling.request.source.bucket, prefix: ceiling.request.source.prefix ?? "" };
  const stackDestination = { bucket: ceiling.request.destination.bucket, prefix: ceiling.request.destination.prefix ?? "" };
  for (const [side, asked, stack] of [["source", source, stackSource], ["destination", destination, stackDestination]] as const) {
    if (asked.bucket !== "" && asked.bucket !== stack.bucket) {
      problems.push(`${side} bucket "${asked.bucket}" is not this stack's ${side} bucket "${stack.bucket}": the stack's configuration fixes its buckets`);
    }
  }
  if (!source.prefix.startsWith(stackSource.prefix)) {
    problems.push(
      `source prefix "${source.prefix}" is outside this stack's source prefix "${stackSource.prefix}": a request may only name a sub-prefix of it`,
    );
  } else {
    const sub = source.prefix.slice(stackSource.prefix.length);
    const expected = stackDestination.prefix + sub;
    if (destination.prefix !== expected) {
      problems.push(
        `destination prefix "${destination.prefix}" does not follow source prefix "${source.prefix}": this stack maps ` +
          `"${stackSource.prefix}" to "${stackDestination.prefix}", so a request narrows both sides by the same sub-prefix ` +
          `and the destination prefix must be "${expected}" (narrowing one side alone would make the rest of the other side extra)`,
      );
    }
  }
  const stack = ceilingSettings(ceiling);
  const scope: RequestScope = request.keys !== undefined ? { keyScopedMaxDeletes: ceiling.keyScopedMaxDeletes } : {};
  const shown = (value: unknown) => (value === undefined ? "unset" : JSON.stringify(value));
  for (const name of Object.keys(SYNC_SETTINGS) as SyncSettingName[]) {
    if (!(name in settings)) continue; // invalid: already a problem of its own
    const policy = requestPolicyOf(name);
    const asked = settings[name];
    const limit = stack[name];
    const askedText = shown((request as unknown as Record<string, unknown>)[name]);
    const limitText = shown((ceiling.request as unknown as Record<string, unknown>)[name]);
    if (policy.kind === "fixed" && JSON.stringify(asked) !== JSON.stringify(limit)) {
      problems.push(`${name} ${askedText} is not allowed: this stack fixes ${name} (${limitText}); leave it out`);
    } else if (policy.kind === "narrow-only" && asked !== undefined && limit !== undefined && !policy.within(asked, limit, scope)) {
      problems.push(`${name} ${askedText} is over this stack's ceiling ${limitText}: a request may ask ${policy.allowed(limit, scope)}`);
    }
  }
  return problems;
}

/** How many keys a list names: S3-event keys once per decoded key, however many spellings it has. */
function distinctKeys(keys: string[], encoding: string | undefined): number {
  return encoding === "s3-event" ? new Set(keys.map((key) => eventKeyCandidates(key).at(-1))).size : keys.length;
}

/** A job's batch counts, carried through re-validation as they are; anything else is dropped. */
function onChangeCounts(value: unknown): OnChangeBatchCounts | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const counts = value as OnChangeBatchCounts;
  const numbers = ["events", "keys", "duplicates", "deletes", "lifecycleIgnored", "outsidePrefix"] as const;
  if (!numbers.every((n) => Number.isInteger(counts[n])) || !["keys", "prefix", "full"].includes(counts.scope)) return undefined;
  return counts;
}

/** What is wrong with a request's restore settings, or with restore settings outside a restore. */
function restoreProblems(s: SyncSettingValues, keyScoped: boolean, now: number): string[] {
  if (s.mode !== "restore") {
    const misplaced = (["asOf", "delete", "approveOverwrite"] as const).filter((name) => s[name] !== undefined && s[name] !== false);
    return misplaced.map((name) => `${name} applies to mode restore only (mode is ${s.mode})`);
  }
  if (s.asOf === undefined) return ['mode restore needs asOf: the time to restore, e.g. "2026-12-05T01:59:00Z"'];
  const problems: string[] = [];
  if (Date.parse(s.asOf) > now) {
    problems.push(`asOf ${s.asOf} is in the future (now is ${new Date(now).toISOString()}): a restore reads versions that exist`);
  }
  if (keyScoped) problems.push("keys cannot be combined with mode restore: restore a prefix (source prefix) instead");
  return problems;
}

/**
 * The keys an S3 event's key may stand for: as written, and URL-decoded (`+` is a space). S3's
 * event notifications URL-encode keys; whichever candidate exists is the one synced.
 */
export function eventKeyCandidates(key: string): string[] {
  try {
    const decoded = decodeURIComponent(key.replace(/\+/g, " "));
    return decoded === key || decoded === "" ? [key] : [key, decoded];
  } catch {
    return [key]; // not valid percent-encoding: only the key as written
  }
}

/**
 * Fails with a ValidationError when a bucket of the job is missing or cannot be listed under its
 * prefix. A one-key listing rather than HeadBucket: it proves the permission the sync needs, and
 * keeps a no-op run to list requests only.
 */
export async function checkBucketsExist(client: S3Client, job: SyncJob): Promise<void> {
  // both sides at once: one round trip, not two
  const sides = [["source", job.source], ["destination", job.destination]] as const;
  const outcomes = await Promise.allSettled(
    sides.map(([, location]) =>
      client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix || undefined, MaxKeys: 1 })),
    ),
  );
  const problems: string[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") return;
    const [side, location] = sides[i];
    const status = (outcome.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) problems.push(`${side} bucket "${location.bucket}" does not exist`);
    else if (status === 403) {
      // S3's message names the principal, action and resource that were refused.
      const detail = (outcome.reason as Error).message;
      problems.push(`${side} s3://${location.bucket}/${location.prefix} cannot be listed (access denied${detail && detail !== "AccessDenied" ? `: ${detail}` : ""})`);
    } else throw outcome.reason;
  });
  if (problems.length > 0) throw new ValidationError(problems);
}
