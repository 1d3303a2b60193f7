/**
 * Syncs one partition from a cursor until done or until its time budget runs out: the work of
 * one `sync-range` call. Copy phase: copies, updates, two-way copies back, conflicts; it only
 * counts extras. Delete phase (`mirror`, after every copy succeeded): deletes extras, never more
 * than the budget its copy phase counted.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  SAMPLE_LIMIT,
  type SyncChange,
  type SyncFailure,
  type SyncJob,
  type SyncPhase,
  type SyncRangeInput,
  type SyncRangeResult,
  type SyncStats,
} from "../../model/contract";
import { describeError, EngineError, ERROR_NAMES } from "./errors";
import { compareKeys, inRange } from "./keys";
import { type ListedObject, listObjects } from "./listing";
import { Copier, DELETE_BATCH, deleteObjects, headObject } from "./objects";
import { OrderedWindow } from "./orderedWindow";
import { decideInspected, decideListed, newerSide, type ObjectDetails, type PlanPair, pairListings, type Verdict } from "./planner";
import { emptyStats } from "./stats";


/** A pair, with object details when they are already known (key-scoped runs). */
interface WorkItem extends PlanPair {
  sourceDetails?: ObjectDetails;
  destinationDetails?: ObjectDetails;
}

/**
 * What a `sync-range` call reports as it works, key by key: a local run's live progress and its
 * per-key lines. Deployed functions pass no observer; the call's result is the same either way.
 * Keys are relative to the job's prefixes.
 */
export type RangeEvent =
  /** A batch of pairs came off the listings (objects: keys; bytes: their source sizes, else destination sizes). */
  | { type: "listed"; phase: SyncPhase; objects: number; bytes: number }
  /** A copy began: it is in flight until its `handled` event. */
  | { type: "started"; phase: SyncPhase; key: string; size: number }
  /** A key is done with: copied, deleted, found unchanged, ... (`failed` when its action failed). */
  | { type: "handled"; phase: SyncPhase; key: string; action: SyncChange["action"] | "unchanged" | "extra"; size: number; failed?: boolean };

type HandledAction = Extract<RangeEvent, { type: "handled" }>["action"];

export interface SyncRangeOptions {
  /** Milliseconds clock, injectable for tests. @default Date.now */
  clock?: () => number;
  /** Told of every listed batch and every key handled (local runs); must not throw. */
  observe?: (event: RangeEvent) => void;
}

/** Runs one `sync-range` call. */
export async function syncRange(
  client: S3Client,
  input: SyncRangeInput,
  options: SyncRangeOptions = {},
): Promise<SyncRangeResult> {
  const clock = options.clock ?? Date.now;
  const deadline = clock() + input.job.timeBudgetSeconds * 1000;
  const observe = options.observe;
  const run = new RangeRun(client, input, observe);
  let done = true;
  for await (const batch of workItems(client, input)) {
    if (clock() >= deadline) {
      done = false;
      break;
    }
    if (observe) {
      const bytes = batch.reduce((sum, item) => sum + (item.source?.size ?? item.destination?.size ?? 0), 0);
      observe({ type: "listed", phase: input.phase, objects: batch.length, bytes });
    }
    for (const item of batch) await run.handle(item);
  }
  await run.finish();
  return {
    partition: input.partition,
    phase: input.phase,
    cursor: run.cursor,
    done,
    stats: run.stats,
    plannedDeletes: input.phase === "copy" && input.job.mode === "mirror" ? run.stats.extra : 0,
    failures: run.failures,
    changes: run.changes,
  };
}

/** The pairs of a partition after the cursor, in key order, in batches. */
async function* workItems(client: S3Client, input: SyncRangeInput): AsyncGenerator<WorkItem[]> {
  const { job, partition, cursor } = input;
  if (partition.keys) {
    const keys = partition.keys.filter((key) => cursor === undefined || compareKeys(key, cursor) > 0);
    for (let start = 0; start < keys.length; start += job.concurrency) {
      yield Promise.all(keys.slice(start, start + job.concurrency).map((key) => keyedItem(client, job, key)));
    }
    return;
  }
  const startAfter =
    cursor !== undefined && (partition.startAfter === undefined || compareKeys(cursor, partition.startAfter) > 0)
      ? cursor
      : partition.startAfter;
  if (partition.endBefore !== undefined && startAfter !== undefined && !inRange(startAfter, undefined, partition.endBefore)) {
    return;
  }
  yield* pairListings(
    listObjects(client, { ...job.source, startAfter, endBefore: partition.endBefore }),
    listObjects(client, { ...job.destination, startAfter, endBefore: partition.endBefore }),
  );
}

async function keyedItem(client: S3Client, job: SyncJob, key: string): Promise<WorkItem> {
  const [sourceDetails, destinationDetails] = await Promise.all([
    headObject(client, job.source.bucket, job.source.prefix + key),
    headObject(client, job.destination.bucket, job.destination.prefix + key),
  ]);
  const listed = (details?: ObjectDetails): ListedObject | undefined =>
    details && { key, size: details.size, etag: details.etag, lastModified: details.lastModified };
  return { key, source: listed(sourceDetails), destination: listed(destinationDetails), sourceDetails, destinationDetails };
}

/** The state of one call: counters, samples, the work window and the pending delete batch. */
class RangeRun {
  readonly stats: SyncStats;
  readonly failures: SyncFailure[];
  readonly changes: SyncChange[];
  private readonly window: OrderedWindow;
  private readonly copier: Copier;
  private readonly job: SyncJob;
  private deleteBatch: string[] = [];
  private lastSeen: string | undefined;
  private deleteCursor: string | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly input: SyncRangeInput,
    private readonly observe?: (event: RangeEvent) => void,
  ) {
    this.job = input.job;
    this.stats = { ...emptyStats(), ...input.stats };
    this.failures = (input.failures ?? []).slice(0, SAMPLE_LIMIT);
    this.changes = (input.changes ?? []).slice(0, SAMPLE_LIMIT);
    this.window = new OrderedWindow(this.job.concurrency);
    this.copier = new Copier(client, this.job);
    this.deleteCursor = input.cursor;
  }

  get cursor(): string | undefined {
    return this.input.phase === "delete" ? this.deleteCursor : (this.window.cursor ?? this.input.cursor);
  }

  async handle(item: WorkItem): Promise<void> {
    if (this.input.phase === "delete") return this.handleDelete(item);
    if (!item.source && !item.destination) {
      this.window.skip(item.key); // a key-scoped run named a key that exists on neither side
      this.handled(item, "unchanged");
      return;
    }
    if (item.source) this.stats.sourceObjects++;
    if (item.destination) this.stats.destinationObjects++;
    const verdict = decideListed(item, this.job);
    if (verdict.action === "unchanged") {
      this.stats.unchanged++;
      this.window.skip(item.key);
      this.handled(item, "unchanged");
      return;
    }
    if (verdict.action === "extra" || verdict.action === "delete") {
      this.stats.extra++;
      const dryRunDelete = verdict.action === "delete" && this.job.dryRun;
      if (dryRunDelete) this.sample({ key: item.key, action: "delete", reason: "extra" });
      this.window.skip(item.key);
      this.handled(item, dryRunDelete ? "delete" : "extra");
      return;
    }
    await this.window.submit(item.key, () => {
      this.observe?.({ type: "started", phase: this.input.phase, key: item.key, size: item.source?.size ?? item.destination?.size ?? 0 });
      return this.act(item, verdict);
    });
  }

  /** Tells the observer a key is done with. */
  private handled(item: WorkItem, action: HandledAction, failed = false): void {
    this.observe?.({
      type: "handled",
      phase: this.input.phase,
      key: item.key,
      action,
      size: (action === "copy-to-source" ? item.destination?.size : item.source?.size) ?? item.destination?.size ?? 0,
      ...(failed ? { failed } : {}),
    });
  }

  private async act(item: WorkItem, listedVerdict: Verdict): Promise<void> {
    let action: string = listedVerdict.action;
    let failed = false;
    try {
      let verdict = listedVerdict;
      if (verdict.action === "inspect") verdict = await this.inspect(item);
      action = verdict.action;
      switch (verdict.action) {
        case "unchanged":
          this.stats.unchanged++;
          return;
        case "conflict":
          this.stats.conflicts++;
          this.sample({ key: item.key, action: "conflict", reason: verdict.reason, size: item.source?.size, newer: newerSide(item) });
          return;
        case "copy":
        case "update": {
          const source = item.source as ListedObject;
          if (!this.job.dryRun) {
            await this.copier.copy({
              sourceBucket: this.job.source.bucket,
              sourceKey: this.job.source.prefix + item.key,
              destinationBucket: this.job.destination.bucket,
              destinationKey: this.job.destination.prefix + item.key,
              size: source.size,
              etag: source.etag,
            });
          }
          this.stats[verdict.action === "copy" ? "copied" : "updated"]++;
          this.stats.bytes += source.size;
          this.sample({ key: item.key, action: verdict.action, reason: verdict.reason, size: source.size });
          return;
        }
        case "copy-to-source": {
          const destination = item.destination as ListedObject;
          if (!this.job.dryRun) {
            await this.copier.copy({
              sourceBucket: this.job.destination.bucket,
              sourceKey: this.job.destination.prefix + item.key,
              destinationBucket: this.job.source.bucket,
              destinationKey: this.job.source.prefix + item.key,
              size: destination.size,
              etag: destination.etag,
            });
          }
          this.stats.copiedToSource++;
          this.stats.bytes += destination.size;
          this.sample({ key: item.key, action: "copy-to-source", reason: verdict.reason, size: destination.size });
          return;
        }
        default:
          throw new Error(`unexpected verdict ${verdict.action} for "${item.key}"`);
      }
    } catch (err) {
      failed = true;
      this.fail(item.key, action, err);
    } finally {
      this.handled(item, action === "inspect" ? "unchanged" : (action as HandledAction), failed);
    }
  }

  private async inspect(item: WorkItem): Promise<Verdict> {
    const [source, destination] = await Promise.all([
      item.sourceDetails ?? headObject(this.client, this.job.source.bucket, this.job.source.prefix + item.key),
      item.destinationDetails ??
        headObject(this.client, this.job.destination.bucket, this.job.destination.prefix + item.key),
    ]);
    if (!source || !destination) {
      // Gone since it was listed: decide again from what exists now.
      return decideListed({ key: item.key, source: source && item.source, destination: destination && item.destination }, this.job);
    }
    return decideInspected(source, destination, this.job);
  }

  private async handleDelete(item: WorkItem): Promise<void> {
    this.lastSeen = item.key;
    if (item.source || !item.destination || this.job.mode !== "mirror") return;
    const budget = this.input.deleteBudget ?? 0;
    if (this.stats.deleted + this.stats.failed + this.deleteBatch.length + 1 > budget) {
      throw new EngineError(
        ERROR_NAMES.deleteBudgetExceeded,
        `partition ${this.input.partition.id} has more extra objects than the ${budget} its copy phase counted (s3://${this.job.destination.bucket}/${this.job.destination.prefix}${item.key} and more): the buckets changed during the sync; run it again`,
      );
    }
    this.deleteBatch.push(item.key);
    if (this.deleteBatch.length >= DELETE_BATCH) await this.flushDeletes();
  }

  private async flushDeletes(): Promise<void> {
    const keys = this.deleteBatch;
    this.deleteBatch = [];
    const failedKeys = new Set<string>();
    if (keys.length > 0 && !this.job.dryRun) {
      const failures = await deleteObjects(
        this.client,
        this.job.destination.bucket,
        keys.map((key) => this.job.destination.prefix + key),
      );
      const prefixLength = this.job.destination.prefix.length;
      for (const failure of failures) {
        failedKeys.add(failure.key.slice(prefixLength));
        this.fail(failure.key.slice(prefixLength), "delete", failure);
      }
      this.stats.deleted += keys.length - failures.length;
    } else {
      this.stats.deleted += keys.length;
    }
    for (const key of keys.slice(0, SAMPLE_LIMIT)) this.sample({ key, action: "delete", reason: "extra" });
    for (const key of this.observe ? keys : []) {
      this.observe?.({ type: "handled", phase: "delete", key, action: "delete", size: 0, ...(failedKeys.has(key) ? { failed: true } : {}) });
    }
    this.deleteCursor = this.lastSeen ?? this.deleteCursor;
  }

  async finish(): Promise<void> {
    if (this.input.phase === "delete") await this.flushDeletes();
    await this.window.drain();
  }

  private sample(change: SyncChange): void {
    if (this.changes.length < SAMPLE_LIMIT) this.changes.push(change);
  }

  private fail(key: string, action: string, err: unknown): void {
    this.stats.failed++;
    const described =
      typeof err === "object" && err !== null && "error" in err && "message" in err
        ? (err as { error: string; message: string })
        : describeError(err);
    if (this.failures.length < SAMPLE_LIMIT) this.failures.push({ key, action, ...described });
  }
}

