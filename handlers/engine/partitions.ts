/**
 * Partition planning: split the key space into contiguous ranges that workers sync in parallel.
 *
 * Boundaries come from the source's top-level entries under the prefix (common prefixes such as
 * `photos/`, and top-level keys), spread evenly. Partition i holds the relative keys k with
 * b(i-1) < k <= b(i); its exclusive `endBefore` is successor(b(i)). The ranges are contiguous and
 * cover every key, so a key present only in the destination still lands in exactly one range.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Partition, SyncJob } from "../../model/contract";
import { compareKeys, successor } from "./keys";

/** Most keys in one partition of a key-scoped (on-change) run. */
export const KEYS_PER_PARTITION = 1000;
/** How many top-level entries to read when choosing boundaries. */
export const BOUNDARY_SAMPLE = 10_000;
/**
 * Fewest keys a partition gets when the planning listing saw every key (a flat key space of at
 * most BOUNDARY_SAMPLE keys). A partition costs a LIST per side, a sync-range invocation and
 * three state transitions; below one listing page of keys that buys no parallelism worth it.
 */
export const MIN_KEYS_PER_PARTITION = 1000;

/**
 * Chooses up to `count - 1` boundaries, evenly spread over sorted top-level entries. A boundary
 * is the entry that starts the next group: everything under the previous prefixes sorts at or
 * below it, and its own contents (`photos/…`) sort above it.
 */
export function chooseBoundaries(candidates: string[], count: number): string[] {
  const sorted = [...new Set(candidates)].sort(compareKeys);
  const wanted = Math.min(count - 1, sorted.length - 1);
  const boundaries: string[] = [];
  for (let i = 1; i <= wanted; i++) {
    boundaries.push(sorted[Math.floor((i * sorted.length) / (wanted + 1))]);
  }
  return [...new Set(boundaries)];
}

/** Turns sorted boundaries into contiguous partitions covering the whole key space. */
export function partitionsFromBoundaries(boundaries: string[]): Partition[] {
  const partitions: Partition[] = [];
  let startAfter: string | undefined;
  for (const boundary of boundaries) {
    partitions.push({ id: partitions.length, startAfter, endBefore: successor(boundary) });
    startAfter = boundary;
  }
  partitions.push({ id: partitions.length, startAfter });
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

/** Plans the partitions of a job, reading at most BOUNDARY_SAMPLE top-level source entries. */
export async function planPartitions(client: S3Client, job: SyncJob): Promise<Partition[]> {
  if (job.keys) return partitionsFromKeys(job.keys);
  if (job.partitions <= 1) return partitionsFromBoundaries([]);
  const prefix = job.source.prefix;
  const candidates: string[] = [];
  let sawPrefixes = false;
  let continuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: job.source.bucket,
        Prefix: prefix || undefined,
        Delimiter: "/",
        ContinuationToken: continuationToken,
      }),
    );
    for (const common of page.CommonPrefixes ?? []) {
      sawPrefixes = true;
      candidates.push((common.Prefix ?? "").slice(prefix.length));
    }
    for (const item of page.Contents ?? []) candidates.push((item.Key ?? "").slice(prefix.length));
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken && candidates.length < BOUNDARY_SAMPLE);
  const keys = candidates.filter((key) => key !== "");
  const count =
    continuationToken || sawPrefixes
      ? job.partitions
      : Math.min(job.partitions, Math.max(1, Math.floor(keys.length / MIN_KEYS_PER_PARTITION)));
  return partitionsFromBoundaries(chooseBoundaries(keys, count));
}
