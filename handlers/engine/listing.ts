/**
 * Listing: ListObjectsV2 as an async stream of pages, bounded to a key range. Keys come out
 * relative to the listed prefix, so two listings under different prefixes can be merged.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { EngineError, ERROR_NAMES } from "./errors";
import { requestSignal } from "./s3Client";
import { compareKeys, successor } from "./keys";
import type { KeyLister } from "./keySample";

/** One object as a listing shows it. `key` is relative to the listed prefix. */
export interface ListedObject {
  key: string;
  size: number;
  /** ETag without quotes. */
  etag: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
}

export interface ListOptions {
  bucket: string;
  /** @default "" */
  prefix?: string;
  /** Exclusive lower bound, relative to the prefix. */
  startAfter?: string;
  /** Exclusive upper bound, relative to the prefix: listing stops before it. */
  endBefore?: string;
  /** Keys per request (S3 caps it at 1000). @default 1000 */
  pageSize?: number;
  /** Aborts the listing's requests (a call's deadline). */
  abortSignal?: AbortSignal;
}

/** Strips the quotes S3 puts around ETags. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^W\//, "").replace(/"/g, "");
}

/**
 * Streams the objects of a bucket under a prefix, a page at a time, in S3's UTF-8 byte order.
 * Holds one page in memory. Throws ListingOrderError if the server breaks that order, since a
 * merge of misordered listings could delete or skip objects.
 */
export async function* listObjects(client: S3Client, options: ListOptions): AsyncGenerator<ListedObject[]> {
  const prefix = options.prefix ?? "";
  let continuationToken: string | undefined;
  let previous: string | undefined = options.startAfter;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: options.bucket,
        Prefix: prefix || undefined,
        StartAfter: continuationToken || options.startAfter === undefined ? undefined : prefix + options.startAfter,
        ContinuationToken: continuationToken,
        MaxKeys: options.pageSize ?? 1000,
      }),
      { abortSignal: requestSignal(options.abortSignal) },
    );
    const objects: ListedObject[] = [];
    for (const item of page.Contents ?? []) {
      const key = (item.Key ?? "").slice(prefix.length);
      if (previous !== undefined && compareKeys(key, previous) <= 0) {
        throw new EngineError(
          ERROR_NAMES.listingOrder,
          `s3://${options.bucket}/${prefix} listed "${key}" after "${previous}": the server does not list in UTF-8 byte order`,
        );
      }
      previous = key;
      if (options.endBefore !== undefined && compareKeys(key, options.endBefore) >= 0) {
        if (objects.length > 0) yield objects;
        return;
      }
      objects.push({
        key,
        size: item.Size ?? 0,
        etag: normalizeEtag(item.ETag),
        lastModified: item.LastModified?.getTime() ?? 0,
      });
    }
    if (objects.length > 0) yield objects;
    // The page ended on the range's last possible key (endBefore is its successor): the range is
    // complete without asking for a page that would lie wholly past it.
    if (options.endBefore !== undefined && previous !== undefined && successor(previous) === options.endBefore) return;
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && !continuationToken) {
      throw new EngineError(ERROR_NAMES.listingOrder, `s3://${options.bucket}/${prefix}: truncated listing without a continuation token`);
    }
  } while (continuationToken);
}

/**
 * The planner's narrow view of a bucket: one ListObjectsV2 call per `list`, keys relative to the
 * location's prefix. Keys must come back in UTF-8 byte order (KeySample checks).
 */
export function s3KeyLister(client: S3Client, location: { bucket: string; prefix?: string }): KeyLister {
  const prefix = location.prefix ?? "";
  return {
    async list(startAfter, maxKeys) {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: prefix || undefined,
          StartAfter: startAfter === undefined ? undefined : prefix + startAfter,
          MaxKeys: maxKeys,
        }),
      );
      const keys = (page.Contents ?? []).map((item) => ({ key: (item.Key ?? "").slice(prefix.length), size: item.Size ?? 0 }));
      return { keys, truncated: page.IsTruncated === true };
    },
  };
}
