/**
 * Planning: a single-pass merge of two sorted listings into pairs, and the rules that turn a
 * pair into an action. Pure: no S3 calls here; `inspect` verdicts tell the caller to fetch
 * object details (HeadObject) and decide with `decideInspected`.
 *
 * Change detection rule (documented in the README):
 * 1. Sizes differ: changed.
 * 2. ETags equal: same content. Unless the destination was written strictly later than the
 *    source (LastModified), the source's metadata may have been replaced in place after the copy
 *    (same ETag), so inspect. LastModified has one-second resolution in listings, so a copy made
 *    in the same second as its source's last write is inspected on every run: a HEAD per such
 *    object is the price of never missing a metadata change.
 * 3. ETags differ: that alone does not prove a change, because a multipart ETag (`…-N`) depends
 *    on the part size and SSE-KMS ETags are not MD5s. Inspect: the copy is current when the
 *    destination records the source's ETag in `x-amz-meta-bucket-sync-source-etag` (written
 *    whenever a copy's ETag can differ from its source's), or when both sides carry full-object
 *    checksums of the same algorithm that are equal. Otherwise changed. Except outside two-way:
 *    a destination written before the source's current version (LastModified) is not a copy of
 *    it, so changed without inspecting.
 * 4. After inspecting, the metadata a copy carries (Content-Type, Cache-Control,
 *    Content-Disposition, Content-Encoding, Content-Language, Expires, user metadata other than
 *    the marker) must match too.
 * A changed source always has a new ETag or LastModified, so no change is skipped; a copy made
 * by this engine matches by rule 2 or 3, so nothing is recopied forever.
 */
import { type ConflictPolicy, deletesExtras, type RunMode } from "../../model/contract";
import { compareKeys } from "./keys";
import type { ListedObject } from "./listing";

/** User-metadata key (x-amz-meta-…) where a copy records the ETag of the source it came from. */
export const SOURCE_ETAG_METADATA = "bucket-sync-source-etag";

/** A key and what each side holds for it. */
export interface PlanPair {
  key: string;
  source?: ListedObject;
  destination?: ListedObject;
}

/**
 * Merges two key-ordered page streams into pairs, in one pass, holding one page per side.
 * Yields batches of pairs (one batch per page boundary) to keep per-key overhead low.
 */
export async function* pairListings(
  source: AsyncIterable<ListedObject[]>,
  destination: AsyncIterable<ListedObject[]>,
): AsyncGenerator<PlanPair[]> {
  const src = source[Symbol.asyncIterator]();
  const dst = destination[Symbol.asyncIterator]();
  let srcPage: ListedObject[] = [];
  let dstPage: ListedObject[] = [];
  let i = 0;
  let j = 0;
  let srcDone = false;
  let dstDone = false;
  for (;;) {
    // When both sides need a page, ask for both at once: a merge waits for the slower, not the sum.
    const [srcNext, dstNext] = await Promise.all([
      i >= srcPage.length && !srcDone ? src.next() : undefined,
      j >= dstPage.length && !dstDone ? dst.next() : undefined,
    ]);
    if (srcNext) {
      if (srcNext.done) srcDone = true;
      else [srcPage, i] = [srcNext.value, 0];
    }
    if (dstNext) {
      if (dstNext.done) dstDone = true;
      else [dstPage, j] = [dstNext.value, 0];
    }
    const srcLeft = i < srcPage.length;
    const dstLeft = j < dstPage.length;
    if (!srcLeft && !dstLeft) return;
    const batch: PlanPair[] = [];
    if (srcLeft && dstLeft) {
      while (i < srcPage.length && j < dstPage.length) {
        const a = srcPage[i];
        const b = dstPage[j];
        const order = compareKeys(a.key, b.key);
        if (order === 0) {
          batch.push({ key: a.key, source: a, destination: b });
          i++;
          j++;
        } else if (order < 0) {
          batch.push({ key: a.key, source: a });
          i++;
        } else {
          batch.push({ key: b.key, destination: b });
          j++;
        }
      }
    } else if (srcLeft) {
      for (; i < srcPage.length; i++) batch.push({ key: srcPage[i].key, source: srcPage[i] });
    } else {
      for (; j < dstPage.length; j++) batch.push({ key: dstPage[j].key, destination: dstPage[j] });
    }
    yield batch;
  }
}

/** What to do with one key. */
export type Verdict =
  | { action: "copy"; reason: "missing" }
  | { action: "update"; reason: ChangeReason }
  | { action: "copy-to-source"; reason: "missing in source" | ChangeReason }
  | { action: "delete"; reason: "extra" }
  | { action: "extra"; reason: "extra" }
  | { action: "conflict"; reason: ChangeReason }
  | { action: "unchanged" }
  | { action: "inspect" };

export type ChangeReason = "size" | "content" | "metadata";

/** What the planner needs to know about the run. */
export interface PlanSettings {
  mode: RunMode;
  conflictPolicy: ConflictPolicy;
  /** `restore`: delete destination keys the source lacked at `asOf`. @default false */
  delete?: boolean;
}

/** Decides a pair from its listings alone; `inspect` means "fetch details and decideInspected". */
export function decideListed(pair: PlanPair, settings: PlanSettings): Verdict {
  const { source, destination } = pair;
  if (source && !destination) return { action: "copy", reason: "missing" };
  if (!source && destination) {
    if (deletesExtras(settings)) return { action: "delete", reason: "extra" };
    if (settings.mode === "two-way") return { action: "copy-to-source", reason: "missing in source" };
    return { action: "extra", reason: "extra" };
  }
  if (!source || !destination) throw new Error(`empty pair for key "${pair.key}"`);
  if (source.size !== destination.size) return changed("size", source, destination, settings);
  if (source.etag === destination.etag && source.lastModified < destination.lastModified) {
    return { action: "unchanged" };
  }
  // A restore in place reads the very version the destination holds: same ETag, same write.
  if (settings.mode === "restore" && source.etag === destination.etag && source.lastModified === destination.lastModified) {
    return { action: "unchanged" };
  }
  // ETags differ and the destination was written before the source's current version, so it
  // cannot be a copy of that version: changed, without two HEADs. At worst an object rewritten
  // with the same bytes is copied again. Two-way runs still inspect: there a needless copy would
  // be a needless conflict.
  if (settings.mode !== "two-way" && source.etag !== destination.etag && source.lastModified > destination.lastModified) {
    return changed("content", source, destination, settings);
  }
  return { action: "inspect" };
}

/** The headers and metadata of one object, as HeadObject returns them. */
export interface ObjectDetails {
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  /** Expires as an HTTP date string. */
  expires?: string;
  /** User metadata (x-amz-meta-*), keys lower-case. */
  metadata: Record<string, string>;
  /** A full-object checksum, when the store keeps one. */
  checksum?: { algorithm: string; value: string };
}

/** True when the two objects hold the same bytes, by the rule in the module comment. */
export function sameContent(source: ObjectDetails, destination: ObjectDetails): boolean {
  if (source.size !== destination.size) return false;
  if (source.checksum && destination.checksum && source.checksum.algorithm === destination.checksum.algorithm) {
    return source.checksum.value === destination.checksum.value;
  }
  if (source.etag === destination.etag) return true;
  if (destination.metadata[SOURCE_ETAG_METADATA] === source.etag) return true;
  // two-way: the source may itself be a copy of the destination
  return source.metadata[SOURCE_ETAG_METADATA] === destination.etag;
}

/** The metadata a copy carries, in a form that compares equal when the copy is faithful. */
export function carriedMetadata(details: ObjectDetails): Record<string, string> {
  const carried: Record<string, string> = {};
  const headers: Array<[string, string | undefined]> = [
    ["content-type", details.contentType],
    ["cache-control", details.cacheControl],
    ["content-disposition", details.contentDisposition],
    ["content-encoding", details.contentEncoding],
    ["content-language", details.contentLanguage],
    ["expires", details.expires === undefined ? undefined : normalizeHttpDate(details.expires)],
  ];
  for (const [name, value] of headers) if (value !== undefined && value !== "") carried[name] = value;
  for (const [name, value] of Object.entries(details.metadata)) {
    if (name !== SOURCE_ETAG_METADATA) carried[`x-amz-meta-${name.toLowerCase()}`] = value;
  }
  return carried;
}

function normalizeHttpDate(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toUTCString();
}

/** Names of carried headers whose values differ; empty when the copy is faithful. */
export function metadataDifferences(source: ObjectDetails, destination: ObjectDetails): string[] {
  const a = carriedMetadata(source);
  const b = carriedMetadata(destination);
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) => a[name] !== b[name]).sort();
}

/** Decides a pair present on both sides from the details of both objects. */
export function decideInspected(source: ObjectDetails, destination: ObjectDetails, settings: PlanSettings): Verdict {
  if (!sameContent(source, destination)) return changed("content", source, destination, settings);
  if (metadataDifferences(source, destination).length > 0) return changed("metadata", source, destination, settings);
  return { action: "unchanged" };
}

function changed(
  reason: ChangeReason,
  source: { lastModified: number },
  destination: { lastModified: number },
  settings: PlanSettings,
): Verdict {
  if (settings.mode !== "two-way") return { action: "update", reason };
  if (settings.conflictPolicy === "newer-wins") {
    return destination.lastModified > source.lastModified
      ? { action: "copy-to-source", reason }
      : { action: "update", reason };
  }
  return { action: "conflict", reason };
}

/** Which side of a pair was written last, by the LastModified its listing shows. */
export function newerSide(pair: PlanPair): "source" | "destination" | "same" {
  const source = pair.source?.lastModified ?? 0;
  const destination = pair.destination?.lastModified ?? 0;
  return source === destination ? "same" : source > destination ? "source" : "destination";
}
