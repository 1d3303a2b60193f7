/**
 * Convergence assertions for sync runs over a real S3-compatible server, on the engine's one
 * faithful-copy check (handlers/engine/faithfulCopy.ts): a failure names the first few
 * differences rather than dumping two maps of thousands of entries.
 */
import { strict as assert } from "node:assert";
import type { S3Client } from "@aws-sdk/client-s3";
import { compareCopy, type Place } from "../../handlers/engine/faithfulCopy";

/** Asserts that `destination` holds exactly what `source` holds; returns the source's fingerprints. */
export async function assertConverged(client: S3Client, source: Place, destination: Place, context = ""): Promise<Map<string, string>> {
  const { source: expected, ...found } = await compareCopy(client, source, destination);
  assert.equal(
    found.count,
    0,
    `${context ? `${context}: ` : ""}s3://${destination.bucket}/${destination.prefix ?? ""} differs from s3://${source.bucket}/${source.prefix ?? ""} in ${found.count} keys: ${JSON.stringify({ missing: found.missing, extra: found.extra, changed: found.changed }, null, 1)}`,
  );
  return expected;
}
