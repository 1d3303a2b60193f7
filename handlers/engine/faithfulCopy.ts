/**
 * Whether a destination is a faithful copy of its source — the one check the demo, the specs and
 * the benchmarks judge a sync by. Faithful means the same keys (each relative to its side's
 * prefix) and, for every key, the same size, the same bytes (SHA-256 of the object read back),
 * and the same Content-Type, Cache-Control and user metadata, leaving out the engine's
 * source-ETag marker that only a destination carries.
 *
 * Reads every object once, `concurrency` at a time; for proof, not for speed (the sync itself
 * compares listings and HEADs, see planner.ts).
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit = require("p-limit");
import { listObjects } from "./listing";
import { SOURCE_ETAG_METADATA } from "./planner";

/** A bucket and a key prefix. */
export interface Place {
  bucket: string;
  /** @default "" */
  prefix?: string;
}

export interface FingerprintOptions {
  /** Objects read at a time. @default 32 */
  concurrency?: number;
  /**
   * Compare Content-Type, Cache-Control and user metadata too. Off only where the copier under
   * test does not promise metadata (the benchmarks' other tools). @default true
   */
  metadata?: boolean;
}

/**
 * Every object under a place: relative key -> its fingerprint (JSON of size, SHA-256 and, by
 * default, the carried metadata). Two places hold the same objects when their maps are equal.
 */
export async function fingerprints(client: S3Client, place: Place, options: FingerprintOptions = {}): Promise<Map<string, string>> {
  const prefix = place.prefix ?? "";
  const limit = pLimit(options.concurrency ?? 32);
  const withMetadata = options.metadata ?? true;
  const reads: Array<Promise<[string, string]>> = [];
  for await (const page of listObjects(client, { bucket: place.bucket, prefix })) {
    for (const { key, size } of page) {
      reads.push(
        limit(async (): Promise<[string, string]> => {
          const object = await client.send(new GetObjectCommand({ Bucket: place.bucket, Key: prefix + key }));
          const bytes = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
          const sha256 = createHash("sha256").update(bytes).digest("hex");
          if (!withMetadata) return [key, JSON.stringify({ size, sha256 })];
          const metadata = Object.fromEntries(Object.entries(object.Metadata ?? {}).filter(([name]) => name !== SOURCE_ETAG_METADATA));
          return [key, JSON.stringify({ size, sha256, contentType: object.ContentType, cacheControl: object.CacheControl, metadata })];
        }),
      );
    }
  }
  return new Map(await Promise.all(reads));
}

/** How `actual` differs from `expected`: counts, and at most `limit` keys of each kind. */
export interface CopyDifferences {
  /** Keys missing, extra or changed in all. */
  count: number;
  missing: string[];
  extra: string[];
  changed: Array<{ key: string; expected: string | undefined; actual: string | undefined }>;
}

/** Keys missing, extra or different in `actual` compared with `expected` (maps of {@link fingerprints}). */
export function differences(expected: Map<string, string>, actual: Map<string, string>, limit = 5): CopyDifferences {
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [key, print] of expected) {
    const other = actual.get(key);
    if (other === undefined) missing.push(key);
    else if (other !== print) changed.push(key);
  }
  const extra = [...actual.keys()].filter((key) => !expected.has(key));
  return {
    count: missing.length + extra.length + changed.length,
    missing: missing.slice(0, limit),
    extra: extra.slice(0, limit),
    changed: changed.slice(0, limit).map((key) => ({ key, expected: expected.get(key), actual: actual.get(key) })),
  };
}

/** The result of {@link compareCopy}. */
export interface CopyCheck extends CopyDifferences {
  /** Objects in the source. */
  objects: number;
  /** The source's fingerprints, for later comparisons. */
  source: Map<string, string>;
}

/** Compares a destination with its source; faithful when `count` is 0. */
export async function compareCopy(client: S3Client, source: Place, destination: Place, options: FingerprintOptions = {}): Promise<CopyCheck> {
  const [expected, actual] = await Promise.all([fingerprints(client, source, options), fingerprints(client, destination, options)]);
  return { ...differences(expected, actual), objects: expected.size, source: expected };
}

/** One line for a check that found differences: what is missing, extra or changed, a few of each. */
export function describeDifferences(found: CopyDifferences): string {
  const parts = [
    found.missing.length ? `missing ${found.missing.join(", ")}` : "",
    found.extra.length ? `extra ${found.extra.join(", ")}` : "",
    found.changed.length ? `changed ${found.changed.map((c) => c.key).join(", ")}` : "",
  ].filter(Boolean);
  return `${found.count} keys differ: ${parts.join("; ")}`;
}
