/**
 * Turns one batch of buffered S3 object events into the scope of one run: the distinct keys the
 * batch changed (relative to the source prefix), how many of them it deleted, and what it dropped.
 * Pure: records in, a plan out; validate-input applies it to the request (validation.ts).
 *
 * - Lifecycle expirations are ignored (the rule already leaves them out; a redriven or forwarded
 *   message may still carry one).
 * - A key outside the source prefix is dropped and counted: S3 events carry full keys.
 * - Two events of one key are one key: the latest event (by `time`, then by position) decides
 *   whether the batch reports it deleted, which the delete guard counts.
 * - A malformed record fails the whole batch (fail closed): the batch machine then puts the batch in
 *   the dead-letter queue, so no event is run half-understood and none is lost.
 * - Keys whose JSON exceeds the inline bound make the run a prefix run over their longest common
 *   folder, or a full run when they share none.
 */
import { MAX_REQUEST_KEYS } from "../../model/settings";
import { compareKeys } from "./keys";
import { ValidationError } from "./errors";
import {
  LIFECYCLE_EXPIRATION_REASON,
  ON_CHANGE_EVENT_TYPES,
  ON_CHANGE_LIMITS,
  type OnChangeBatchCounts,
  type OnChangeRecord,
} from "../../model/onChange";

/** How one batch's run is scoped. */
export interface BatchPlan {
  counts: OnChangeBatchCounts;
  /** The distinct keys, relative to the source prefix, as the events wrote them (URL-encoded). */
  keys: string[];
  /** The keys' longest common folder (`""`: none), for a prefix run. */
  commonFolder: string;
}

/** Where the batch's keys are and how much may travel inline. */
export interface BatchPlanOptions {
  /** The source bucket: an event of another bucket is malformed. */
  sourceBucket: string;
  /** The source prefix: keys outside it are dropped. */
  sourcePrefix: string;
  /** Most bytes of keys (as JSON) the run may carry inline. @default ON_CHANGE_LIMITS.inlineKeyBytes */
  inlineKeyBytes?: number;
}

const EVENT_TYPES: readonly string[] = ON_CHANGE_EVENT_TYPES;

/** Why a record is not a buffered S3 object event of the source bucket; undefined when it is one. */
export function recordProblem(record: unknown, sourceBucket: string): string | undefined {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return "is not an object";
  const r = record as OnChangeRecord;
  if (typeof r.type !== "string" || !EVENT_TYPES.includes(r.type)) return `has type ${JSON.stringify(r.type)}, not one of ${ON_CHANGE_EVENT_TYPES.join(", ")}`;
  if (typeof r.key !== "string" || r.key === "") return `has no key (got ${JSON.stringify(r.key)})`;
  if (r.bucket !== sourceBucket) return `is about bucket ${JSON.stringify(r.bucket)}, not the source bucket "${sourceBucket}"`;
  if (r.reason !== undefined && typeof r.reason !== "string") return "has a reason that is not text";
  if (r.time !== undefined && typeof r.time !== "string") return "has a time that is not text";
  return undefined;
}

/**
 * The key relative to the prefix, or undefined when it is outside. An event key is URL-encoded, so
 * its decoded form counts too (a prefix with a space is `a+b/` in the event).
 */
function relativeKey(key: string, prefix: string): string | undefined {
  if (key.startsWith(prefix)) return key.slice(prefix.length);
  let decoded: string;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
  return decoded.startsWith(prefix) ? decoded.slice(prefix.length) : undefined;
}

/** The longest folder (ending in `/`) every key starts with; `""` when they share none. */
export function commonFolder(keys: readonly string[]): string {
  if (keys.length === 0) return "";
  let common = keys[0];
  for (const key of keys) {
    let i = 0;
    while (i < common.length && i < key.length && common[i] === key[i]) i++;
    common = common.slice(0, i);
    if (common === "") return "";
  }
  return common.slice(0, common.lastIndexOf("/") + 1);
}

/**
 * Plans one batch. Throws a ValidationError naming every malformed record (at most ten) when any
 * is malformed: none of the batch runs.
 */
export function planBatch(records: unknown, options: BatchPlanOptions): BatchPlan {
  if (!Array.isArray(records)) throw new ValidationError(["changes must be the batch's list of events"]);
  const problems: string[] = [];
  records.forEach((record, i) => {
    const problem = recordProblem(record, options.sourceBucket);
    if (problem) problems.push(`changes[${i}]${(record as OnChangeRecord)?.messageId ? ` (message ${(record as OnChangeRecord).messageId})` : ""} ${problem}`);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`... and ${problems.length - 10} more malformed events`);
    throw new ValidationError(shown);
  }

  let lifecycleIgnored = 0;
  let outsidePrefix = 0;
  let duplicates = 0;
  // key -> [time, position, deleted] of its latest event
  const latest = new Map<string, { time: string; position: number; deleted: boolean }>();
  (records as OnChangeRecord[]).forEach((record, position) => {
    if (record.reason === LIFECYCLE_EXPIRATION_REASON) {
      lifecycleIgnored++;
      return;
    }
    const key = relativeKey(record.key as string, options.sourcePrefix);
    if (key === undefined || key === "") {
      outsidePrefix++;
      return;
    }
    const event = { time: record.time ?? "", position, deleted: record.type === "Object Deleted" };
    const seen = latest.get(key);
    if (seen) duplicates++;
    if (!seen || seen.time < event.time || (seen.time === event.time && seen.position < position)) latest.set(key, event);
  });

  const keys = [...latest.keys()].sort(compareKeys);
  const deletes = [...latest.values()].filter((e) => e.deleted).length;
  const inline =
    keys.length <= MAX_REQUEST_KEYS && Buffer.byteLength(JSON.stringify(keys), "utf8") <= (options.inlineKeyBytes ?? ON_CHANGE_LIMITS.inlineKeyBytes);
  // A folder as the events wrote it may be URL-encoded (`a+b/`); only a plain one names a prefix.
  const common = inline ? "" : commonFolder(keys);
  const folder = /[%+]/.test(common) ? "" : common;
  return {
    counts: {
      events: records.length,
      keys: keys.length,
      duplicates,
      deletes,
      lifecycleIgnored,
      outsidePrefix,
      scope: inline ? "keys" : folder ? "prefix" : "full",
    },
    keys: inline ? keys : [],
    commonFolder: folder,
  };
}
