/**
 * A whole run in one process, in the same steps as the state machine: validate, plan
 * partitions, copy every partition (cursor loop), summarize, delete guard, delete every
 * partition, summarize. The engine's contract tests and library users call this; the deployed
 * system runs the same steps as Step Functions states over the Lambda handlers.
 */
import type { S3Client } from "@aws-sdk/client-s3";
// `import = require`: the callback packaging serializes this code, and the default-import
// wrapper TypeScript emits for `import pLimit from` is not serializable.
import pLimit = require("p-limit");
import type { Partition, SyncPhase, SyncRangeResult, SyncRequest, SyncSummary, SyncJob } from "../../model/contract";
import { ERROR_NAMES, engineError } from "./errors";
import { planPartitions } from "./partitions";
import { summarize } from "./summary";
import { syncRange } from "./syncRange";
import { checkBucketsExist, validateRequest } from "./validation";

export interface SyncBucketsOptions {
  /** Partitions synced at once. @default 4 */
  parallelPartitions?: number;
  /**
   * Asked when a mirror run would delete more than `maxDeletes`; `true` deletes anyway.
   * @default refuse: the run fails with DeleteLimitExceeded and deletes nothing
   */
  approveDeletes?: (summary: SyncSummary) => Promise<boolean>;
}

/** Runs every call of one partition until done. */
async function syncPartition(
  client: S3Client,
  job: SyncJob,
  partition: Partition,
  phase: SyncPhase,
  deleteBudget?: number,
): Promise<SyncRangeResult> {
  let result = await syncRange(client, { job, partition, phase, deleteBudget });
  while (!result.done) {
    const { cursor, stats, failures, changes } = result;
    result = await syncRange(client, { job, partition, phase, deleteBudget, cursor, stats, failures, changes });
  }
  return result;
}

/** Syncs two buckets; resolves with the final summary (failures are in it, not thrown). */
export async function syncBuckets(
  client: S3Client,
  request: SyncRequest,
  options: SyncBucketsOptions = {},
): Promise<SyncSummary> {
  const job = validateRequest(request);
  await checkBucketsExist(client, job);
  const limit = pLimit(options.parallelPartitions ?? 4);
  const partitions = await planPartitions(client, job);
  const copyResults = await Promise.all(partitions.map((p) => limit(() => syncPartition(client, job, p, "copy"))));
  const copySummary = summarize({ job, phase: "copy", results: copyResults });
  if (copySummary.deleteDecision === "over-limit") {
    const approved = (await options.approveDeletes?.(copySummary)) ?? false;
    if (!approved) {
      throw engineError(
        ERROR_NAMES.deleteLimitExceeded,
        `the run would delete ${copySummary.plannedDeletes} objects, more than maxDeletes allows (${copySummary.deleteLimit}); nothing was deleted`,
      );
    }
  }
  if (copySummary.deletePartitions.length === 0) return copySummary;
  const deleteResults = await Promise.all(
    copySummary.deletePartitions.map(({ partition, deleteBudget }) =>
      limit(() => syncPartition(client, job, partition, "delete", deleteBudget)),
    ),
  );
  return summarize({ job, phase: "delete", results: deleteResults, previous: copySummary });
}
