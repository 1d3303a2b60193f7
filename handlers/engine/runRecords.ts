/**
 * Run records: each partition's final result (exact counters, samples of changes and failures,
 * planned deletes), written by the `sync-range` call that finishes the partition and read back by
 * `summarize`. They keep per-partition results out of the Step Functions state, whose data is
 * limited to 256 KiB (a limit `States.DataLimitExceeded` enforces and no Catch can handle), so a
 * run's state stays the same size at 1 partition or 1,000.
 *
 * Where they go: beside the run's report, never among the synced objects. Deployed, that is the
 * stack's reports bucket (`<reportPrefix><execution>/partitions/<phase>/<id>.json`, expired with
 * the reports); a local run keeps them in its report location (a local directory unless
 * `--report-to` names one). Writing them into the source or destination would make them data a
 * later sync copies, or extras a mirror deletes.
 */
import { randomUUID } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import type { Partition, PlanLocation, SyncPhase, SyncRangeResult } from "../../model/contract";
import type { ChunkSource } from "./changeLog";
import { EngineError, ERROR_NAMES, ValidationError } from "./errors";

/** Where the records of every run are kept, one folder per run. */
export interface RunRecords {
  /** Stores the final result of one partition (overwrites: a retried call writes the same record). */
  put(run: string, result: SyncRangeResult): Promise<void>;
  /** Every record of one phase of one run, in no particular order. */
  list(run: string, phase: SyncPhase): Promise<SyncRangeResult[]>;
  /** Stores a run's plan (`<run>/plan.json`): the partitions the copy Map reads through its ItemReader. */
  putPlan(run: string, partitions: Partition[]): Promise<PlanLocation>;
  /** The plan at `location`, checked (parsePlan); fails with PlanInvalid when it is missing. */
  getPlan(location: PlanLocation): Promise<Partition[]>;
  /** Stores the changes one sync-range call made, as a chunk of the change log (handlers/engine/changeLog.ts). */
  putChanges(run: string, phase: SyncPhase, partitionId: number, chunk: string): Promise<void>;
  /** Every change chunk of a run, in no particular order. */
  changeChunks(run: string): Promise<ChunkSource[]>;
}

/** The path of a run's plan relative to the records' root: `<run>/plan.json`. */
export function planPath(run: string): string {
  return `${checkRunName(run)}/plan.json`;
}

/**
 * A plan object's text, checked: a non-empty JSON array of partitions with distinct whole-number
 * ids, as many as its location says. Anything else fails with PlanInvalid: a Map over an empty or
 * unreadable plan would sync nothing and report success.
 */
export function parsePlan(text: string, location: PlanLocation): Partition[] {
  const where = `the plan s3://${location.bucket}/${location.key}`;
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (err) {
    throw new EngineError(ERROR_NAMES.planInvalid, `${where} is not JSON (${(err as Error).message}); nothing was synced`);
  }
  if (!Array.isArray(plan) || plan.length === 0) {
    throw new EngineError(ERROR_NAMES.planInvalid, `${where} must be a non-empty JSON array of partitions; nothing was synced`);
  }
  const ids = new Set<number>();
  for (const partition of plan) {
    const id = (partition as { id?: unknown } | null)?.id;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || ids.has(id)) {
      throw new EngineError(ERROR_NAMES.planInvalid, `${where} holds a partition without a distinct whole-number id (${JSON.stringify(partition)}); nothing was synced`);
    }
    ids.add(id);
  }
  if (plan.length !== location.partitions) {
    throw new EngineError(ERROR_NAMES.planInvalid, `${where} holds ${plan.length} partitions, its run planned ${location.partitions}; nothing was summarized`);
  }
  return plan as Partition[];
}

/** The PlanInvalid error of a plan object that is not there. */
export function planMissing(location: PlanLocation): EngineError {
  return new EngineError(ERROR_NAMES.planInvalid, `the plan s3://${location.bucket}/${location.key} is missing; nothing was summarized`);
}

/**
 * Step Functions execution names: 1–80 characters, none of them whitespace, brackets, wildcards,
 * `/` or the other characters the API refuses. Checked here because the name becomes a key segment.
 */
const RUN_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;

/** Checks a run (execution) name before it becomes part of a key or a path. */
export function checkRunName(run: unknown): string {
  if (typeof run !== "string" || !RUN_NAME.test(run) || run === "." || run === "..") {
    throw new ValidationError([`run must be an execution name (1-80 characters, no whitespace or /), got ${JSON.stringify(run)}`]);
  }
  return run;
}

/** The path of a record relative to the records' root: `<run>/partitions/<phase>/<id>.json`. */
export function recordPath(run: string, phase: SyncPhase, partitionId: number): string {
  if (!Number.isInteger(partitionId) || partitionId < 0) throw new Error(`partition id must be a whole number, got ${partitionId}`);
  return `${checkRunName(run)}/partitions/${phase}/${partitionId}.json`;
}

/**
 * The path of a change chunk relative to the records' root. Each call writes its own (a retried
 * call too: the merge drops the lines it repeats).
 */
export function changeChunkPath(run: string, phase: SyncPhase, partitionId: number): string {
  if (!Number.isInteger(partitionId) || partitionId < 0) throw new Error(`partition id must be a whole number, got ${partitionId}`);
  return `${changesFolder(run)}${phase}-${partitionId}-${randomUUID()}.jsonl`;
}

/** The folder of a run's change chunks relative to the root. */
export function changesFolder(run: string): string {
  return `${checkRunName(run)}/changes/`;
}

/** The folder of one phase's records relative to the root. */
export function phaseFolder(run: string, phase: SyncPhase): string {
  return `${checkRunName(run)}/partitions/${phase}/`;
}

/** Run records in a bucket, under a prefix (the reports bucket and prefix). */
export function s3RunRecords(client: S3Client, location: { bucket: string; prefix: string }): RunRecords {
  return {
    async putPlan(run, partitions) {
      const key = location.prefix + planPath(run);
      await client.send(
        new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: JSON.stringify(partitions), ContentType: "application/json" }),
      );
      return { bucket: location.bucket, key, partitions: partitions.length };
    },
    async getPlan(plan) {
      let text: string;
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: plan.bucket, Key: plan.key }));
        text = await (object.Body as { transformToString(): Promise<string> }).transformToString();
      } catch (err) {
        if ((err as { name?: string }).name === "NoSuchKey") throw planMissing(plan);
        throw err;
      }
      return parsePlan(text, plan);
    },
    async put(run, result) {
      await client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: location.prefix + recordPath(run, result.phase, result.partition.id),
          Body: JSON.stringify(result),
          ContentType: "application/json",
        }),
      );
    },
    async putChanges(run, phase, partitionId, chunk) {
      await client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: location.prefix + changeChunkPath(run, phase, partitionId),
          Body: chunk,
          ContentType: "application/jsonl",
        }),
      );
    },
    async changeChunks(run) {
      const objects = await listUnder(client, location.bucket, location.prefix + changesFolder(run), ".jsonl");
      return objects.map(({ key, size }) => ({
        size,
        // Ranged reads: a merge of thousands of chunks holds no connection open between reads.
        async read(offset, length) {
          const object = await client.send(
            new GetObjectCommand({ Bucket: location.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
          );
          return (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        },
      }));
    },
    async list(run, phase) {
      const keys = (await listUnder(client, location.bucket, location.prefix + phaseFolder(run, phase), ".json")).map((o) => o.key);
      const limit = pLimit(32);
      return Promise.all(
        keys.map((key) =>
          limit(async () => {
            const object = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
            return JSON.parse(await (object.Body as { transformToString(): Promise<string> }).transformToString()) as SyncRangeResult;
          }),
        ),
      );
    },
  };
}

/** Every object under a prefix whose key ends in `suffix`, with its size. */
async function listUnder(client: S3Client, bucket: string, prefix: string, suffix: string): Promise<Array<{ key: string; size: number }>> {
  const objects: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith(suffix)) objects.push({ key: object.Key, size: object.Size ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * The records of one phase, checked: exactly one per expected partition. A missing record means
 * a partition's result was lost; summing the others would under-count failures and deletes, so
 * the summary fails instead (fail closed).
 */
export async function readPhaseRecords(
  records: RunRecords,
  run: string,
  phase: SyncPhase,
  expectedIds: readonly number[],
): Promise<SyncRangeResult[]> {
  const found = await records.list(run, phase);
  const byId = new Map(found.map((result) => [result.partition.id, result]));
  const missing = expectedIds.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new Error(
      `the ${phase} results of ${missing.length} partition(s) of run ${run} are missing (ids ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}); nothing was summarized`,
    );
  }
  return expectedIds.map((id) => byId.get(id) as SyncRangeResult);
}
