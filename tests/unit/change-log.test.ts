/**
 * The change log: chunks sorted by key in S3's order, merged into one key-ordered list with each
 * change once, read through small windows.
 */
import { strict as assert } from "node:assert";
import type { SyncChange } from "../../model/contract";
import { changeChunk, type ChunkSource, mergeChangeChunks, mergeChangeLines, chunkLines } from "../../handlers/engine/changeLog";
import { compareKeys } from "../../handlers/engine/keys";

const source = (text: string): ChunkSource => {
  const bytes = Buffer.from(text, "utf8");
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
};

async function merged(chunks: string[], window = 7): Promise<string[]> {
  const out: string[] = [];
  for await (const lines of mergeChangeLines(chunks.map((text) => chunkLines(source(text), window)), 3)) out.push(...lines);
  return out;
}

describe("change log", () => {
  it("sorts a chunk in UTF-8 byte order, keeping odd keys on one line", () => {
    const changes: SyncChange[] = [
      { key: "\u{1F600}", action: "copy", reason: "missing", size: 1 },
      { key: "\uFF5E", action: "copy", reason: "missing", size: 2 },
      { key: 'a,"b"\nc', action: "delete", reason: "extra" },
    ];
    const lines = changeChunk(changes).trimEnd().split("\n");
    assert.deepEqual(lines.map((line) => JSON.parse(line).key), ['a,"b"\nc', "\uFF5E", "\u{1F600}"]);
    assert.deepEqual(JSON.parse(lines[2]), { key: "\u{1F600}", action: "copy", reason: "missing", size: 1 });
  });

  it("merges chunks into one key order, each change once, through windows smaller than a line", async () => {
    const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    const chunk = (list: string[]) => changeChunk(list.map((key) => ({ key, action: "copy", reason: "missing", size: key.length })));
    const a = keys("a/", 50);
    const b = keys("b/\u00e9\"\\", 40);
    const c = keys("a/1", 30);
    const out = await merged([chunk(b), chunk(a), chunk(c), chunk(a.slice(0, 5)), ""]);
    const expected = [...new Set([...a, ...b, ...c])].sort(compareKeys);
    assert.deepEqual(out.map((line) => JSON.parse(line).key), expected);
  });

  it("refuses a chunk out of key order rather than write a log out of order", async () => {
    await assert.rejects(merged(['{"key":"b","action":"copy","reason":"missing"}\n{"key":"a","action":"copy","reason":"missing"}\n']), /out of key order: "a" after "b"/);
  });

  it("hands the merged log to its writer in blocks and counts its lines", async () => {
    const blocks: string[] = [];
    const chunk = changeChunk(Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, action: "copy" as const, reason: "missing" })));
    const count = await mergeChangeChunks([source(chunk)], async (block) => void blocks.push(block), 1000);
    assert.equal(count, 5000);
    assert.ok(blocks.length > 1);
    assert.equal(blocks.join(""), chunk);
  });
});
