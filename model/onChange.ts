/**
 * The on-change chain's contract: what one buffered S3 object event looks like when the pipe hands
 * a batch to a run, and the limits of the AWS parts the chain is built from. No logic.
 *
 * ```
 * S3 event -> EventBridge rule -> SQS buffer queue -> EventBridge Pipe (window, batch size)
 *   -> on-change batch machine (a run slot) -> sync machine run over the batch's keys
 * ```
 */

/** Limits of the AWS parts, which bound the settings (model: infra/config.ts). */
export const ON_CHANGE_LIMITS = {
  /**
   * `MaximumBatchingWindowInSeconds` of a pipe's SQS source: 0 to 300
   * (https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeSourceSqsQueueParameters.html).
   */
  batchWindowSeconds: 300,
  /** `BatchSize` of a pipe's SQS source: 1 to 10,000 (same page). */
  batchSize: 10_000,
  /** Most on-change runs at once we allow: each holds a slot and a Distributed Map Run. */
  concurrentRuns: 100,
  /**
   * Most bytes of keys (as JSON) a batch run carries inline in its state. The keys sit in the
   * request, the job and the plan, each under Step Functions' 256 KiB state limit; a batch with
   * more becomes a prefix run (the keys' longest common folder) or a full run.
   */
  inlineKeyBytes: 64 * 1024,
  /**
   * A Step Functions target gets the whole batch as one JSON array of at most 262,144 characters
   * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html):
   * a batch ends at whichever comes first, this or the batch size.
   */
  targetPayloadChars: 262_144,
} as const;

/**
 * The on-change pipe's input template (infra/onChangeBatches.ts): the fields of each buffered event the batch machine receives (OnChangeRecord below):
 * the pipe applies its input template to each record of a batch, the SQS message body parsed as
 * JSON ("Amazon EventBridge Pipes input transformation",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-input-transformation.html).
 * The placeholders stand outside quotes, so each value arrives as JSON (a key escaped).
 */
export const ON_CHANGE_RECORD_TEMPLATE = [
  "{",
  '"messageId": <$.messageId>,',
  '"type": <$.body.detail-type>,',
  '"bucket": <$.body.detail.bucket.name>,',
  '"key": <$.body.detail.object.key>,',
  '"reason": <$.body.detail.reason>,',
  '"time": <$.body.time>',
  "}",
].join(" ");

/** The `detail-type`s of the S3 events the chain buffers. */
export const ON_CHANGE_EVENT_TYPES = ["Object Created", "Object Deleted"] as const;
export type OnChangeEventType = (typeof ON_CHANGE_EVENT_TYPES)[number];

/** The `detail.reason` of an S3 event for a deletion by a lifecycle rule. */
export const LIFECYCLE_EXPIRATION_REASON = "Lifecycle Expiration";

/**
 * One buffered event as the pipe's input template writes it (infra/onChangeBatches.ts): the few
 * fields of the S3 EventBridge event a run needs. Any field may be missing or of another type in a
 * malformed message; `planBatch` checks them.
 */
export interface OnChangeRecord {
  /** The SQS message id (names the event in a dead-letter message). */
  messageId?: string;
  /** `detail-type`: Object Created or Object Deleted. */
  type?: string;
  bucket?: string;
  /** The key as S3 events carry it: URL-encoded (`a+b.jpg` for `a b.jpg`). */
  key?: string;
  /** `detail.reason`: PutObject, DeleteObject, Lifecycle Expiration, ... */
  reason?: string;
  /** The event's time (ISO 8601): orders two events of one key. */
  time?: string;
}

/** What a batch held, counted: the run's report and metrics show it. */
export interface OnChangeBatchCounts {
  /** Events in the batch. */
  events: number;
  /** Distinct keys the run syncs (or would, for a prefix or full run). */
  keys: number;
  /** Events for a key already in the batch. */
  duplicates: number;
  /** Keys whose latest event in the batch is a deletion. */
  deletes: number;
  /** Deletions by S3 Lifecycle, ignored. */
  lifecycleIgnored: number;
  /** Events for keys outside the source prefix, dropped. */
  outsidePrefix: number;
  /** How the run covers the keys: each key, their longest common folder, or everything. */
  scope: "keys" | "prefix" | "full";
}
