/**
 * The contract between the state machine definition, the Lambda handlers, the local runner and
 * the CLI: every payload that crosses a Task boundary is one of these plain JSON shapes.
 *
 * One name per idea: the handler names here are the Lambda function roles, the Task state names
 * and the keys of the local runner's dispatch table.
 */

import type { OnChangeBatchCounts, OnChangeRecord } from "./onChange";

/** How the destination is made to follow the source: the modes a stack's sync runs in. */
export type SyncMode = "backup" | "mirror" | "two-way";
export const SYNC_MODES: readonly SyncMode[] = ["backup", "mirror", "two-way"];

/**
 * What one run does: a sync mode, or `restore`, which reads the source (a versioned backup) as
 * it was at `asOf` (each key's version current then) and copies those versions into the
 * destination by version id; it deletes keys that did not exist then only with `delete`.
 * A restore is asked for, never scheduled.
 */
export type RunMode = SyncMode | "restore";
export const RUN_MODES: readonly RunMode[] = [...SYNC_MODES, "restore"];

/**
 * What `two-way` does with a key present on both sides with different content.
 * `report`: leave both untouched and report a conflict. `newer-wins`: copy the side with the
 * later LastModified over the other.
 */
export type ConflictPolicy = "report" | "newer-wins";
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ["report", "newer-wins"];

/**
 * The version of this contract: every payload between states carries it (in its job), and a
 * handler refuses a payload of any other version with UNKNOWN_CONTRACT_VERSION rather than read
 * it. A change that an older handler would misread (a renamed or re-meant field) raises it.
 */
export const CONTRACT_VERSION = 1;
/** The error a handler throws for a payload of a version it does not know (Step Functions sees it as the Task's Error). */
export const UNKNOWN_CONTRACT_VERSION = "UnknownContractVersion";

/** A bucket and an optional key prefix ("dev/"). */
export interface Location {
  bucket: string;
  /** Key prefix; keys are compared relative to it, so `dev/a` maps to `backup/dev/a`. @default "" */
  prefix?: string;
}

/**
 * What a user asks for: the state machine's execution input and the CLI's options. Every
 * optional field has a documented default.
 */
export interface SyncRequest {
  /**
   * The contract version the request is written for; any other is refused before anything runs.
   * @default CONTRACT_VERSION
   */
  version?: number;
  source: Location;
  destination: Location;
  /** @default "backup" (copy and update, never delete) */
  mode?: RunMode;
  /** Only for `two-way`. @default "report" */
  conflictPolicy?: ConflictPolicy;
  /** Plan and report, write nothing. @default false */
  dryRun?: boolean;
  /**
   * Most objects a `mirror` run may delete: a count (`500`, `"500"`) or a share of the
   * destination's objects in scope (`"5%"`). Above it the run deletes nothing.
   * @default "10%"
   */
  maxDeletes?: number | string;
  /** Parallel S3 operations per range worker. @default 32 */
  concurrency?: number;
  /** Objects at or above this size are copied part by part with UploadPartCopy. @default 64 MiB */
  multipartThresholdBytes?: number;
  /** Part size for multipart copies (raised as needed to stay within 10,000 parts). @default 64 MiB */
  partSizeBytes?: number;
  /** Storage class for written objects (e.g. `STANDARD_IA`). @default the bucket's default */
  storageClass?: string;
  /** Encrypt written objects with this KMS key (SSE-KMS). @default the bucket's default encryption */
  sseKmsKeyId?: string;
  /** How many key ranges to plan for parallel workers. @default 16 */
  partitions?: number;
  /**
   * Fewest keys a planned partition holds: a small key space gets fewer partitions than asked.
   * Lower it for large objects, where a partition of a thousand keys is hours of copying.
   * @default 1000
   */
  minKeysPerPartition?: number;
  /**
   * Sync only keys after this one (relative to the source prefix, UTF-8 byte order), as
   * key-ranged tools (`--start-after`) do. @default every key
   */
  startAfter?: string;
  /**
   * Restrict the run to these keys (relative to the source prefix), as an on-change trigger
   * does. @default every key under the prefixes
   */
  keys?: string[];
  /**
   * How `keys` are written. `s3-event`: as S3 event notifications carry them, where a key may be
   * URL-encoded (`red+flower.jpg` for `red flower.jpg`); each such key is tried both as written
   * and decoded, and a candidate present on neither side is skipped. Trying both never changes
   * more than a full run would. @default "raw"
   */
  keysEncoding?: KeysEncoding;
  /**
   * The batch of S3 object events an on-change run syncs (model/onChange.ts), instead of `keys`:
   * validate-input turns it into the distinct keys (or a prefix or full run for a large batch)
   * and a delete limit of the batch's own deletions, at most `maxDeletes` (then a count).
   * @default none
   */
  changes?: OnChangeRecord[];
  /**
   * Announce a successful run on the notification topic ("sync finished"). On-change runs set it
   * to false: failures, and requests to approve deletes, are announced either way. @default true
   */
  notifyOnSuccess?: boolean;
  /** Wall-clock budget of one `sync-range` call before it returns a cursor. @default 600 */
  timeBudgetSeconds?: number;
  /**
   * Which keys the run covers, in order, as `aws s3 sync`'s `--exclude`/`--include`:
   * `["exclude *", "include logs/*"]`. Matched against the key relative to the source prefix; `*`
   * matches any characters, `/` included; the last filter that matches decides. An excluded key
   * is never copied, updated or deleted. @default [] (every key)
   */
  filters?: string[];
  /**
   * `restore` only, and required there: the time (ISO 8601, e.g. `2026-12-05T01:59:00Z`) whose
   * versions are restored. A key whose version current then was a delete marker, or which had
   * none, did not exist.
   */
  asOf?: string;
  /** `restore` only: also delete destination keys that did not exist at `asOf` (delete guard applies). @default false */
  delete?: boolean;
  /** `restore` only: allow writing over a destination that holds objects. @default false */
  approveOverwrite?: boolean;
}

export type KeysEncoding = "raw" | "s3-event";
export const KEYS_ENCODINGS: readonly KeysEncoding[] = ["raw", "s3-event"];

/**
 * What a deployed stack lets a request ask: the stack's configuration is the ceiling, and a
 * request may narrow it but never widen it. Set by the program in validate-input's environment
 * (HANDLER_ENV.requestCeiling), so every way of starting a run meets it; each setting's policy
 * (fixed, narrow-only or free) is declared beside the setting (model/settings.ts).
 */
export interface RequestCeiling {
  /**
   * The stack's own request: its locations and settings. A request's absent fields take these
   * values; its locations may only be this mapping narrowed by one sub-prefix on both sides.
   */
  request: SyncRequest;
  /** The delete limit, a count, a key-scoped request (`keys`) may ask: the stack's on-change limit. @default none */
  keyScopedMaxDeletes?: number;
}

/** The delete limit, parsed. */
export type DeleteLimit = { count: number } | { percent: number };

/** A validated request with every default filled in: the input of every later step. */
export interface SyncJob {
  /** CONTRACT_VERSION: every later payload carries the job, and with it the version. */
  version: number;
  source: Required<Location>;
  destination: Required<Location>;
  mode: RunMode;
  conflictPolicy: ConflictPolicy;
  dryRun: boolean;
  maxDeletes: DeleteLimit;
  concurrency: number;
  multipartThresholdBytes: number;
  partSizeBytes: number;
  storageClass?: string;
  sseKmsKeyId?: string;
  partitions: number;
  minKeysPerPartition: number;
  startAfter?: string;
  /** The keys of a key-scoped run, decoded candidates included (see SyncRequest.keysEncoding). */
  keys?: string[];
  timeBudgetSeconds: number;
  /** Key filters, in order (see SyncRequest.filters); absent or empty: every key. */
  filters?: string[];
  /** Announce success too (SyncRequest.notifyOnSuccess); absent in a job from before it, meaning true. */
  notifyOnSuccess?: boolean;
  /** What the batch of an on-change run held (SyncRequest.changes). */
  onChange?: OnChangeBatchCounts;
  /** `restore`: the time whose versions are restored, as an ISO 8601 string in UTC. */
  asOf?: string;
  /** `restore`: delete destination keys that did not exist at `asOf`. @default false */
  delete?: boolean;
  /** `restore`: writing over a destination that holds objects was approved. @default false */
  approveOverwrite?: boolean;
}

/** Whether a run deletes destination keys its source lacks: `mirror`, and `restore` with `delete`. */
export function deletesExtras(job: { mode: RunMode; delete?: boolean }): boolean {
  return job.mode === "mirror" || (job.mode === "restore" && job.delete === true);
}

/**
 * A slice of the key space (relative keys), processed on its own: keys `k` with
 * `startAfter < k < endBefore` in UTF-8 byte order; an absent bound is open. When `keys` is set
 * the partition is exactly those keys instead.
 */
export interface Partition {
  id: number;
  startAfter?: string;
  endBefore?: string;
  keys?: string[];
}

/**
 * Output of `plan-partitions`: the partitions, and their ids as an array of their own. The state
 * machine hands `partitionIds` to `summarize` by a plain path: a projection such as
 * `$.partitions[*].id` yields a list on AWS (Jayway JsonPath) but, over a one-element array, a bare
 * value on other interpreters, so the definition never asks for one.
 */
export interface PartitionPlan {
  partitions: Partition[];
  /** `partitions.map((p) => p.id)`, in the same order. */
  partitionIds: number[];
}

/** Which pass over a partition: copies (and updates) first, deletes only after all copies. */
export type SyncPhase = "copy" | "delete";

/** Counters for one call, one partition or a whole run; all are additive. */
export interface SyncStats {
  /** Objects listed in the source and in the destination. */
  sourceObjects: number;
  destinationObjects: number;
  /** Missing in the destination, copied (or, in a dry run, to be copied). */
  copied: number;
  /** Present on both sides but different, copied over. */
  updated: number;
  /** `two-way`: missing in the source, copied back into it. */
  copiedToSource: number;
  /** Extra in the destination and deleted (`mirror`, delete phase). */
  deleted: number;
  /** Extra in the destination and kept (`backup`, or the copy phase of `mirror`). */
  extra: number;
  unchanged: number;
  conflicts: number;
  failed: number;
  /** Bytes written by copies. */
  bytes: number;
}

/** One object that could not be handled, with the S3 error. */
export interface SyncFailure {
  key: string;
  action: string;
  error: string;
  message: string;
}

/** One planned or performed change, kept as a sample for the report. */
export interface SyncChange {
  key: string;
  action: "copy" | "update" | "copy-to-source" | "delete" | "conflict";
  reason: string;
  size?: number;
  /** Conflicts: the side written last (by LastModified), `same` when both were written in the same millisecond. */
  newer?: "source" | "destination" | "same";
}

/** Input of the `sync-range` handler: one call over one partition from a cursor. */
export interface SyncRangeInput {
  job: SyncJob;
  partition: Partition;
  phase: SyncPhase;
  /** Last relative key fully handled by an earlier call; absent (or null) at the start. */
  cursor?: string | null;
  /**
   * Delete phase only: the most deletes this partition may make, as counted by its copy
   * phase; finding more (the buckets changed in between) fails the call before deleting.
   */
  deleteBudget?: number;
  /** Totals carried across calls of the same partition. */
  stats?: SyncStats;
  /** Failure and change samples carried across calls (at most SAMPLE_LIMIT each). */
  failures?: SyncFailure[];
  changes?: SyncChange[];
  /** Multipart copies earlier calls left open, to continue (see PendingUpload). */
  uploads?: PendingUpload[];
  /** Keys after the cursor the previous call already handled and counted (SyncRangeResult.handledAhead). */
  handledAhead?: string[];
  /**
   * The run (execution name) this call belongs to. With it, the call that finishes the partition
   * writes the partition's result to the run records (handlers/engine/runRecords.ts), where
   * `summarize` reads it: the state machine's data then carries no per-partition results.
   * @default none: the result is only returned
   */
  run?: string;
}

/**
 * Most failures and changes one partition's result carries: a Distributed Map's results must stay
 * under 256 KiB however many partitions there are; the counters are exact, the lists are samples.
 */
export const SAMPLE_LIMIT = 20;

/**
 * A multipart copy that one `sync-range` call began and a later call continues: the call stopped
 * at its deadline with parts left. The parts done are read back from S3 (ListParts), so none is
 * copied twice; a source that changed since (another ETag or size) makes the next call abort the
 * upload and start again.
 */
export interface PendingUpload {
  /** Relative key of the object being copied. */
  key: string;
  /** What the copy is, counted once it finishes. */
  action: "copy" | "update" | "copy-to-source";
  /** Copied from the destination back into the source (`two-way`). @default false */
  toSource?: boolean;
  uploadId: string;
  /** The source's ETag, which every part copy requires (`x-amz-copy-source-if-match`). */
  etag: string;
  size: number;
  partSize: number;
  /** Parts done when the call stopped. */
  partsDone: number;
}

/** Output of `sync-range`: feed it back (with `cursor` and `uploads`) until `done`. */
export interface SyncRangeResult {
  partition: Partition;
  phase: SyncPhase;
  /**
   * Last relative key fully handled; null when none is yet. Always present, so the state machine
   * can pass it on by path even from a call that stopped before its first key.
   */
  cursor: string | null;
  done: boolean;
  stats: SyncStats;
  /** Deletes this partition would make: the copy phase counts them for the delete guard. */
  plannedDeletes: number;
  failures: SyncFailure[];
  changes: SyncChange[];
  /** Multipart copies left open for the next call; empty when `done`. */
  uploads: PendingUpload[];
  /**
   * Keys after `cursor` this call handled: behind an object the deadline cut short, at most
   * `concurrency` of them. The next call skips them, so nothing is done or counted twice.
   */
  handledAhead: string[];
}

/**
 * What the delete guard decided after the copy phase. The delete phase's summary keeps that
 * decision: `within-limit`, or `over-limit` when a human approved the deletes.
 */
export type DeleteDecision =
  | "no-deletes" // nothing to delete, or not `mirror`, or a dry run
  | "within-limit" // delete without asking
  | "over-limit" // ask a human (state machine) or fail (CLI)
  | "blocked-by-failures"; // a copy failed: delete nothing, as rclone does

/** Output of the `summarize` handler: totals of every partition and the delete decision. */
export interface SyncSummary {
  job: SyncJob;
  phase: SyncPhase;
  stats: SyncStats;
  plannedDeletes: number;
  deleteLimit: number;
  deleteDecision: DeleteDecision;
  /**
   * The delete phase's work list: each partition with deletes planned and its budget (the
   * state machine maps over this array).
   */
  deletePartitions: Array<{ partition: Partition; deleteBudget: number }>;
  /**
   * The ids of `deletePartitions`, in the same order: what `summarize` reads after the delete
   * phase, carried as its own array for the reason PartitionPlan gives.
   */
  deletePartitionIds: number[];
  failures: SyncFailure[];
  changes: SyncChange[];
  /**
   * The stack's delete budget across runs, when it has one and this run wanted to delete: the
   * budget (a count) and what earlier runs spent of it in the last 24 hours. A run that would go
   * over it asks for approval (`deleteDecision` over-limit, `deleteLimit` what was left of it).
   */
  dailyDeleteBudget?: { limit: number; spent: number };
  /**
   * Whether this run listed the stack's whole mapping (no keys, no startAfter, the stack's
   * prefixes), and what the previous such run listed: the baseline of the source-shrink checks.
   * Absent without a delete ledger (a local run).
   */
  history?: { fullRun: boolean; previousSourceObjects?: number };
}

/** Output of the `write-report` handler. */
export interface ReportLocation {
  bucket: string;
  jsonKey: string;
  htmlKey: string;
  /** Presigned GET URL of the HTML report, valid for at most one hour. */
  url: string;
  /** The change log beside the report: every change, one JSON object per line, in key order. */
  changesKey?: string;
  /** How many changes the change log lists. */
  changeCount?: number;
}

/**
 * Where plan-partitions wrote a run's plan: a JSON array of the run's partitions, in the order the
 * copy Map starts them, which the Map reads through its ItemReader. Only this location travels in
 * the execution's state, so the state is the same size at 1 partition or 4,096.
 */
export interface PlanLocation {
  bucket: string;
  key: string;
  /** How many partitions the plan holds. */
  partitions: number;
}

/** Input of the `plan-partitions` handler. */
export interface PlanPartitionsInput {
  job: SyncJob;
  /**
   * The run (execution name): the plan is written beside the run's records and its location
   * returned. Without it the partitions themselves are returned (a caller that is not the state
   * machine).
   */
  run?: string;
}

/**
 * Input of the `summarize` handler: the phase's results, either given (`results`) or read from the
 * run records of `run`, one per id in `partitionIds` (what the state machine sends).
 */
export interface SummarizeInput {
  job: SyncJob;
  phase: SyncPhase;
  results?: SyncRangeResult[];
  /** The run whose records hold the results (see SyncRangeInput.run). */
  run?: string;
  /** The partitions the phase ran: a record is expected for each. */
  partitionIds?: number[];
  /** The copy phase's plan, whose partitions the phase ran (instead of partitionIds). */
  plan?: PlanLocation;
  /** The copy phase's summary, when summarizing the delete phase. */
  previous?: SyncSummary;
}

/** Input of the `write-report` handler. */
export interface WriteReportInput {
  summary: SyncSummary;
  /** The execution's name and start time, from the context object (`$$.Execution`). */
  execution?: { name: string; startTime?: string };
}

/**
 * Where a stack's delete ledger lives, under the report prefix of its reports bucket (see
 * handlers/engine/deleteBudget.ts). Summarize may write this one key.
 */
export const DELETE_LEDGER_KEY = "delete-budget/ledger.json";

/**
 * The run's counters as CloudWatch metrics (embedded metric format, printed by the handlers):
 * namespace, the dimension that names the stack, and every metric by name. The alarms and the
 * dashboard (infra/observability.ts) name them from here.
 */
export const RUN_METRICS = {
  namespace: "BucketSync",
  dimension: "Stack",
  names: {
    sourceObjects: "SourceObjects",
    destinationObjects: "DestinationObjects",
    copied: "Copied",
    failed: "Failed",
    extra: "Extra",
    deleted: "Deleted",
    bytes: "Bytes",
    /** Seconds from the run's start to its report: how far the backup trails the source. */
    lagSeconds: "LagSeconds",
    /** 1 for a full run (the stack's whole mapping) that finished without failures. */
    fullRunsSucceeded: "FullRunsSucceeded",
    /** A full run: how much smaller the source is than at the previous full run, in percent (0 when it grew). */
    sourceShrinkPercent: "SourceShrinkPercent",
    /** A full run that listed 0 source objects where the previous one listed some: 1. */
    emptySourceRuns: "EmptySourceRuns",
    /** A run whose deletes went for approval: 1 when asked, 1 when answered (approved). */
    deleteApprovalsRequested: "DeleteApprovalsRequested",
    deleteApprovalsAnswered: "DeleteApprovalsAnswered",
  },
} as const;
export type RunMetricName = (typeof RUN_METRICS.names)[keyof typeof RUN_METRICS.names];

/** Handler names: Lambda function roles, Task state names and dispatch keys. */
export const HANDLER_NAMES = ["validate-input", "plan-partitions", "sync-range", "summarize", "write-report"] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** Environment variables the handlers read once at start-up. */
export const HANDLER_ENV = {
  /** Custom S3 endpoint (S3-compatible stores); absent on AWS. */
  endpoint: "BUCKET_SYNC_S3_ENDPOINT",
  /** `aws` (default) or `generic` (MinIO, Ceph, Swift, the embedded server); see s3Client.ts. */
  compatibility: "BUCKET_SYNC_S3_COMPATIBILITY",
  /** Bucket and prefix where `write-report` stores reports. */
  reportBucket: "BUCKET_SYNC_REPORT_BUCKET",
  reportPrefix: "BUCKET_SYNC_REPORT_PREFIX",
  /** The stack's RequestCeiling as JSON; absent: requests are unconstrained (a local run). */
  requestCeiling: "BUCKET_SYNC_REQUEST_CEILING",
  /** The stack's DeleteBudgetConfig as JSON (ledger and daily budget); absent: no budget across runs. */
  deleteBudget: "BUCKET_SYNC_DELETE_BUDGET",
  /** The value of the run metrics' `Stack` dimension; absent: no metrics are printed (a local run). */
  metricsStack: "BUCKET_SYNC_METRICS_STACK",
  /** `bucket/prefix` a restore may write (the stack's restoreTarget); a restore elsewhere is refused. */
  restoreTarget: "BUCKET_SYNC_RESTORE_TARGET",
} as const;
