/**
 * A sample of one bucket's key space, refined by listing probes until every unlisted stretch is
 * small: the estimator behind partition planning.
 *
 * S3 cannot count the keys of a range without listing them all, but a ListObjectsV2 call with
 * `StartAfter` lists the page of keys that follows any point of the key space. The sample holds
 * such pages (exact: keys, sizes and in-page ranks) and estimates each unlisted gap between two
 * pages from its width and the density of the pages around it.
 *
 * Width is measured on a mixed-radix number line learned from the keys themselves: at each
 * character position, the characters seen there in any listed key form that position's digits.
 * Decimal dates, hex hashes and user ids then occupy their digit ranges evenly, rather than the
 * sliver of Unicode a raw byte value would give them, and a position where every key has `/`
 * adds no width at all. Two keys sharing a long prefix are close; the gap between the last key
 * of `a/` and the first of `b/` is narrow. The estimate is refined where it matters: each round
 * probes the gaps holding the most estimated work, at their midpoint on that line (which descends
 * into the common prefix of the gap's bounds) or, when a gap is about a page, by reading on from
 * its lower bound. Probes stop when no gap holds more than a fraction of a partition's share, or
 * when the call budget, which grows with the partitions asked and never with the keys, is spent.
 */
import { compareKeys, successor } from "./keys";

/** One listed key and its size. `key` is relative to the listed prefix. */
export interface SampledKey {
  key: string;
  size: number;
}

/** One listing call's answer: keys after `startAfter` in UTF-8 byte order. */
export interface KeyPage {
  keys: SampledKey[];
  /** More keys follow the last one. */
  truncated: boolean;
}

/**
 * The one listing call the planner makes: at most `maxKeys` keys after `startAfter` (relative
 * to the side's prefix), in UTF-8 byte order. ListObjectsV2 (`StartAfter`, `MaxKeys`) on S3;
 * generated listings in specs and benchmarks.
 */
export interface KeyLister {
  list(startAfter: string | undefined, maxKeys: number): Promise<KeyPage>;
}

/** Keys per listing call (the most S3 returns). */
export const PAGE_KEYS = 1000;
/** Keys of a page kept as exact rank anchors for choosing boundaries. */
const ANCHORS_PER_PAGE = 32;
/** Stretches between anchors, nearest a gap, whose median density estimates the gap's. */
const NEAR_STRETCHES = 9;
/** Every how many keys of a page the number line learns from. */
const LEARN_EVERY = 4;
/** Digits past the common prefix used to place a key on the number line. */
const DIGITS = 24;

/** A key kept from a page with the count and bytes of the page's keys up to and including it. */
interface Anchor {
  key: string;
  count: number;
  bytes: number;
}

/** A run of consecutive keys read in one call. */
interface Page {
  first: string;
  last: string;
  count: number;
  bytes: number;
  anchors: Anchor[];
  /** No key lies between this page's last key and the next page (or the end of the key space). */
  closedAfter: boolean;
  /** Exclusive upper bound of the unlisted gap after this page when a probe showed it ends early. */
  gapEnd?: string;
  /** Read on from the page before it, or already followed by a read from its last key. */
  followed: boolean;
  /** logDensity at each end, as last measured (on line `version`, with `count` keys). */
  density?: { version: number; count: number; first?: number; last?: number };
}

/** An unlisted gap after page `after`, with its estimated keys and bytes. */
export interface GapEstimate {
  after: number;
  low: string;
  high: string;
  count: number;
  bytes: number;
}

/** Cumulative keys and bytes at or below a key. */
export interface Cumulative {
  count: number;
  bytes: number;
}

function codePoints(key: string): number[] {
  const points: number[] = [];
  for (const char of key) points.push(char.codePointAt(0) ?? 0);
  return points;
}

/** Code point used for "the key ends here": below every character. */
const END = -1;

const isDigit = (point: number) => point >= 0x30 && point <= 0x39;
const isHexLetter = (point: number) => (point >= 0x61 && point <= 0x66) || (point >= 0x41 && point <= 0x46);
const DECIMAL = Array.from({ length: 10 }, (_, i) => 0x30 + i);
const HEX_LOWER = Array.from({ length: 6 }, (_, i) => 0x61 + i);
const HEX_UPPER = Array.from({ length: 6 }, (_, i) => 0x41 + i);

/**
 * The characters a position is assumed to use, from those seen there: all ten decimal digits
 * once one is seen; in hex keys (some position of the region showed digits and hex letters
 * together), all sixteen hex digits once one is seen; other characters as seen. A sample that
 * saw `0`, `1` and `2` first in hashed keys has not seen the other digits there, and a gap whose
 * width missed them would look nearly empty and never be probed. A line too wide (a
 * zero-padded number whose leading digits are always `0`) is wide everywhere alike, and probes
 * narrow the gaps that turn out empty. Other letters stay as seen: they spell names
 * (`private/`, `public/`), where filling in would open wide stretches that hold no key.
 */
function filledAlphabet(seen: Set<number>, hex: boolean): number[] {
  const points = new Set(seen);
  const digits = [...seen].some(isDigit);
  const lower = [...seen].some((p) => p >= 0x61 && p <= 0x66);
  const upper = [...seen].some((p) => p >= 0x41 && p <= 0x46);
  if (digits || (hex && (lower || upper))) for (const p of DECIMAL) points.add(p);
  if (hex && (lower || (digits && !upper))) for (const p of HEX_LOWER) points.add(p);
  if (hex && upper) for (const p of HEX_UPPER) points.add(p);
  return [...points].sort((a, b) => a - b);
}

/** True when some position shows decimal digits and hex letters together: hashes, ids. */
function isHexRegion(alphabets: Alphabets): boolean {
  return alphabets.some((set) => set && [...set].some(isDigit) && [...set].some(isHexLetter));
}

/** Alphabets of one region: per character position, the code points seen there. */
type Alphabets = Array<Set<number>>;

/**
 * The number line: per character position, the characters seen there form that position's
 * digits (filledAlphabet). Positions after a key's first `/` have alphabets of their own per
 * top-level name (digits folded, so `customer-17/` and `customer-42/` share one): `old/` may
 * hold decimal sequence numbers where `data/` holds hex hashes, and one line for both would
 * measure each with the other's digits. A position its region has not shown yet falls back
 * to what every key showed there.
 */
class KeyLine {
  private readonly regions: Map<string, Alphabets>;
  private readonly sorted: Map<string, number[][]>;
  /** Grows whenever the line changes: measures taken on an older line are stale. */
  version: number;

  constructor() {
    this.regions = new Map();
    this.sorted = new Map();
    this.version = 0;
  }

  learn(points: number[]): void {
    const region = regionOf(points);
    for (let i = 0; i <= points.length && i < 1024; i++) {
      const point = i < points.length ? points[i] : END;
      this.add("", i, point);
      if (region.name !== "" && i > region.slash) this.add(region.name, i, point);
    }
  }

  /** The highest first character of any key. */
  learnFirst(point: number): void {
    this.add("", 0, point);
  }

  private add(region: string, position: number, point: number): void {
    let alphabets = this.regions.get(region);
    if (!alphabets) this.regions.set(region, (alphabets = []));
    const set = alphabets[position] ?? (alphabets[position] = new Set<number>());
    if (!set.has(point)) {
      set.add(point);
      this.sorted.delete(region);
      this.version++;
    }
  }

  /** Sorted digits (code points, END first) of a key's region at a position. */
  digits(region: Region, position: number): number[] {
    if (region.name !== "" && position > region.slash) {
      const own = this.alphabets(region.name)[position];
      if (own && own.length > 0) return own;
    }
    return this.alphabets("")[position] ?? [];
  }

  private alphabets(region: string): number[][] {
    let alphabets = this.sorted.get(region);
    if (!alphabets) {
      const seen = this.regions.get(region) ?? [];
      const hex = isHexRegion(seen);
      alphabets = seen.map((set) => filledAlphabet(set, hex));
      this.sorted.set(region, alphabets);
    }
    return alphabets;
  }

  /** The digit of a key's character at a position: its rank among the characters seen there. */
  private digit(region: Region, position: number, point: number): { value: number; base: number } {
    const digits = this.digits(region, position);
    if (digits.length === 0) return { value: 0, base: 1 };
    let low = 0;
    let high = digits.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (digits[mid] < point) low = mid + 1;
      else high = mid;
    }
    // a character beyond every one seen there sits at the end of the line (the top bound does)
    const value = low < digits.length && digits[low] === point ? low : low === digits.length ? digits.length : Math.max(0, low - 0.5);
    return { value, base: digits.length };
  }

  /** Position of a key on the line from `from` on, as a fraction of that position's span. */
  tail(points: number[], from: number): number {
    const region = regionOf(points);
    let value = 0;
    let scale = 1;
    for (let i = from; i < from + DIGITS; i++) {
      const point = i < points.length ? points[i] : END;
      const { value: d, base } = this.digit(region, i, point);
      scale /= base;
      value += d * scale;
      if (point === END || scale < 1e-18) break;
    }
    return value;
  }

  /** Natural log of the distance between keys a < b. */
  logDistance(a: number[], b: number[]): number {
    let common = 0;
    while (common < a.length && common < b.length && a[common] === b[common]) common++;
    const region = regionOf(a);
    let logScale = 0;
    for (let i = 0; i < common; i++) logScale -= Math.log(Math.max(1, this.digits(region, i).length));
    const difference = this.tail(b, common) - this.tail(a, common);
    return logScale + Math.log(Math.max(difference, 1e-18));
  }

  /**
   * A key halfway between `low` and `high` on the line, built from the characters seen at each
   * position; undefined when none lies strictly between them at the line's precision.
   */
  midpoint(low: string, high: string): string | undefined {
    const pa = codePoints(low);
    const pb = codePoints(high);
    let common = 0;
    while (common < pa.length && common < pb.length && pa[common] === pb[common]) common++;
    let target = (this.tail(pa, common) + this.tail(pb, common)) / 2;
    const points = pa.slice(0, common);
    for (let i = common; i < common + DIGITS; i++) {
      const digits = this.digits(regionOf(points), i);
      if (digits.length === 0) break;
      const scaled = target * digits.length;
      const d = Math.min(digits.length - 1, Math.floor(scaled));
      target = scaled - d;
      if (digits[d] === END) break;
      points.push(digits[d]);
    }
    const candidate = String.fromCodePoint(...points);
    return compareKeys(candidate, low) > 0 && compareKeys(candidate, high) < 0 ? candidate : undefined;
  }
}

/** A key's top-level name with decimal digits folded to `#`, and where its first `/` is. */
interface Region {
  name: string;
  slash: number;
}

const SLASH = 0x2f;

function regionOf(points: number[]): Region {
  const slash = points.indexOf(SLASH);
  if (slash < 0) return { name: "", slash: -1 };
  let name = "/";
  for (let i = 0; i < slash; i++) name += points[i] >= 0x30 && points[i] <= 0x39 ? "#" : String.fromCodePoint(points[i]);
  return { name, slash };
}

export class KeySample {
  /** Listing calls made. */
  calls: number;
  private readonly pages: Page[];
  private readonly line: KeyLine;
  /** Exclusive upper bound of every key of the side. */
  private top: string;
  private readonly lister: KeyLister;
  private readonly startAfter: string | undefined;
  private readonly anchorEvery: number;

  // Fields are set here, never by initializers: the `callback` packaging's closure serializer
  // rebuilds a class from its constructor alone and drops field initializers.
  /**
   * `anchorEvery`: keep every n-th key of a page for choosing boundaries (at most every 31st, so
   * a page keeps 32): a small minimum partition size needs boundaries between nearer keys.
   */
  constructor(lister: KeyLister, startAfter?: string, anchorEvery = Math.floor(PAGE_KEYS / ANCHORS_PER_PAGE)) {
    this.lister = lister;
    this.anchorEvery = Math.max(1, Math.min(Math.floor(PAGE_KEYS / ANCHORS_PER_PAGE), anchorEvery));
    this.startAfter = startAfter;
    this.calls = 0;
    this.pages = [];
    this.line = new KeyLine();
    this.top = "";
  }

  /**
   * Lists from the start, page after page, for at most `headCalls` calls: a side that ends within
   * them is listed whole, exactly, for what a plain listing costs. When the side holds more, finds
   * the end of its key space, so that sampling can take over from the pages already read.
   */
  async start(headCalls = 1, findEnd = true): Promise<void> {
    const page = await this.call(this.startAfter);
    if (page.keys.length === 0) return;
    this.pages.push(this.pageOf(page.keys, !page.truncated, false));
    while (!this.complete && this.calls < headCalls) await this.readOn();
    if (findEnd) await this.findEnd();
  }

  /** While the side is one run from its start: reads the page after it (a plain listing's next call). */
  async readOn(): Promise<void> {
    const head = this.pages[0];
    if (this.pages.length !== 1 || head.closedAfter) return;
    const page = await this.call(head.last);
    head.followed = true;
    head.closedAfter = true;
    if (page.keys.length === 0) return;
    this.pages.push(this.pageOf(page.keys, !page.truncated, true));
    this.join(0);
  }

  /** Keys listed so far. */
  get listedKeys(): number {
    return this.pages.reduce((sum, page) => sum + page.count, 0);
  }

  /** Whether the end of the key space is known (or not needed: the side is listed whole). */
  get endKnown(): boolean {
    return this.complete || this.top !== "";
  }

  /** Finds the end of the key space, which sampling needs, unless the side is listed whole. */
  async findEnd(): Promise<void> {
    if (!this.endKnown) this.top = await this.findTop();
  }

  /** True when every key of the side has been listed. */
  get complete(): boolean {
    return this.pages.every((page) => page.closedAfter);
  }

  /** The estimated gaps, largest first. */
  gaps(): GapEstimate[] {
    const gaps: GapEstimate[] = [];
    for (let i = 0; i < this.pages.length; i++) {
      const gap = this.gapAfter(i);
      if (gap) gaps.push(gap);
    }
    return gaps;
  }

  /** Estimated keys and bytes of the side. */
  totals(): Cumulative {
    let count = 0;
    let bytes = 0;
    for (const page of this.pages) {
      count += page.count;
      bytes += page.bytes;
    }
    for (const gap of this.gaps()) {
      count += gap.count;
      bytes += gap.bytes;
    }
    return { count, bytes };
  }

  /**
   * Lists once inside a gap: at its midpoint when it holds more than about a page (unless `split`
   * is false), else right after its lower bound (exact progress: the listing read on).
   */
  async probe(gap: GapEstimate, calls: number, split = true): Promise<void> {
    let current: GapEstimate | undefined = gap;
    // A probe that lands on nothing (an empty stretch up to the next page) halves the gap and
    // probes again at once: a wide empty stretch costs a few calls in one round, not one a round.
    for (let spent = 0; current && spent < calls; spent++) {
      const page = this.pages[this.indexOfLast(current.low)];
      if (!page || page.closedAfter) return;
      // A page that a midpoint probe landed on is followed by a sequential read first: the keys
      // right after it show whether the gap is dense or an empty stretch (the end of a prefix).
      const midpoint: string | undefined =
        split && current.count > 1.5 * PAGE_KEYS && page.followed ? this.midpoint(current.low, current.high) : undefined;
      const startAfter: string = midpoint ?? current.low;
      const listed = await this.call(startAfter);
      // other probes may have added pages meanwhile: find the page again
      const index = this.indexOfLast(current.low);
      if (index < 0 || this.pages[index].closedAfter) return;
      const landed = this.insert(index, startAfter, listed);
      current = landed || startAfter === current.low ? undefined : this.gapAfter(index);
    }
  }

  /** The page whose last key is `key`, or -1. */
  private indexOfLast(key: string): number {
    let low = 0;
    let high = this.pages.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const order = compareKeys(this.pages[mid].last, key);
      if (order === 0) return mid;
      if (order < 0) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Every key kept as an anchor, in key order. */
  anchorKeys(): string[] {
    return this.pages.flatMap((page) => page.anchors.map((anchor) => anchor.key));
  }

  /**
   * Estimated keys and bytes at or below `key`: exact at anchors, interpolated on the number
   * line inside gaps. `prefix` holds the cumulative totals before each page, from `prefixSums`.
   */
  cumulativeAt(key: string, prefix: Cumulative[]): Cumulative {
    // the last page whose first key is at or below `key`
    let low = 0;
    let high = this.pages.length - 1;
    let index = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (compareKeys(this.pages[mid].first, key) <= 0) {
        index = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (index < 0) return { count: 0, bytes: 0 };
    const page = this.pages[index];
    const before = prefix[index];
    if (compareKeys(key, page.last) < 0) {
      // Between two kept keys, interpolate on the line: both buckets' totals then grow smoothly,
      // and the larger of the two steps between neighbouring boundary candidates is a fair
      // estimate of their union, not a sum of each side's lumps.
      // the first anchor above `key` (a page listed whole holds thousands: a binary search)
      let lowIndex = 0;
      let highIndex = page.anchors.length;
      while (lowIndex < highIndex) {
        const mid = (lowIndex + highIndex) >> 1;
        if (compareKeys(page.anchors[mid].key, key) <= 0) lowIndex = mid + 1;
        else highIndex = mid;
      }
      const below: Anchor = lowIndex > 0 ? page.anchors[lowIndex - 1] : { key: page.first, count: 1, bytes: page.bytes / page.count };
      const above: Anchor | undefined = page.anchors[lowIndex];
      let count = below.count;
      let bytes = below.bytes;
      if (above && compareKeys(below.key, key) < 0) {
        const share = this.fraction(below.key, above.key, key);
        count += share * (above.count - below.count);
        bytes += share * (above.bytes - below.bytes);
      }
      return { count: before.count + count, bytes: before.bytes + bytes };
    }
    const atEnd = { count: before.count + page.count, bytes: before.bytes + page.bytes };
    const gap = this.gapAfter(index);
    if (!gap) return atEnd;
    const share = compareKeys(key, gap.high) >= 0 ? 1 : this.fraction(gap.low, gap.high, key);
    return { count: atEnd.count + share * gap.count, bytes: atEnd.bytes + share * gap.bytes };
  }

  /** Cumulative totals before each page (pages and the gaps between them). */
  prefixSums(): Cumulative[] {
    const sums: Cumulative[] = [];
    let count = 0;
    let bytes = 0;
    for (let i = 0; i < this.pages.length; i++) {
      sums.push({ count, bytes });
      count += this.pages[i].count;
      bytes += this.pages[i].bytes;
      const gap = this.gapAfter(i);
      if (gap) {
        count += gap.count;
        bytes += gap.bytes;
      }
    }
    return sums;
  }

  private async call(startAfter: string | undefined): Promise<KeyPage> {
    this.calls++;
    const page = await this.lister.list(startAfter, PAGE_KEYS);
    for (let i = 1; i < page.keys.length; i++) {
      if (compareKeys(page.keys[i - 1].key, page.keys[i].key) >= 0) {
        throw new Error(`the listing returned "${page.keys[i].key}" after "${page.keys[i - 1].key}": keys must come in UTF-8 byte order`);
      }
    }
    if (startAfter !== undefined && page.keys.length > 0 && compareKeys(page.keys[0].key, startAfter) <= 0) {
      throw new Error(`the listing after "${startAfter}" returned "${page.keys[0].key}"`);
    }
    return page;
  }

  /**
   * The exclusive upper bound of the side's keys: a binary search for the highest first
   * character, with one-key listings (at most 22 calls, whatever the bucket holds).
   */
  private async findTop(): Promise<string> {
    const exists = async (point: number) => (await this.listOne(String.fromCodePoint(point))).length > 0;
    let low = 0; // a key above String.fromCodePoint(low) exists
    let high = 0x10ffff; // none above it
    if (!(await exists(0x7e))) high = 0x7e;
    else low = 0x7e;
    while (high - low > 1) {
      let mid = (low + high) >> 1;
      if (mid >= 0xd800 && mid <= 0xdfff) mid = 0xe000 <= high ? 0xe000 : 0xd7ff;
      if (mid <= low || mid >= high) break;
      if (await exists(mid)) low = mid;
      else high = mid;
    }
    // the highest first character belongs on the line, or a gap reaching the top misses its class
    if (low > 0) this.line.learnFirst(low);
    // every key is at or below the one-character key `high` followed by anything: below high + 1
    let bound = high + 1;
    if (bound >= 0xd800 && bound <= 0xdfff) bound = 0xe000;
    return bound > 0x10ffff ? "\u{10ffff}\u{10ffff}" : String.fromCodePoint(bound);
  }

  private async listOne(startAfter: string): Promise<SampledKey[]> {
    this.calls++;
    const after = this.startAfter !== undefined && compareKeys(this.startAfter, startAfter) > 0 ? this.startAfter : startAfter;
    return (await this.lister.list(after, 1)).keys;
  }

  private pageOf(keys: SampledKey[], closedAfter: boolean, followed: boolean, gapEnd?: string): Page {
    const anchors: Anchor[] = [];
    const every = Math.min(this.anchorEvery, Math.max(1, Math.floor(keys.length / ANCHORS_PER_PAGE)));
    let bytes = 0;
    for (let i = 0; i < keys.length; i++) {
      bytes += keys[i].size;
      if (i % every === every - 1 || i === keys.length - 1) anchors.push({ key: keys[i].key, count: i + 1, bytes });
      // The line learns from a spread of a page's keys, not all of them: learning costs a set
      // lookup per character, the planner's largest CPU cost once whole listings are read.
      if (i % LEARN_EVERY === 0 || i === keys.length - 1) this.learn(keys[i].key);
    }
    return { first: keys[0].key, last: keys[keys.length - 1].key, count: keys.length, bytes, anchors, closedAfter, gapEnd, followed };
  }

  /**
   * Adds a probe's answer after page `index`, probed at `startAfter` inside the gap after it.
   * Returns whether it found keys before the next page.
   */
  private insert(index: number, startAfter: string, listed: KeyPage): boolean {
    const page = this.pages[index];
    const next = this.pages[index + 1];
    const keys = next ? listed.keys.filter((k) => compareKeys(k.key, next.first) < 0) : listed.keys;
    const sequential = startAfter === page.last;
    page.followed = page.followed || sequential;
    if (keys.length === 0) {
      // nothing between the probe point and the next page (or the end)
      if (sequential) page.closedAfter = true;
      else page.gapEnd = successor(startAfter);
      return false;
    }
    const reachedNext = keys.length < listed.keys.length || (next === undefined && !listed.truncated);
    const added = this.pageOf(keys, reachedNext, sequential, reachedNext ? undefined : page.gapEnd);
    if (sequential) page.closedAfter = true;
    else page.gapEnd = successor(startAfter);
    this.pages.splice(index + 1, 0, added);
    // Contiguous pages become one run: its density rests on all their keys, not on the few keys
    // a probe found before running into the next page.
    if (reachedNext && next) this.join(index + 1);
    if (sequential) this.join(index);
    return true;
  }

  /** Joins page `index` with the page after it; no key lies between them. */
  private join(index: number): void {
    const a = this.pages[index];
    const b = this.pages[index + 1];
    // A listing read on appends page after page to one run: extend its anchors in place rather
    // than copy them at every page (quadratic in the run's length).
    const anchors = a.anchors;
    for (const anchor of b.anchors) anchors.push({ key: anchor.key, count: a.count + anchor.count, bytes: a.bytes + anchor.bytes });
    this.pages.splice(index, 2, {
      first: a.first,
      last: b.last,
      count: a.count + b.count,
      bytes: a.bytes + b.bytes,
      anchors,
      closedAfter: b.closedAfter,
      gapEnd: b.gapEnd,
      followed: b.followed || a.followed,
    });
  }

  private learn(key: string): void {
    this.line.learn(codePoints(key));
  }

  /** Natural log of the distance between keys a < b on the number line. */
  private logDistance(a: string, b: string): number {
    return this.line.logDistance(codePoints(a), codePoints(b));
  }

  /** Where `key` lies between `low` and `high`, from 0 to 1. */
  private fraction(low: string, high: string, key: string): number {
    if (compareKeys(key, low) <= 0) return 0;
    const share = Math.exp(this.logDistance(low, key) - this.logDistance(low, high));
    return Math.min(1, Math.max(0, share));
  }

  /**
   * Log of keys per unit of the number line at one end of a run of listed keys (the end that
   * borders the gap): the median over the stretches between its last (or first) anchors, so that
   * a run crossing from one prefix into the next (an empty stretch of the line) gets the density
   * of its keys, and a long run the density of its keys near the gap, not of another prefix it
   * began in; undefined for a one-key run.
   */
  private logDensity(page: Page, end: "first" | "last"): number | undefined {
    if (page.count < 2) return undefined;
    const cached = page.density;
    if (cached && cached.version === this.line.version && cached.count === page.count && cached[end] !== undefined) return cached[end];
    const value = this.measureLogDensity(page, end);
    page.density = cached && cached.version === this.line.version && cached.count === page.count ? cached : { version: this.line.version, count: page.count };
    page.density[end] = value;
    return value;
  }

  private measureLogDensity(page: Page, end: "first" | "last"): number {
    const densities: number[] = [];
    const stretch = Math.floor(PAGE_KEYS / ANCHORS_PER_PAGE);
    // Only the stretches nearest the end count: start far enough back to hold them (a run listed
    // whole has thousands of anchors, at most one per key).
    const from = end === "last" ? Math.max(0, page.anchors.length - 1 - (NEAR_STRETCHES + 1) * stretch) : 0;
    let previous = from > 0 ? page.anchors[from - 1] : { key: page.first, count: 1 };
    for (let i = from; i < page.anchors.length; i++) {
      const anchor = page.anchors[i];
      if (anchor.count - previous.count >= stretch || (anchor.count === page.count && anchor.count > previous.count)) {
        densities.push(Math.log(anchor.count - previous.count) - this.logDistance(previous.key, anchor.key));
        previous = anchor;
        if (end === "first" && densities.length >= NEAR_STRETCHES) break;
      }
    }
    if (densities.length === 0) return Math.log(page.count - 1) - this.logDistance(page.first, page.last);
    const near = end === "last" ? densities.slice(-NEAR_STRETCHES) : densities.slice(0, NEAR_STRETCHES);
    near.sort((a, b) => a - b);
    return near[Math.floor(near.length / 2)];
  }

  private gapAfter(index: number): GapEstimate | undefined {
    const page = this.pages[index];
    if (page.closedAfter) return undefined;
    const next = this.pages[index + 1];
    const high = page.gapEnd ?? next?.first ?? this.top;
    if (compareKeys(high, page.last) <= 0) return undefined;
    // The page after the gap tells about the gap only when it borders it (no probe showed an
    // empty stretch before it). Across a change of top-level name the denser side counts: an
    // overestimate costs a probe, an underestimate hides keys from the planner.
    const borders = next !== undefined && page.gapEnd === undefined;
    const own = this.logDensity(page, "last");
    const other = borders ? this.logDensity(next, "first") : undefined;
    const sameRegion = borders && regionOf(codePoints(page.last)).name === regionOf(codePoints(next.first)).name;
    const densities =
      own === undefined || other === undefined ? [own ?? other].filter((d): d is number => d !== undefined)
      : sameRegion ? [own, other]
      : [Math.max(own, other)];
    const neighbours = [page, borders ? next : undefined].filter((p): p is Page => p !== undefined);
    const keys = neighbours.reduce((sum, p) => sum + p.count, 0);
    const bytesPerKey = keys > 0 ? neighbours.reduce((sum, p) => sum + p.bytes, 0) / keys : 0;
    // the gap holds at least one key's worth of doubt until a probe closes it
    const logDensity = densities.length > 0 ? densities.reduce((a, b) => a + b, 0) / densities.length : 0;
    const count = Math.max(1, Math.exp(this.logDistance(page.last, high) + logDensity));
    return { after: index, low: page.last, high, count, bytes: count * bytesPerKey };
  }

  private midpoint(low: string, high: string): string | undefined {
    return this.line.midpoint(low, high);
  }
}
