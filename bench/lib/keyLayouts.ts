/**
 * Generated key listings for planning specs and benchmarks: the key layouts users' buckets have,
 * at any size up to hundreds of millions of keys, without holding them. A layout is a list of
 * segments; each maps a rank to a key by a strictly increasing function, and segments follow
 * each other in key order, so any rank, and the rank of any key, is computed on demand.
 * `lister` answers the planner's listing calls (StartAfter, MaxKeys) as S3 would.
 */
import { compareKeys } from "../../handlers/engine/keys";
import type { KeyLister, SampledKey } from "../../handlers/engine/keySample";

/** A run of keys: `key(i)` increases strictly with i, for i from 0 to count - 1. */
export interface Segment {
  count: number;
  key(i: number): string;
  /** Bytes of every key of the segment. */
  size: number;
  /** Which bucket holds the segment's keys. @default "both" */
  side?: "both" | "source" | "destination";
}

/** Keys in key order across segments, listed and counted without being held. */
export class GeneratedListing {
  readonly count: number;
  private readonly segments: Segment[];

  constructor(segments: Segment[]) {
    this.segments = segments.filter((segment) => segment.count > 0);
    this.count = this.segments.reduce((sum, segment) => sum + segment.count, 0);
    for (let s = 1; s < this.segments.length; s++) {
      const before = this.segments[s - 1];
      if (compareKeys(before.key(before.count - 1), this.segments[s].key(0)) >= 0) {
        throw new Error(`segment ${s} does not start after segment ${s - 1} ends`);
      }
    }
  }

  /** Keys at or below `key` (all keys below when `key` is undefined is 0). */
  rank(key: string | undefined): number {
    if (key === undefined) return 0;
    let before = 0;
    for (const segment of this.segments) {
      let low = 0;
      let high = segment.count;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        if (compareKeys(segment.key(mid), key) <= 0) low = mid + 1;
        else high = mid;
      }
      if (low < segment.count) return before + low;
      before += segment.count;
    }
    return before;
  }

  /** Keys k with startAfter < k < endBefore. */
  countBetween(startAfter?: string, endBefore?: string): number {
    const upper = endBefore === undefined ? this.count : this.rankBelow(endBefore);
    return Math.max(0, upper - this.rank(startAfter));
  }

  /** Bytes of the keys k with startAfter < k < endBefore. */
  bytesBetween(startAfter?: string, endBefore?: string): number {
    const first = this.rank(startAfter);
    const last = endBefore === undefined ? this.count : this.rankBelow(endBefore);
    let bytes = 0;
    let offset = 0;
    for (const segment of this.segments) {
      const from = Math.max(first, offset);
      const to = Math.min(last, offset + segment.count);
      if (to > from) bytes += (to - from) * segment.size;
      offset += segment.count;
    }
    return bytes;
  }

  /** Keys strictly below `key`. */
  private rankBelow(key: string): number {
    let before = 0;
    for (const segment of this.segments) {
      let low = 0;
      let high = segment.count;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        if (compareKeys(segment.key(mid), key) < 0) low = mid + 1;
        else high = mid;
      }
      if (low < segment.count) return before + low;
      before += segment.count;
    }
    return before;
  }

  /** The keys from rank `from`, at most `limit` of them. */
  keysFrom(from: number, limit: number): SampledKey[] {
    const keys: SampledKey[] = [];
    let offset = 0;
    for (const segment of this.segments) {
      for (let i = Math.max(0, from - offset); i < segment.count && keys.length < limit; i++) {
        keys.push({ key: segment.key(i), size: segment.size });
      }
      offset += segment.count;
      if (keys.length >= limit) break;
    }
    return keys;
  }

  /** A lister that counts its calls, answering as ListObjectsV2 with StartAfter and MaxKeys. */
  lister(): KeyLister & { calls: number } {
    const listing = this;
    return {
      calls: 0,
      async list(startAfter, maxKeys) {
        this.calls++;
        const from = listing.rank(startAfter);
        const keys = listing.keysFrom(from, maxKeys);
        return { keys, truncated: from + keys.length < listing.count };
      },
    };
  }
}

/** A key layout: the source's, the destination's and their union's listings. */
export interface KeyLayout {
  name: string;
  description: string;
  source: GeneratedListing;
  destination: GeneratedListing;
  union: GeneratedListing;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");
/** A deterministic pseudo-random integer from 0 to 2^32 - 1. */
function hash(n: number): number {
  let x = (n ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
/**
 * The i-th of n hex names of `width` digits, spread over the name space like hashes or ids
 * with jitter, and increasing with i.
 */
function spreadHex(i: number, n: number, width: number): string {
  const space = 16 ** width;
  const step = space / n;
  const value = Math.floor(i * step + (hash(i) / 2 ** 32) * (step / 2));
  return value.toString(16).padStart(width, "0");
}

/** A segment of `count` keys of `size` bytes each. */
function segment(count: number, key: (i: number) => string, size = 100 * 1024, side?: Segment["side"]): Segment {
  return { count: Math.max(0, Math.round(count)), key, size, side };
}

function layout(name: string, description: string, segments: Segment[]): KeyLayout {
  return {
    name,
    description,
    source: new GeneratedListing(segments.filter((s) => s.side !== "destination")),
    destination: new GeneratedListing(segments.filter((s) => s.side !== "source")),
    union: new GeneratedListing(segments),
  };
}

/** Small files per user directory, as Amplify's protected/ and private/ levels hold. */
const FILES_PER_USER = 5;
function userFiles(level: string, count: number): Segment {
  const users = Math.max(1, Math.ceil(count / FILES_PER_USER));
  return segment(count, (i) => `${level}/us-east-1:${spreadHex(Math.floor(i / FILES_PER_USER), users, 12)}/file-${i % FILES_PER_USER}.jpg`);
}

/** Every layout, at `keys` keys in the union (about). */
export function keyLayouts(keys: number): KeyLayout[] {
  // dated: 365 days of 24 hours, busier in the day
  const hours = 365 * 24;
  const weights = Array.from({ length: hours }, (_, h) => 1 + Math.sin(((h % 24) / 24) * Math.PI) * 3 + (hash(h) % 100) / 100);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const starts: number[] = [];
  let running = 0;
  for (const w of weights) {
    starts.push(Math.round(running));
    running += (w / weightSum) * keys;
  }
  const hourOf = (i: number) => {
    let low = 0;
    let high = hours - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= i) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const dated = (i: number) => {
    const h = hourOf(i);
    const day = new Date(Date.UTC(2026, 0, 1) + Math.floor(h / 24) * 86_400_000);
    const seq = i - starts[h];
    return `logs/2026/${pad(day.getUTCMonth() + 1, 2)}/${pad(day.getUTCDate(), 2)}/${pad(h % 24, 2)}/part-${pad(seq, 7)}.log.gz`;
  };
  const tiny = (prefix: string, count: number) =>
    // prefixes of 1 to 5 keys (3 on average), 15 keys per 5 prefixes
    segment(count, (i) => {
      const cycle = Math.floor(i / 15);
      const within = i % 15;
      const sizes = [1, 2, 3, 4, 5];
      let p = 0;
      let first = 0;
      while (within >= first + sizes[p]) first += sizes[p++];
      return `${prefix}${pad(cycle * 5 + p, 9)}/k${within - first}`;
    });
  return [
    layout("amplify", "Amplify storage: 90% under public/, the rest under protected/<id>/ and private/<id>/", [
      userFiles("private", keys * 0.05),
      userFiles("protected", keys * 0.05),
      segment(keys * 0.9, (i) => `public/${spreadHex(i, keys * 0.9, 11)}-photo.jpg`),
    ]),
    layout("dated", "one top-level prefix with a dated tree: logs/2026/MM/DD/HH/part-N.log.gz", [segment(keys, dated)]),
    layout("flat-hashed", "flat hashed keys (13 hex digits), no delimiter", [segment(keys, (i) => spreadHex(i, keys, 13))]),
    layout("tiny-prefixes", "many tiny prefixes of 1 to 5 keys each", [tiny("customer-", keys)]),
    layout("unicode-dominant", "95% under one unicode prefix (データ/), the rest in many tiny prefixes", [
      tiny("a-", keys * 0.04),
      segment(keys * 0.95, (i) => `データ/${pad(i, 10)}.bin`),
      segment(keys * 0.01, (i) => `😀/${pad(i, 8)}`),
    ]),
    layout("destination-only", "a third of the keys only in the destination (old/), the rest on both sides (data/)", [
      segment(keys * 0.67, (i) => `data/${spreadHex(i, keys * 0.67, 10)}`),
      segment(keys * 0.33, (i) => `old/${pad(i, 10)}`, 100 * 1024, "destination"),
    ]),
    layout("mixed-sizes", "99% 10 KiB thumbnails, then 1% 1 GiB videos: balanced by work, not keys", [
      segment(keys * 0.99, (i) => `media/thumbs/${spreadHex(i, keys * 0.99, 11)}.jpg`, 10 * 1024),
      segment(keys * 0.01, (i) => `media/videos/${spreadHex(i, keys * 0.01, 11)}.mp4`, 1024 ** 3),
    ]),
  ];
}
