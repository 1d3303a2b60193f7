/**
 * Validation: turns a SyncRequest into a SyncJob with every default filled in, or fails with a
 * ValidationError naming every problem, before anything is written.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import {
  CONFLICT_POLICIES,
  KEYS_ENCODINGS,
  type DeleteLimit,
  type Location,
  SYNC_MODES,
  type SyncJob,
  type SyncRequest,
} from "../contract";
import { validationError } from "./errors";

export const DEFAULTS = {
  mode: "backup",
  conflictPolicy: "report",
  maxDeletes: "10%",
  concurrency: 32,
  multipartThresholdBytes: 64 * 1024 ** 2,
  partSizeBytes: 64 * 1024 ** 2,
  partitions: 16,
  // A partition costs a LIST per side, a sync-range invocation and three state transitions;
  // below one listing page of keys that buys no parallelism worth it.
  minKeysPerPartition: 1000,
  timeBudgetSeconds: 600,
} as const;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Problems with an S3 bucket name (general purpose bucket rules); empty when valid. */
export function bucketNameProblems(name: unknown, side: string): string[] {
  if (typeof name !== "string" || name === "") return [`${side} bucket name is empty`];
  const problems: string[] = [];
  if (!BUCKET_NAME.test(name)) {
    problems.push(
      `${side} bucket name "${name}" is invalid: use 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`,
    );
  } else if (name.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    problems.push(`${side} bucket name "${name}" is invalid: no ".." and not an IP address`);
  }
  return problems;
}

/** Parses `maxDeletes`: a count (`500`, `"500"`), a share (`"5%"`), or an already parsed limit. */
export function parseDeleteLimit(value: unknown): DeleteLimit | undefined {
  if (typeof value === "object" && value !== null) {
    const { count, percent } = value as { count?: unknown; percent?: unknown };
    if (typeof count === "number") return parseDeleteLimit(count);
    if (typeof percent === "number") return parseDeleteLimit(`${percent}%`);
    return undefined;
  }
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? { count: value } : undefined;
  if (typeof value !== "string") return undefined;
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  if (percent) {
    const share = Number(percent[1]);
    return share <= 100 ? { percent: share } : undefined;
  }
  return /^\s*\d+\s*$/.test(value) ? { count: Number(value) } : undefined;
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

function positiveInteger(value: unknown, name: string, fallback: number, problems: string[], max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    problems.push(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

/**
 * Validates a request and fills in defaults. Throws ValidationError listing every problem.
 * A SyncJob is a valid request too: handlers re-validate the job they are given.
 */
export function validateRequest(request: unknown): SyncJob {
  // a SyncJob's maxDeletes is already parsed; parseDeleteLimit accepts both forms
  const problems: string[] = [];
  if (typeof request !== "object" || request === null) throw validationError(["the request must be an object"]);
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
  const mode = r.mode ?? DEFAULTS.mode;
  if (!SYNC_MODES.includes(mode)) problems.push(`mode "${String(mode)}" is unknown: use ${SYNC_MODES.join(", ")}`);
  const conflictPolicy = r.conflictPolicy ?? DEFAULTS.conflictPolicy;
  if (!CONFLICT_POLICIES.includes(conflictPolicy)) {
    problems.push(`conflictPolicy "${String(conflictPolicy)}" is unknown: use ${CONFLICT_POLICIES.join(", ")}`);
  }
  if (r.dryRun !== undefined && typeof r.dryRun !== "boolean") problems.push("dryRun must be true or false");
  const maxDeletes = parseDeleteLimit(r.maxDeletes ?? DEFAULTS.maxDeletes);
  if (!maxDeletes) {
    problems.push(`maxDeletes ${JSON.stringify(r.maxDeletes)} is invalid: give a count like 500 or a share like "5%"`);
  }
  const multipartThresholdBytes = positiveInteger(
    r.multipartThresholdBytes,
    "multipartThresholdBytes",
    DEFAULTS.multipartThresholdBytes,
    problems,
  );
  const partSizeBytes = positiveInteger(r.partSizeBytes, "partSizeBytes", DEFAULTS.partSizeBytes, problems, 5 * 1024 ** 3);
  if (r.partSizeBytes !== undefined && partSizeBytes < 5 * 1024 ** 2) problems.push("partSizeBytes must be at least 5 MiB (5242880)");
  for (const [name, value] of [["storageClass", r.storageClass], ["sseKmsKeyId", r.sseKmsKeyId]] as const) {
    if (value !== undefined && (typeof value !== "string" || value === "")) problems.push(`${name} must be a non-empty string`);
  }
  if (r.startAfter !== undefined && (typeof r.startAfter !== "string" || r.startAfter === "")) {
    problems.push("startAfter must be a non-empty key name (relative to the source prefix)");
  }
  let keys: string[] | undefined;
  const keysEncoding = r.keysEncoding ?? "raw";
  if (!KEYS_ENCODINGS.includes(keysEncoding)) {
    problems.push(`keysEncoding "${String(keysEncoding)}" is unknown: use ${KEYS_ENCODINGS.join(" or ")}`);
  }
  if (r.keys !== undefined) {
    if (!Array.isArray(r.keys) || r.keys.some((key) => typeof key !== "string" || key === "")) {
      problems.push("keys must be a list of non-empty key names");
    } else {
      keys = [...new Set(keysEncoding === "s3-event" ? r.keys.flatMap(eventKeyCandidates) : r.keys)];
    }
  }
  const job: SyncJob = {
    source,
    destination,
    mode,
    conflictPolicy,
    dryRun: r.dryRun ?? false,
    maxDeletes: maxDeletes ?? { count: 0 },
    concurrency: positiveInteger(r.concurrency, "concurrency", DEFAULTS.concurrency, problems, 1000),
    multipartThresholdBytes,
    partSizeBytes,
    storageClass: r.storageClass,
    sseKmsKeyId: r.sseKmsKeyId,
    partitions: positiveInteger(r.partitions, "partitions", DEFAULTS.partitions, problems, 1000),
    minKeysPerPartition: positiveInteger(
      r.minKeysPerPartition,
      "minKeysPerPartition",
      DEFAULTS.minKeysPerPartition,
      problems,
      1_000_000_000,
    ),
    startAfter: r.startAfter,
    keys,
    timeBudgetSeconds: positiveInteger(r.timeBudgetSeconds, "timeBudgetSeconds", DEFAULTS.timeBudgetSeconds, problems, 890),
  };
  if (problems.length > 0) throw validationError(problems);
  return job;
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
  const problems: string[] = [];
  for (const [side, location] of [["source", job.source], ["destination", job.destination]] as const) {
    try {
      await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix || undefined, MaxKeys: 1 }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) problems.push(`${side} bucket "${location.bucket}" does not exist`);
      else if (status === 403) problems.push(`${side} s3://${location.bucket}/${location.prefix} cannot be listed (access denied)`);
      else throw err;
    }
  }
  if (problems.length > 0) throw validationError(problems);
}
