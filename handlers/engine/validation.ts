/**
 * Validation: turns a SyncRequest into a SyncJob with every default filled in, or fails with a
 * ValidationError naming every problem, before anything is written.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Location, SyncJob, SyncRequest } from "../../model/contract";
import { bucketName, defaultsOf, parseDeleteLimit, parseSetting, reasonOf, requestMessage, SYNC_SETTINGS, type SyncSettingName, type SyncSettingValues } from "../../model/settings";
import type { OnChangeBatchCounts } from "../../model/onChange";
import { ValidationError } from "./errors";
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
  return { bucket: typeof bucket === "string" ? bucket : "", prefix: typeof prefix === "string" ? prefix : "" };
}

/**
 * Validates a request and fills in defaults. Throws ValidationError listing every problem.
 * A SyncJob is a valid request too: handlers re-validate the job they are given.
 */
export function validateRequest(request: unknown): SyncJob {
  const problems: string[] = [];
  if (typeof request !== "object" || request === null) throw new ValidationError(["the request must be an object"]);
  const r = request as SyncRequest;
  const source = location(r.source, "source", problems);
  const destination = location(r.destination, "destination", problems);
  if (
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
  if (problems.length > 0) throw new ValidationError(problems);
  return {
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
    notifyOnSuccess: s.notifyOnSuccess,
    ...(onChange ? { onChange } : {}),
  };
}

/** A job's batch counts, carried through re-validation as they are; anything else is dropped. */
function onChangeCounts(value: unknown): OnChangeBatchCounts | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const counts = value as OnChangeBatchCounts;
  const numbers = ["events", "keys", "duplicates", "deletes", "lifecycleIgnored", "outsidePrefix"] as const;
  if (!numbers.every((n) => Number.isInteger(counts[n])) || !["keys", "prefix", "full"].includes(counts.scope)) return undefined;
  return counts;
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
