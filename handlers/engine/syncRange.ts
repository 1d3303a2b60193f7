/**
 * Syncs one partition from a cursor until done or until its time budget runs out: the work of
 * one `sync-range` call. Copy phase: copies, updates, two-way copies back, conflicts; it only
 * counts extras. Delete phase (`mirror`, after every copy succeeded): deletes extras, never more
 * than the budget its copy phase counted.
 *
 * Deadlines are per object, not per page: no object (or part of a multipart copy) is started
 * once the time budget has run out, and what is in flight finishes; at the function's own end
 * every request still in flight is aborted (a slow S3 cannot hold the call past its timeout). An object whose work was cut short stays unhandled: the cursor stops before it and the
 * next call does it again, except a multipart copy, which keeps its upload open and is handed to
 * the next call (`uploads`): that call first continues it from the parts S3 already holds, then
 * lists on from the cursor, which has moved past it (so nothing is listed, or counted, twice).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  deletesExtras,
  type PendingUpload,
  SAMPLE_LIMIT,
  type SyncChange,
  type SyncFailure,
  type SyncJob,
  type SyncPhase,
  type SyncRangeInput,
  type SyncRangeResult,
  type SyncStats,
} from "../../model/contract";
import { changeChunk } from "./changeLog";
import { describeError, EngineError, ERROR_NAMES } from "./errors";
import { compileFilters } from "./filters";
import { compareKeys, inRange } from "./keys";
import { type ListedObject, listObjects, listVersionsAsOf } from "./listing";
import { Copier, type CopyRequest, DELETE_BATCH, deleteObjects, headObject } from "./objects";
import { OrderedWindow, UNFINISHED } from "./orderedWindow";

/** A multipart copy stopped at the deadline with its upload kept for the next call. */
const PENDING = "pending";
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
  /** The call listed its partition to the end: no more keys will come from it. */
  | { type: "listing-done"; phase: SyncPhase }
  /** A key is done with: copied, deleted, found unchanged, ... (`failed` when its action failed). */
  | { type: "handled"; phase: SyncPhase; key: string; action: SyncChange["action"] | "unchanged" | "extra"; size: number; failed?: boolean };

type HandledAction = Extract<RangeEvent, { type: "handled" }>["action"];

export interface SyncRangeOptions {
  /** Milliseconds clock, injectable for tests. @default Date.now */
  clock?: () => number;
  /**
   * The Lambda function's own end, less what returning the result takes (see handlers/index.ts),
   * in milliseconds of `clock`: no work starts after it, and requests still in flight are aborted
   * at it, so no invocation outlives its timeout, even against a slow S3.
   */
  deadline?: number;
  /** Told of every listed batch and every key handled (local runs); must not throw. */
  observe?: (event: RangeEvent) => void;
  /**
   * Stores every change this call made, as one chunk of the run's change log sorted by key
   * (handlers/engine/changeLog.ts); called once, before the call returns, when it made any.
   */
  recordChanges?: (chunk: string) => Promise<void>;
}

/** Runs one `sync-range` call. */
export async function syncRange(
  client: S3Client,
  input: SyncRangeInput,
  options: SyncRangeOptions = {},
): Promise<SyncRangeResult> {
  const clock = options.clock ?? Date.now;
  const deadline = Math.min(clock() + input.job.timeBudgetSeconds * 1000, options.deadline ?? Infinity);
  // Only the function's own end aborts requests in flight. At the time budget the call starts no
  // more work and lets what is in flight finish: a part copy aborted on our side may still be
  // written by S3 after the next call has listed the upload's parts, and be copied twice.
  const stop = new AbortController();
  const timer = options.deadline === undefined ? undefined : setTimeout(() => stop.abort(), Math.max(0, options.deadline - clock()));
  const observe = options.observe;
  const run = new RangeRun(client, input, { signal: stop.signal, deadline, clock }, observe);
  let stopped = false;
  try {
    await run.continueUploads();
    items: for await (const batch of workItems(client, input, stop.signal)) {
      if (observe) {
        const bytes = batch.reduce((sum, item) => sum + (item.source?.size ?? item.destination?.size ?? 0), 0);
        observe({ type: "listed", phase: input.phase, objects: batch.length, bytes });
      }
      for (const item of batch) {
        await run.ready(); // no object starts once the deadline has come, even after waiting for a slot
        if (clock() >= deadline || stop.signal.aborted) {
          stopped = true;
          break items;
        }
        await run.handle(item);
      }
    }
  } catch (err) {
    if (!stop.signal.aborted) {
      clearTimeout(timer);
      throw err;
    }
    stopped = true; // a listing request was aborted at the deadline
  }
  try {
    await run.finish();
  } finally {
    clearTimeout(timer);
  }
  if (!stopped) observe?.({ type: "listing-done", phase: input.phase });
  if (options.recordChanges && run.allChanges.length > 0) await options.recordChanges(changeChunk(run.allChanges));
  const uploads = run.uploads;
  return {
    partition: input.partition,
    phase: input.phase,
    cursor: run.cursor ?? null,
    done: !stopped && !run.unfinished && uploads.length === 0,
    stats: run.stats,
    plannedDeletes: input.phase === "copy" && deletesExtras(input.job) ? run.stats.extra : 0,
    failures: run.failures,
    changes: run.changes,
    uploads,
    handledAhead: run.handledAheadOfCursor,
  };
}

/**
 * The pairs of a partition after the cursor that the job's filters keep, in key order, in
 * batches. An excluded key is out of the run's scope on both sides: never copied, never counted,
 * never deleted.
 */
async function* workItems(client: S3Client, input: SyncRangeInput, signal: AbortSignal): AsyncGenerator<WorkItem[]> {
  const filter = compileFilters(input.job.filters);
  if (!filter) {
    yield* unfilteredWorkItems(client, input, signal);
    return;
  }
  if (input.partition.keys) {
    const keys = input.partition.keys.filter((key) => filter.includes(key));
    yield* unfilteredWorkItems(client, { ...input, partition: { ...input.partition, keys } }, signal);
    return;
  }
  for await (const batch of unfilteredWorkItems(client, input, signal)) {
    const kept = batch.filter((item) => filter.includes(item.key));
    if (kept.length > 0) yield kept;
  }
}

/** The pairs of a partition after the cursor, in key order, in batches. */
async function* unfilteredWorkItems(client: S3Client, input: SyncRangeInput, signal: AbortSignal): AsyncGenerator<WorkItem[]> {
  const { job, partition } = input;
  const cursor = input.cursor ?? undefined;
  if (partition.keys) {
    const keys = partition.keys.filter((key) => cursor === undefined || compareKeys(key, cursor) > 0);
    for (let start = 0; start < keys.length; start += job.concurrency) {
      yield Promise.all(keys.slice(start, start + job.concurrency).map((key) => keyedItem(client, job, key, signal)));
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
  const sourceRange = { ...job.source, startAfter, endBefore: partition.endBefore, abortSignal: signal };
  yield* pairListings(
    job.mode === "restore" && job.asOf !== undefined
      ? listVersionsAsOf(client, { ...sourceRange, asOf: Date.parse(job.asOf) })
      : listObjects(client, sourceRange),
    listObjects(client, { ...job.destination, startAfter, endBefore: partition.endBefore, abortSignal: signal }),
  );
}

async function keyedItem(client: S3Client, job: SyncJob, key: string, signal: AbortSignal): Promise<WorkItem> {
  const [sourceDetails, destinationDetails] = await Promise.all([
    headObject(client, job.source.bucket, job.source.prefix + key, signal),
    headObject(client, job.destination.bucket, job.destination.prefix + key, signal),
  ]);
  const listed = (details?: ObjectDetails): ListedObject | undefined =>
    details && { key, size: details.size, etag: details.etag, lastModified: details.lastModified };
  return { key, source: listed(sourceDetails), destination: listed(destinationDetails), sourceDetails, destinationDetails };
}

/** How a call is bounded in time. */
interface CallLimits {
  /** Aborted at the deadline. */
  signal: AbortSignal;
  deadline: number;
  clock: () => number;
}

/** The state of one call: counters, samples, the work window and the pending delete batch. */
class RangeRun {
  readonly stats: SyncStats;
  readonly failures: SyncFailure[];
  readonly changes: SyncChange[];
  /** Every change this call made, for the change log (`changes` is the sample the result carries). */
  readonly allChanges: SyncChange[] = [];
  private readonly window: OrderedWindow;
  private readonly copier: Copier;
  private readonly job: SyncJob;
  private deleteBatch: string[] = [];
  private lastSeen: string | undefined;
  private deleteCursor: string | undefined;
  /** Multipart copies begun by earlier calls, by relative key, until this call takes them up. */
  private readonly carried: Map<string, PendingUpload>;
  /** Keys after the cursor that the previous call handled (see SyncRangeResult.handledAhead). */
  private readonly handledAhead: Set<string>;
  /** Multipart copies this call leaves open for the next. */
  private readonly stillPending: PendingUpload[];
  private deleteStopped: boolean;

  constructor(
    private readonly client: S3Client,
    private readonly input: SyncRangeInput,
    private readonly limits: CallLimits,
    private readonly observe?: (event: RangeEvent) => void,
  ) {
    this.job = input.job;
    this.stats = { ...emptyStats(), ...input.stats };
    this.failures = (input.failures ?? []).slice(0, SAMPLE_LIMIT);
    this.changes = (input.changes ?? []).slice(0, SAMPLE_LIMIT);
    this.window = new OrderedWindow(this.job.concurrency);
    this.copier = new Copier(client, this.job);
    this.deleteCursor = input.cursor ?? undefined;
    this.carried = new Map((input.uploads ?? []).map((upload) => [upload.key, upload]));
    this.handledAhead = new Set(input.handledAhead ?? []);
    this.stillPending = [];
    this.deleteStopped = false;
  }

  get cursor(): string | undefined {
    return this.input.phase === "delete" ? this.deleteCursor : (this.window.cursor ?? this.input.cursor ?? undefined);
  }

  /** Resolves when an object can start at once (a slot of the window is free). */
  ready(): Promise<void> {
    return this.window.ready();
  }

  /** Whether some work of this call was cut short by the deadline. */
  get unfinished(): boolean {
    return this.window.unfinished > 0 || this.deleteStopped;
  }

  /** Keys this call handled beyond its cursor (behind an object cut short at the deadline). */
  get handledAheadOfCursor(): string[] {
    return this.input.phase === "delete" ? [] : this.window.doneAhead();
  }

  /** The multipart copies to hand to the next call, in key order. */
  get uploads(): PendingUpload[] {
    return [...this.stillPending].sort((a, b) => compareKeys(a.key, b.key));
  }

  /**
   * Continues the multipart copies earlier calls left open, before anything else: their objects
   * lie before the cursor. One whose source changed since fails like any copy of a changed
   * source (and its upload is aborted).
   */
  async continueUploads(): Promise<void> {
    const carried = [...this.carried.values()];
    this.carried.clear();
    await Promise.all(
      carried.map(async (upload) => {
        const toSource = upload.toSource ?? false;
        const [from, to] = toSource ? [this.job.destination, this.job.source] : [this.job.source, this.job.destination];
        try {
          const outcome = await this.copy(upload.key, toSource, {
            sourceBucket: from.bucket,
            sourceKey: from.prefix + upload.key,
            destinationBucket: to.bucket,
            destinationKey: to.prefix + upload.key,
            size: upload.size,
            etag: upload.etag,
          }, upload);
          if (outcome !== PENDING) this.copied(upload.action, upload.key, upload.size);
        } catch (err) {
          if (!this.limits.signal.aborted) this.fail(upload.key, upload.action, err);
          else this.stillPending.push(upload); // cut short before it could say: the next call asks S3
        }
      }),
    );
  }

  /** Counts a finished copy. */
  private copied(action: PendingUpload["action"], key: string, size: number): void {
    if (action === "copy-to-source") this.stats.copiedToSource++;
    else this.stats[action === "copy" ? "copied" : "updated"]++;
    this.stats.bytes += size;
    this.sample({ key, action, reason: "multipart copy finished over several calls", size });
  }

  async handle(item: WorkItem): Promise<void> {
    this.lastSeen = item.key;
    if (this.input.phase === "delete") return this.handleDelete(item);
    if (this.handledAhead.has(item.key)) {
      this.window.skip(item.key); // handled, and counted, by the previous call
      return;
    }
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

  /**
   * Copies one object; PENDING when a multipart copy stopped at the deadline with parts left: its
   * upload goes to the next call, and its object counts as handled for the cursor.
   */
  private async copy(
    key: string,
    toSource: boolean,
    request: CopyRequest,
    resume?: PendingUpload,
    action: PendingUpload["action"] = resume?.action ?? (toSource ? "copy-to-source" : "copy"),
  ): Promise<void | typeof PENDING> {
    const outcome = await this.copier.copy(request, { ...this.limits, resume });
    if ("pending" in outcome) {
      this.stillPending.push({ key, action, ...(toSource ? { toSource } : {}), ...outcome.pending });
      return PENDING;
    }
    return undefined;
  }

  private async act(item: WorkItem, listedVerdict: Verdict): Promise<void | typeof UNFINISHED> {
    let action: string = listedVerdict.action;
    let failed = false;
    // False when the object is handed to the next call (unfinished, or a multipart copy in progress).
    let finished = true;
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
            const outcome = await this.copy(
              item.key,
              false,
              {
                sourceBucket: this.job.source.bucket,
                sourceKey: this.job.source.prefix + item.key,
                destinationBucket: this.job.destination.bucket,
                destinationKey: this.job.destination.prefix + item.key,
                size: source.size,
                etag: source.etag,
                sourceVersionId: source.versionId,
              },
              undefined,
              verdict.action,
            );
            if (outcome === PENDING) {
              finished = false;
              return; // counted when its last part is copied
            }
          }
          this.stats[verdict.action === "copy" ? "copied" : "updated"]++;
          this.stats.bytes += source.size;
          this.sample({ key: item.key, action: verdict.action, reason: verdict.reason, size: source.size });
          return;
        }
        case "copy-to-source": {
          const destination = item.destination as ListedObject;
          if (!this.job.dryRun) {
            const outcome = await this.copy(item.key, true, {
              sourceBucket: this.job.destination.bucket,
              sourceKey: this.job.destination.prefix + item.key,
              destinationBucket: this.job.source.bucket,
              destinationKey: this.job.source.prefix + item.key,
              size: destination.size,
              etag: destination.etag,
            });
            if (outcome === PENDING) {
              finished = false;
              return; // counted when its last part is copied
            }
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
      // Cut short at the deadline: not a failure; the next call handles the object again.
      if (this.limits.signal.aborted) {
        // Listed again by the next call, and counted there.
        if (item.source) this.stats.sourceObjects--;
        if (item.destination) this.stats.destinationObjects--;
        finished = false;
        return UNFINISHED;
      }
      failed = true;
      this.fail(item.key, action, err);
    } finally {
      if (finished) this.handled(item, action === "inspect" ? "unchanged" : (action as HandledAction), failed);
    }
  }

  private async inspect(item: WorkItem): Promise<Verdict> {
    const { signal } = this.limits;
    const [source, destination] = await Promise.all([
      item.sourceDetails ??
        headObject(this.client, this.job.source.bucket, this.job.source.prefix + item.key, signal, item.source?.versionId),
      item.destinationDetails ??
        headObject(this.client, this.job.destination.bucket, this.job.destination.prefix + item.key, signal),
    ]);
    if (!source || !destination) {
      // Gone since it was listed: decide again from what exists now.
      return decideListed({ key: item.key, source: source && item.source, destination: destination && item.destination }, this.job);
    }
    return decideInspected(source, destination, this.job);
  }

  private async handleDelete(item: WorkItem): Promise<void> {
    if (item.source || !item.destination || !deletesExtras(this.job)) return;
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
    if (this.deleteStopped) return;
    const failedKeys = new Set<string>();
    if (keys.length > 0 && !this.job.dryRun) {
      let failures: Awaited<ReturnType<typeof deleteObjects>>;
      try {
        failures = await deleteObjects(
          this.client,
          this.job.destination.bucket,
          keys.map((key) => this.job.destination.prefix + key),
          this.limits.signal,
        );
      } catch (err) {
        if (!this.limits.signal.aborted) throw err;
        // Cut short at the deadline: neither counted nor passed; the next call lists what is left.
        this.deleteStopped = true;
        return;
      }
      const prefixLength = this.job.destination.prefix.length;
      for (const failure of failures) {
        failedKeys.add(failure.key.slice(prefixLength));
        this.fail(failure.key.slice(prefixLength), "delete", failure);
      }
      this.stats.deleted += keys.length - failures.length;
    } else {
      this.stats.deleted += keys.length;
    }
    for (const key of keys.slice(0, SAMPLE_LIMIT)) this.sample({ key, action: "delete", reason: "extra" }, false);
    for (const key of keys) if (!failedKeys.has(key)) this.allChanges.push({ key, action: "delete", reason: "extra" });
    for (const key of this.observe ? keys : []) {
      this.observe?.({ type: "handled", phase: "delete", key, action: "delete", size: 0, ...(failedKeys.has(key) ? { failed: true } : {}) });
    }
    this.deleteCursor = this.lastSeen ?? this.deleteCursor;
  }

  async finish(): Promise<void> {
    if (this.input.phase === "delete") await this.flushDeletes();
    await this.window.drain();
  }

  private sample(change: SyncChange, logged = true): void {
    if (logged) this.allChanges.push(change);
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
