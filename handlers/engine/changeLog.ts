/**
 * The change log: every change of a run (key, action, reason, size), one JSON object per line
 * (JSON Lines, so a key holding a comma, a quote or a newline stays one line), in key order.
 *
 * Each `sync-range` call writes the changes it made as one chunk, sorted by key, beside the run's
 * records; `write-report` merges the chunks of every partition and both phases into
 * `changes.jsonl` beside report.json, in one pass that holds a small window of each chunk:
 * memory grows with the number of chunks, not with the number of changes (bench/changeLog.ts).
 *
 * A retried call may write the changes of the same keys twice (a dry run plans them again); the
 * merge drops a line equal to the one before it, so each change is listed once.
 */
import type { SyncChange } from "../../model/contract";
import { compareKeys } from "./keys";

/** The file name of the merged change log, beside report.json. */
export const CHANGE_LOG_FILE = "changes.jsonl";

/** One change as its line (without the newline): the fields a reader needs, in a fixed order. */
export function changeLine(change: SyncChange): string {
  return JSON.stringify({
    key: change.key,
    action: change.action,
    reason: change.reason,
    ...(change.size !== undefined ? { size: change.size } : {}),
    ...(change.newer !== undefined ? { newer: change.newer } : {}),
  });
}

/** A call's changes as one chunk: lines sorted by key in S3's order, each ending in a newline. */
export function changeChunk(changes: readonly SyncChange[]): string {
  const sorted = [...changes].sort((a, b) => compareKeys(a.key, b.key) || (a.action < b.action ? -1 : a.action > b.action ? 1 : 0));
  let text = "";
  for (const change of sorted) text += `${changeLine(change)}\n`;
  return text;
}

/** A stored chunk read in ranges, so a merge of thousands of chunks holds no file or socket open. */
export interface ChunkSource {
  /** Bytes in the chunk. */
  size: number;
  /** `length` bytes from `offset` (fewer at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The lines of a chunk, read `window` bytes at a time and handed out one window's lines at once. */
export async function* chunkLines(source: ChunkSource, window: number): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let carry = "";
  for (let offset = 0; offset < source.size; offset += window) {
    const bytes = await source.read(offset, Math.min(window, source.size - offset));
    // A newline byte never occurs inside a UTF-8 sequence; `stream` keeps a split character whole.
    const text = carry + decoder.decode(bytes, { stream: offset + window < source.size });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    const full = lines.filter((line) => line !== "");
    if (full.length > 0) yield full;
  }
  if (carry !== "") yield [carry];
}

/** The key of a change line: the JSON string its line starts with (`{"key":"..."`). */
function keyOf(line: string): string {
  const start = 7; // {"key":
  let end = start + 1;
  for (;;) {
    const quote = line.indexOf('"', end);
    if (quote < 0) return (JSON.parse(line) as { key: string }).key;
    let backslashes = 0;
    for (let i = quote - 1; line.charCodeAt(i) === 92; i--) backslashes++;
    if (backslashes % 2 === 0) {
      const literal = line.slice(start, quote + 1);
      // Most keys need no unescaping; JSON.parse of the string alone when one does.
      return literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
    }
    end = quote + 1;
  }
}

/**
 * A key rewritten so that JavaScript's own string comparison gives S3's order (compareKeys): the
 * key itself unless it holds a code unit at or above U+D800, where UTF-16 and UTF-8 order part.
 * The engine's native comparison is several times faster than comparing unit by unit.
 */
function rankOf(key: string): string {
  if (!/[\uD800-\uFFFF]/.test(key)) return key;
  let rank = "";
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    rank += String.fromCharCode(unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit);
  }
  return rank;
}

/** One input of a merge: its current batch of lines and where it stands in it. */
interface Head {
  lines: string[];
  index: number;
  line: string;
  /** The current line's key, as rankOf gives it. */
  rank: string;
  more: AsyncIterator<string[]>;
}

/** Orders heads by key, then by line (two changes of one key come out in one order). */
function before(a: Head, b: Head): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.line < b.line);
}

/** Moves a head to its next line; false when its stream is done. */
async function advance(head: Head): Promise<boolean> {
  head.index++;
  while (head.index >= head.lines.length) {
    const next = await head.more.next();
    if (next.done) return false;
    head.lines = next.value;
    head.index = 0;
  }
  const line = head.lines[head.index];
  const rank = rankOf(keyOf(line));
  if (rank < head.rank) throw new Error(`a change chunk is out of key order: "${keyOf(line)}" after "${keyOf(head.line)}"`);
  head.line = line;
  head.rank = rank;
  return true;
}

/**
 * Merges key-ordered streams of line batches into one key-ordered stream of batches, dropping a
 * line equal to the one before it. A binary heap of the streams' current lines: log(k)
 * comparisons per line.
 */
export async function* mergeChangeLines(streams: AsyncIterable<string[]>[], batch = 4096): AsyncGenerator<string[]> {
  const heap: Head[] = [];
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && before(heap[left], heap[least])) least = left;
      if (right < heap.length && before(heap[right], heap[least])) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  };
  const heads = await Promise.all(
    streams.map(async (stream) => {
      const head: Head = { lines: [], index: -1, line: "", rank: "", more: stream[Symbol.asyncIterator]() };
      return (await advance(head)) ? head : undefined;
    }),
  );
  for (const head of heads) if (head) heap.push(head);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  let previous: string | undefined;
  let out: string[] = [];
  while (heap.length > 0) {
    const head = heap[0];
    if (head.line !== previous) out.push(head.line);
    previous = head.line;
    if (!(await advance(head))) {
      const last = heap.pop() as Head;
      if (heap.length > 0) heap[0] = last;
    }
    siftDown(0);
    if (out.length >= batch) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** Bytes each chunk reads at once: 256 KiB, less when many chunks share a 16 MiB budget (at least 16 KiB). */
export function readWindow(chunks: number): number {
  return Math.max(16 * 1024, Math.min(256 * 1024, Math.floor((16 * 1024 * 1024) / Math.max(1, chunks))));
}

/**
 * Merges chunks into one change log, handing it to `write` in blocks of about `blockBytes`
 * (a multipart upload's parts, or a file's writes). Returns the number of lines written.
 */
export async function mergeChangeChunks(
  chunks: ChunkSource[],
  write: (block: string) => Promise<void>,
  blockBytes = 8 * 1024 * 1024,
): Promise<number> {
  const window = readWindow(chunks.length);
  let count = 0;
  let block: string[] = [];
  let bytes = 0;
  for await (const lines of mergeChangeLines(chunks.map((chunk) => chunkLines(chunk, window)))) {
    for (const line of lines) {
      block.push(line);
      bytes += line.length + 1;
    }
    count += lines.length;
    if (bytes >= blockBytes) {
      await write(`${block.join("\n")}\n`);
      block = [];
      bytes = 0;
    }
  }
  if (block.length > 0) await write(`${block.join("\n")}\n`);
  return count;
}
