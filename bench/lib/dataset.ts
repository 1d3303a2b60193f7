/**
 * The benchmark's data: key shapes, object sizes, filling the source, changing a share of it,
 * and checking that a destination is a faithful copy (keys, sizes, ETags; content hashes where
 * ETags differ, as after a multipart copy).
 */
import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";

/**
 * How keys look. `flat`: `object-000042.bin` at the top level. `prefixed`: 16 top-level prefixes
 * (`shard-07/object-000042.bin`). `deep`: one top-level prefix with dated folders below it
 * (`data/2025/03/14/object-000042.json`), the shape top-level partitioning cannot split.
 * `awkward`: spaces, `+ ? # % & =` and non-ASCII characters in every key.
 */
export const KEY_SHAPES = ["flat", "prefixed", "deep", "awkward"] as const;
export type KeyShape = (typeof KEY_SHAPES)[number];

export function objectKey(shape: KeyShape, i: number): string {
  const n = String(i).padStart(6, "0");
  switch (shape) {
    case "flat":
      return `object-${n}.bin`;
    case "prefixed":
      return `shard-${String(i % 16).padStart(2, "0")}/object-${n}.bin`;
    case "deep": {
      const month = String((i % 12) + 1).padStart(2, "0");
      const day = String((Math.floor(i / 12) % 28) + 1).padStart(2, "0");
      return `data/2025/${month}/${day}/object-${n}.json`;
    }
    case "awkward":
      return `awkward key ${n} +?#%&=äß€.bin`;
  }
}

/** Parses `1024`, `1KiB`, `64KiB`, `8MiB`. */
export function parseSize(text: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: "${text}" (use e.g. 1KiB, 64KiB, 8MiB)`);
  const unit = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[(match[2] ?? "B").toLowerCase() as "b"];
  return Number(match[1]) * unit;
}

/** The benchmark data set: `objects` keys of one shape, sizes taken in turn from `sizes`. */
export interface Dataset {
  bucket: string;
  objects: number;
  shape: KeyShape;
  sizes: number[];
}

export function keysOf(dataset: Dataset): string[] {
  return Array.from({ length: dataset.objects }, (_, i) => objectKey(dataset.shape, i));
}

/** Deterministic content for object `i` at `version`: the same size, different bytes per version. */
function body(i: number, version: number, size: number): Buffer {
  const seed = createHash("sha256").update(`${i}:${version}`).digest();
  const out = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += seed.length) seed.copy(out, offset, 0, Math.min(seed.length, size - offset));
  return out;
}

export async function createBuckets(client: S3Client, names: string[]): Promise<void> {
  for (const name of names) await client.send(new CreateBucketCommand({ Bucket: name }));
}

/** Writes version `version` of objects `indexes` into the source bucket. */
export async function writeObjects(client: S3Client, dataset: Dataset, indexes: number[], version: number): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(
    indexes.map((i) =>
      limit(() =>
        client.send(
          new PutObjectCommand({
            Bucket: dataset.bucket,
            Key: objectKey(dataset.shape, i),
            Body: body(i, version, dataset.sizes[i % dataset.sizes.length]),
            ContentType: "application/octet-stream",
          }),
        ),
      ),
    ),
  );
}

/** The share of objects a "changed" scenario rewrites in round `round`: every tenth, shifted per round. */
export function changedIndexes(dataset: Dataset, percent: number, round: number): number[] {
  const step = Math.max(1, Math.round(100 / percent));
  const indexes: number[] = [];
  for (let i = round % step; i < dataset.objects; i += step) indexes.push(i);
  return indexes;
}

interface Listed {
  size: number;
  etag: string;
}

export async function listAll(client: S3Client, bucket: string): Promise<Map<string, Listed>> {
  const objects = new Map<string, Listed>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      objects.set(item.Key ?? "", { size: item.Size ?? 0, etag: (item.ETag ?? "").replace(/"/g, "") });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

async function sha256Of(client: S3Client, bucket: string, key: string): Promise<string> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await object.Body?.transformToByteArray();
  return createHash("sha256").update(bytes ?? new Uint8Array()).digest("hex");
}

/** What a faithfulness check found: every key, size and content equal, or the first problems. */
export interface Verification {
  faithful: boolean;
  objects: number;
  /** Objects whose ETags differed and were compared by content hash instead. */
  hashed: number;
  problems: string[];
}

/**
 * Compares a destination with the source: the same keys, sizes and ETags; where ETags differ
 * (a multipart copy's ETag depends on its part size), the SHA-256 of both objects' bytes.
 */
export async function verifyCopy(client: S3Client, source: string, destination: string): Promise<Verification> {
  const [a, b] = await Promise.all([listAll(client, source), listAll(client, destination)]);
  const problems: string[] = [];
  let hashed = 0;
  const limit = pLimit(16);
  const checks: Array<Promise<void>> = [];
  for (const [key, src] of a) {
    const dst = b.get(key);
    if (!dst) problems.push(`missing: ${key}`);
    else if (dst.size !== src.size) problems.push(`size ${dst.size} != ${src.size}: ${key}`);
    else if (dst.etag !== src.etag) {
      hashed++;
      checks.push(
        limit(async () => {
          const [x, y] = await Promise.all([sha256Of(client, source, key), sha256Of(client, destination, key)]);
          if (x !== y) problems.push(`content differs: ${key}`);
        }),
      );
    }
  }
  for (const key of b.keys()) if (!a.has(key)) problems.push(`extra: ${key}`);
  await Promise.all(checks);
  return { faithful: problems.length === 0, objects: a.size, hashed, problems: problems.slice(0, 5) };
}
