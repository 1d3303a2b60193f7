/**
 * Partition planning: split the key space into contiguous ranges that workers sync in parallel,
 * each holding about the same work.
 *
 * Both buckets are sampled (see keySample.ts): a key present only in the destination is work
 * too (a delete in a mirror, an extra counted in a backup). Each range's work is estimated as
 * its keys plus its bytes in units of WORK_BYTES_PER_KEY, since a range of a thousand 1 GiB
 * objects is not a range of a thousand 1 KiB objects; where both sides hold keys, the larger
 * side counts (a destination mostly mirrors its source). Boundaries are chosen among the listed
 * keys of both sides at even steps of cumulative work.
 *
 * Partition i holds the relative keys k with b(i-1) < k <= b(i); its exclusive `endBefore` is
 * successor(b(i)). The ranges are contiguous and cover every key after the request's
 * `startAfter`, so a key present only in the destination still lands in exactly one range.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { Partition, SyncJob } from "../../model/contract";
import { compareKeys, successor } from "./keys";
import { type Cumulative, type KeyLister, KeySample, PAGE_KEYS } from "./keySample";
import { s3KeyLister, s3VersionKeyLister } from "./listing";
import { schedulingOrder } from "./schedule";

/** Most keys in one partition of a key-scoped (on-change) run. */
export const KEYS_PER_PARTITION = 1000;
/**
 * Bytes that weigh as much as one object when balancing work: a copy's per-request cost (about
 * 30-60 ms per object on S3) is worth about this many bytes of server-side copy throughput.
 */
export const WORK_BYTES_PER_KEY = 8 * 1024 ** 2;
/** Sampling stops when no unlisted gap holds more than this share of a partition's work. */
const REFINE_SHARE = 1 / 8;
/**
 * Probes per side sent at once in a sampling round: at least 32, and more with more partitions,
 * so a plan takes about the same number of rounds (each re-estimates every gap) at any size.
 */
const probesPerRound = (partitions: number) => Math.max(32, Math.ceil(partitions / 2));
/**
 * Pages each side is listed from its start before sampling takes over: a side of up to this many
 * thousand keys is listed whole (exact, and no dearer than a listing); a larger one has spent a
 * few sequential calls whose keys the sample keeps.
 */
export const HEAD_CALLS = 8;
/** Gaps a side's listing reads on at once once it lists the rest, and the pages a gap must hold to be split. */
const LISTING_PARALLELISM = 16;
const LISTING_SPLIT_PAGES = 8;
/**
 * Calls a side is read on from its start, one at a time as a plain listing reads it, before the
 * end of its key space is looked for and the listing goes parallel: a bucket of up to this many
 * thousand keys is planned for exactly what a listing costs.
 */
const LISTING_SPLIT_AFTER = 12;
/**
 * Share of the budget a side spends listing before it samples: the sample's first estimates of a
 * large key space are far off (a number line learned from a few pages), so a side that a listing
 * would cover in this many calls is listed whatever they say.
 */
const LISTING_SHARE = 1 / 2;

/**
 * Listing calls the planner may make per side: grows with the partitions asked, not the keys;
 * 16 a partition up to 128 partitions, 1 a partition beyond. Past a hundred or so ranges, the
 * Map's queue evens out what a coarser estimate misses (engine/schedule.ts), and the planner's
 * CPU stays bounded: it grows with the calls.
 */
export function listCallBudget(partitions: number): number {
  return 64 + 16 * Math.min(partitions, BUDGET_KNEE) + Math.max(0, partitions - BUDGET_KNEE);
}
const BUDGET_KNEE = 128;

/** What range planning needs. */
export interface RangePlanOptions {
  /** Partitions asked. */
  partitions: number;
  /** Fewest keys per partition: fewer partitions are planned for a small key space. */
  minKeysPerPartition: number;
  /** Plan only keys after this relative key. */
  startAfter?: string;
}

/** A plan and what it cost. */
export interface RangePlan {
  partitions: Partition[];
  /** Listing calls made, per side. */
  listCalls: { source: number; destination: number };
  /** Estimated keys (the larger side per stretch) and bytes of the planned key space. */
  estimatedKeys: number;
  estimatedBytes: number;
  /** Estimated work of each partition, by id (keys plus bytes / WORK_BYTES_PER_KEY). */
  estimatedWork: number[];
}

const work = (c: Cumulative) => c.count + c.bytes / WORK_BYTES_PER_KEY;

/**
 * Plans balanced ranges over the union of two sides' keys, sampling each through its lister.
 *
 * Planning never costs more than listing: each side is first listed from its start, page after
 * page, for up to HEAD_CALLS calls (a small bucket ends there: its plan is exact and costs exactly
 * its listing). A side that holds more is sampled, and as soon as the rest of it can be listed in
 * fewer calls than what is left of the budget (by the sample's own estimate of its unlisted gaps),
 * every gap is listed through to the next page instead, the gaps in parallel: a bucket that fits
 * the budget is planned from its whole listing. Each round's probes, of both sides, are sent at
 * once.
 */
export async function planRanges(source: KeyLister, destination: KeyLister, options: RangePlanOptions): Promise<RangePlan> {
  // boundaries at least every quarter of the smallest partition
  const anchorEvery = Math.floor(options.minKeysPerPartition / 4);
  const sides = [new KeySample(source, options.startAfter, anchorEvery), new KeySample(destination, options.startAfter, anchorEvery)];
  const budget = listCallBudget(options.partitions);
  const headCalls = options.partitions > 1 ? Math.min(budget, HEAD_CALLS) : 1;
  await Promise.all(sides.map((side) => side.start(headCalls, false)));
  if (options.partitions > 1) {
    for (;;) {
      const probes = sides.flatMap((side) => {
        const left = budget - side.calls;
        if (left <= 0) return [];
        if (!side.endKnown) {
          // Still one run from the start: read on like a plain listing while the side may be
          // small; past LISTING_SPLIT_AFTER pages, find the end of the key space and go parallel.
          const readOn = side.calls < Math.min(LISTING_SPLIT_AFTER, budget * LISTING_SHARE);
          return [() => (readOn ? side.readOn() : side.findEnd())];
        }
        const all = side.gaps();
        // the rest of the side, listed: one call per page of each gap's estimated keys
        const listing = all.reduce((sum, gap) => sum + Math.ceil(gap.count / PAGE_KEYS), 0);
        if (side.calls < budget * LISTING_SHARE || listing <= left) {
          // List the rest. Gaps are read on in parallel; a long one is split at its midpoint
          // first while there are few gaps (each split costs about one call more than a listing).
          const split = all.length < LISTING_PARALLELISM;
          return all.slice(0, left).map((gap) => () => side.probe(gap, 1, split && gap.count > LISTING_SPLIT_PAGES * PAGE_KEYS));
        }
        const totals = side.totals();
        const perKey = totals.count > 0 ? work(totals) / totals.count : 1;
        const share = Math.max(work(totals) / options.partitions, options.minKeysPerPartition * perKey);
        const gaps = all
          .filter((gap) => work(gap) > share * REFINE_SHARE)
          .sort((a, b) => work(b) - work(a))
          .slice(0, Math.min(probesPerRound(options.partitions), left));
        // each gap may spend its share of what is left of the budget on halving empty stretches
        const calls = Math.max(1, Math.floor(left / Math.max(1, gaps.length) / 4));
        return gaps.map((gap) => () => side.probe(gap, calls));
      });
      if (probes.length === 0) break;
      await Promise.all(probes.map((probe) => probe()));
    }
  }
  return { ...chooseRanges(sides[0], sides[1], options), listCalls: { source: sides[0].calls, destination: sides[1].calls } };
}

/** Boundaries at even steps of estimated union work, among the listed keys of both sides. */
function chooseRanges(source: KeySample, destination: KeySample, options: RangePlanOptions) {
  const candidates = [...new Set([...source.anchorKeys(), ...destination.anchorKeys()])].sort(compareKeys);
  const sides = [source, destination].map((side) => ({ side, prefix: side.prefixSums(), totals: side.totals() }));
  let previous = sides.map(() => ({ count: 0, bytes: 0 }));
  let count = 0;
  let bytes = 0;
  const cumulativeWork: number[] = [];
  for (const key of candidates) {
    const here = sides.map(({ side, prefix }) => side.cumulativeAt(key, prefix));
    const step = here.map((c, i) => ({ count: c.count - previous[i].count, bytes: c.bytes - previous[i].bytes }));
    const larger = work(step[0]) >= work(step[1]) ? step[0] : step[1];
    count += larger.count;
    bytes += larger.bytes;
    cumulativeWork.push(work({ count, bytes }));
    previous = here;
  }
  const rest = sides.map(({ totals }, i) => ({ count: totals.count - previous[i].count, bytes: totals.bytes - previous[i].bytes }));
  const last = work(rest[0]) >= work(rest[1]) ? rest[0] : rest[1];
  count += last.count;
  bytes += last.bytes;
  const total = work({ count, bytes });
  const wanted = Math.max(1, Math.min(options.partitions, Math.floor(count / options.minKeysPerPartition)));
  const boundaries: string[] = [];
  const boundaryWork: number[] = [];
  let from = 0;
  for (let i = 1; i < wanted; i++) {
    const target = (i * total) / wanted;
    let index = from;
    while (index < cumulativeWork.length - 1 && cumulativeWork[index + 1] <= target) index++;
    if (index + 1 < cumulativeWork.length && target - cumulativeWork[index] > cumulativeWork[index + 1] - target) index++;
    if (index >= cumulativeWork.length) break;
    const boundary = candidates[index];
    if (boundaries.length === 0 || compareKeys(boundary, boundaries[boundaries.length - 1]) > 0) {
      boundaries.push(boundary);
      boundaryWork.push(cumulativeWork[index]);
    }
    from = index + 1;
  }
  const ends = [...boundaryWork, total];
  const estimatedWork = ends.map((end, i) => Math.max(0, end - (i > 0 ? ends[i - 1] : 0)));
  return {
    partitions: partitionsFromBoundaries(boundaries, options.startAfter),
    estimatedKeys: Math.round(count),
    estimatedBytes: Math.round(bytes),
    estimatedWork,
  };
}

/** Turns sorted boundaries into contiguous partitions covering the key space after `startAfter`. */
export function partitionsFromBoundaries(boundaries: string[], startAfter?: string): Partition[] {
  const partitions: Partition[] = [];
  let lower = startAfter;
  for (const boundary of boundaries) {
    partitions.push({ id: partitions.length, startAfter: lower, endBefore: successor(boundary) });
    lower = boundary;
  }
  partitions.push({ id: partitions.length, startAfter: lower });
  return partitions;
}

/** Splits a key-scoped run into partitions of at most KEYS_PER_PARTITION sorted keys. */
export function partitionsFromKeys(keys: string[]): Partition[] {
  const sorted = [...new Set(keys)].sort(compareKeys);
  const partitions: Partition[] = [];
  for (let start = 0; start < sorted.length; start += KEYS_PER_PARTITION) {
    partitions.push({ id: partitions.length, keys: sorted.slice(start, start + KEYS_PER_PARTITION) });
  }
  return partitions;
}

/**
 * Plans the partitions of a job by listing or sampling both buckets (see planRanges), in the
 * order the Map should start them: largest estimated range first (engine/schedule.ts).
 */
export async function planPartitions(client: S3Client, job: SyncJob): Promise<Partition[]> {
  if (job.keys) {
    const after = job.startAfter;
    return partitionsFromKeys(after === undefined ? job.keys : job.keys.filter((key) => compareKeys(key, after) > 0));
  }
  if (job.partitions <= 1) return partitionsFromBoundaries([], job.startAfter);
  // A restore plans over the source as it was at asOf: the keys it will copy.
  const source = job.mode === "restore" && job.asOf !== undefined ? s3VersionKeyLister(client, job.source, Date.parse(job.asOf)) : s3KeyLister(client, job.source);
  const plan = await planRanges(source, s3KeyLister(client, job.destination), {
    partitions: job.partitions,
    minKeysPerPartition: job.minKeysPerPartition,
    startAfter: job.startAfter,
  });
  return schedulingOrder(plan.estimatedWork).map((i) => plan.partitions[i]);
}
