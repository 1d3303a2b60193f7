/**
 * The benchmark's data: key shapes, object sizes, filling the source and changing a share of
 * it. Whether a destination is a faithful copy is the engine's one check
 * (handlers/engine/faithfulCopy.ts).
 */
import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
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
