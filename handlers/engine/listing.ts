/**
 * Listing: ListObjectsV2 as an async stream of pages, bounded to a key range. Keys come out
 * relative to the listed prefix, so two listings under different prefixes can be merged.
 */
import { ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
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
  /** The version listed, when the listing is of a versioned bucket as of a time (restore). */
  versionId?: string;
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

/** Options of a listing of a versioned bucket as it was at a time. */
export interface VersionListOptions extends ListOptions {
  /** Milliseconds since the epoch: each key's version current then is listed. */
  asOf: number;
}

/** One entry of ListObjectVersions: a version or a delete marker, keys relative to the prefix. */
interface VersionEntry {
  key: string;
  versionId: string;
  lastModified: number;
  deleteMarker: boolean;
  size: number;
  etag: string;
}

/**
 * Streams the objects of a versioned bucket as they were at `asOf`, a page at a time, in UTF-8
 * byte order: for each key, the newest version written at or before `asOf` (LastModified). A key
 * whose newest version then was a delete marker, or which had no version then, did not exist and
 * is left out. Each object carries its `versionId`, to copy exactly that version.
 *
 * ListObjectVersions returns a key's versions newest first, but in two lists (versions and delete
 * markers): they are merged back by key, then LastModified, newest first. Where a version and a
 * delete marker of one key share a LastModified, the delete marker is taken as the newer (S3's
 * LastModified has one-second resolution in listings): a restore then leaves such a key out
 * rather than bring back an object that may have been deleted that second.
 */
export async function* listVersionsAsOf(client: S3Client, options: VersionListOptions): AsyncGenerator<ListedObject[]> {
  const prefix = options.prefix ?? "";
  let keyMarker = options.startAfter === undefined ? undefined : prefix + options.startAfter;
  let versionIdMarker: string | undefined;
  let previous: string | undefined = options.startAfter;
  /** The key whose versions are being read, and whether its version at asOf was found. */
  let currentKey: string | undefined;
  let decided = false;
  for (;;) {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: options.bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: options.pageSize ?? 1000,
      }),
      { abortSignal: options.abortSignal },
    );
    const entries: VersionEntry[] = [
      ...(page.Versions ?? []).map((v) => ({
        key: (v.Key ?? "").slice(prefix.length),
        versionId: v.VersionId ?? "null",
        lastModified: v.LastModified?.getTime() ?? 0,
        deleteMarker: false,
        size: v.Size ?? 0,
        etag: normalizeEtag(v.ETag),
      })),
      ...(page.DeleteMarkers ?? []).map((m) => ({
        key: (m.Key ?? "").slice(prefix.length),
        versionId: m.VersionId ?? "null",
        lastModified: m.LastModified?.getTime() ?? 0,
        deleteMarker: true,
        size: 0,
        etag: "",
      })),
    ].sort((a, b) => compareKeys(a.key, b.key) || b.lastModified - a.lastModified || Number(b.deleteMarker) - Number(a.deleteMarker));
    const objects: ListedObject[] = [];
    for (const entry of entries) {
      if (entry.key !== currentKey) {
        if (previous !== undefined && compareKeys(entry.key, previous) <= 0) {
          throw new EngineError(
            ERROR_NAMES.listingOrder,
            `s3://${options.bucket}/${prefix} listed versions of "${entry.key}" after "${previous}": the server does not list in UTF-8 byte order`,
          );
        }
        previous = currentKey = entry.key;
        decided = false;
        if (options.endBefore !== undefined && compareKeys(entry.key, options.endBefore) >= 0) {
          if (objects.length > 0) yield objects;
          return;
        }
      }
      if (decided || entry.lastModified > options.asOf) continue;
      decided = true;
      if (!entry.deleteMarker) {
        objects.push({ key: entry.key, size: entry.size, etag: entry.etag, lastModified: entry.lastModified, versionId: entry.versionId });
      }
    }
    if (objects.length > 0) yield objects;
    if (!page.IsTruncated) return;
    if (page.NextKeyMarker === undefined) {
      throw new EngineError(ERROR_NAMES.listingOrder, `s3://${options.bucket}/${prefix}: truncated version listing without a NextKeyMarker`);
    }
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/**
 * The planner's view of a versioned bucket as it was at `asOf` (see listVersionsAsOf): `list`
 * returns up to `maxKeys` keys that existed then, reading as many version pages as that takes.
 */
export function s3VersionKeyLister(client: S3Client, location: { bucket: string; prefix?: string }, asOf: number): KeyLister {
  return {
    async list(startAfter, maxKeys) {
      const keys: Array<{ key: string; size: number }> = [];
      for await (const page of listVersionsAsOf(client, { ...location, startAfter, asOf, pageSize: Math.min(1000, maxKeys + 1) })) {
        for (const object of page) {
          if (keys.length === maxKeys) return { keys, truncated: true };
          keys.push({ key: object.key, size: object.size });
        }
      }
      return { keys, truncated: false };
    },
  };
}
