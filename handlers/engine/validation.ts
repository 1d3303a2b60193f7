/**
 * Validation: turns a SyncRequest into a SyncJob with every default filled in, or fails with a
 * ValidationError naming every problem, before anything is written.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Location, SyncJob, SyncRequest } from "../../model/contract";
import { bucketName, defaultsOf, parseDeleteLimit, parseSetting, reasonOf, requestMessage, SYNC_SETTINGS, type SyncSettingName, type SyncSettingValues } from "../../model/settings";
import { ValidationError } from "./errors";

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
  return { bucket: typeof bucket === "string" ? bucket : "", prefix: typeof prefix === "string" ? prefix : "" };
}

/**
 * Validates a request and fills in defaults. Throws ValidationError listing every problem.
 * A SyncJob is a valid request too: handlers re-validate the job they are given.
 */
export function validateRequest(request: unknown, now: number = Date.now()): SyncJob {
  const problems: string[] = [];
  if (typeof request !== "object" || request === null) throw new ValidationError(["the request must be an object"]);
  const r = request as SyncRequest;
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
    } else {
      keys = [...new Set(s.keysEncoding === "s3-event" ? r.keys.flatMap(eventKeyCandidates) : r.keys)];
    }
  }
  problems.push(...restoreProblems(s, keys !== undefined, now));
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    source,
    destination,
    mode: s.mode,
    conflictPolicy: s.conflictPolicy,
    dryRun: s.dryRun,
    maxDeletes: s.maxDeletes,
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
    ...(s.mode === "restore" ? { asOf: new Date(s.asOf as string).toISOString() } : {}),
    delete: s.delete,
    approveOverwrite: s.approveOverwrite,
  };
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
    else if (status === 403) problems.push(`${side} s3://${location.bucket}/${location.prefix} cannot be listed (access denied)`);
    else throw outcome.reason;
  });
  if (problems.length > 0) throw new ValidationError(problems);
}
