/**
 * Convergence checks for sync runs over a real S3-compatible server: whether a destination holds
 * exactly what its source holds (keys, sizes, content hashes and carried metadata, as `snapshot`
 * in ./s3.ts defines them), read in parallel so buckets of thousands of objects stay quick, and
 * reported as the first few differences rather than two dumps of thousands of entries.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { SOURCE_ETAG_METADATA } from "../../handlers/engine/planner";
import { listKeys } from "./s3";

/** A bucket and a key prefix. */
export interface Place {
  bucket: string;
  prefix?: string;
}

/**
 * The same map as `snapshot` (./s3.ts): relative key -> JSON of size, SHA-256, Content-Type,
 * Cache-Control and user metadata (without the engine's source-ETag marker). One GetObject per
 * key, `concurrency` at a time.
 */
export async function parallelSnapshot(client: S3Client, place: Place, concurrency = 32): Promise<Map<string, string>> {
  const prefix = place.prefix ?? "";
  const limit = pLimit(concurrency);
  const listed = await listKeys(client, place.bucket, prefix);
  const entries = await Promise.all(
    listed.map(({ key, size }) =>
      limit(async (): Promise<[string, string]> => {
        const object = await client.send(new GetObjectCommand({ Bucket: place.bucket, Key: prefix + key }));
        const bytes = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
        const metadata = Object.fromEntries(Object.entries(object.Metadata ?? {}).filter(([name]) => name !== SOURCE_ETAG_METADATA));
        return [
          key,
          JSON.stringify({
            size,
            sha256: createHash("sha256").update(bytes).digest("hex"),
            contentType: object.ContentType,
            cacheControl: object.CacheControl,
            metadata,
          }),
        ];
      }),
    ),
  );
  return new Map(entries);
}

/** Keys missing, extra or different in `actual` compared with `expected`, at most `limit` of each. */
export function differences(expected: Map<string, string>, actual: Map<string, string>, limit = 5) {
  const missing = [...expected.keys()].filter((key) => !actual.has(key));
  const extra = [...actual.keys()].filter((key) => !expected.has(key));
  const changed = [...expected.keys()].filter((key) => actual.has(key) && actual.get(key) !== expected.get(key));
  return {
    count: missing.length + extra.length + changed.length,
    missing: missing.slice(0, limit),
    extra: extra.slice(0, limit),
    changed: changed.slice(0, limit).map((key) => ({ key, expected: expected.get(key), actual: actual.get(key) })),
  };
}

/** Asserts that `destination` holds exactly what `source` holds; returns the source's snapshot. */
export async function assertConverged(client: S3Client, source: Place, destination: Place, context = ""): Promise<Map<string, string>> {
  const [expected, actual] = await Promise.all([parallelSnapshot(client, source), parallelSnapshot(client, destination)]);
  const found = differences(expected, actual);
  assert.equal(
    found.count,
    0,
    `${context ? `${context}: ` : ""}s3://${destination.bucket}/${destination.prefix ?? ""} differs from s3://${source.bucket}/${source.prefix ?? ""} in ${found.count} keys: ${JSON.stringify(found, null, 1)}`,
  );
  return expected;
}
