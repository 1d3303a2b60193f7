import * as assert from "node:assert/strict";
import { compareKeys, inRange, successor } from "../../handlers/engine/keys";
import type { ListedObject } from "../../handlers/engine/listing";
import {
  decideInspected,
  decideListed,
  metadataDifferences,
  type ObjectDetails,
  pairListings,
  type PlanPair,
  SOURCE_ETAG_METADATA,
} from "../../handlers/engine/planner";

const obj = (key: string, etag = "e1", size = 1, lastModified = 1000): ListedObject => ({ key, etag, size, lastModified });

async function* pages(objects: ListedObject[], pageSize: number): AsyncGenerator<ListedObject[]> {
  for (let i = 0; i < objects.length; i += pageSize) yield objects.slice(i, i + pageSize);
}

async function pairs(source: ListedObject[], destination: ListedObject[], pageSize = 2): Promise<PlanPair[]> {
  const all: PlanPair[] = [];
  for await (const batch of pairListings(pages(source, pageSize), pages(destination, pageSize + 1))) all.push(...batch);
  return all;
}

const details = (overrides: Partial<ObjectDetails> = {}): ObjectDetails => ({
  size: 4,
  etag: "abc",
  lastModified: 1000,
  contentType: "text/plain",
  metadata: {},
  ...overrides,
});

describe("compareKeys", () => {
  it("orders keys as UTF-8 bytes, which S3 uses, not as UTF-16 code units", () => {
    // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8 but after it in UTF-16.
    const keys = ["😀", "Ａ", "b", "a/b", "a", "é", "A", "a a-"];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual([...keys].sort(compareKeys), byBytes);
    assert.ok("😀" < "Ａ", "JavaScript's own order disagrees");
  });

  it("bounds ranges exclusively, and successor() makes an inclusive bound exclusive", () => {
    assert.equal(inRange("b", "a", "c"), true);
    assert.equal(inRange("a", "a", "c"), false);
    assert.equal(inRange("c", "a", "c"), false);
    assert.equal(inRange("photos/", undefined, successor("photos/")), true);
    assert.equal(inRange("photos/a", undefined, successor("photos/")), false);
  });
});

describe("pairListings", () => {
  it("merges two sorted listings in one pass across page boundaries", async () => {
    const result = await pairs(
      [obj("a"), obj("b"), obj("c"), obj("e"), obj("f")],
      [obj("b"), obj("d"), obj("e"), obj("g")],
    );
    assert.deepEqual(
      result.map((p) => `${p.key}:${p.source ? "s" : "-"}${p.destination ? "d" : "-"}`),
      ["a:s-", "b:sd", "c:s-", "d:-d", "e:sd", "f:s-", "g:-d"],
    );
  });

  it("handles empty sides", async () => {
    assert.deepEqual((await pairs([], [obj("x")])).map((p) => p.key), ["x"]);
    assert.deepEqual((await pairs([obj("x")], [])).map((p) => p.key), ["x"]);
    assert.deepEqual(await pairs([], []), []);
  });
});

describe("decideListed", () => {
  const backup = { mode: "backup", conflictPolicy: "report" } as const;
  const mirror = { mode: "mirror", conflictPolicy: "report" } as const;
  const twoWay = { mode: "two-way", conflictPolicy: "report" } as const;

  it("copies what is missing and treats extras by mode", () => {
    assert.deepEqual(decideListed({ key: "k", source: obj("k") }, backup), { action: "copy", reason: "missing" });
    assert.equal(decideListed({ key: "k", destination: obj("k") }, backup).action, "extra");
    assert.equal(decideListed({ key: "k", destination: obj("k") }, mirror).action, "delete");
    assert.equal(decideListed({ key: "k", destination: obj("k") }, twoWay).action, "copy-to-source");
  });

  it("updates on a size difference and conflicts on it in two-way", () => {
    const pair = { key: "k", source: obj("k", "e", 1), destination: obj("k", "e", 2) };
    assert.deepEqual(decideListed(pair, backup), { action: "update", reason: "size" });
    assert.deepEqual(decideListed(pair, twoWay), { action: "conflict", reason: "size" });
  });

  it("updates without inspecting when ETags differ and the source is newer, except in two-way", () => {
    const pair = { key: "k", source: obj("k", "new", 1, 3000), destination: obj("k", "old", 1, 2000) };
    assert.deepEqual(decideListed(pair, backup), { action: "update", reason: "content" });
    assert.equal(decideListed(pair, twoWay).action, "inspect");
  });

  it("calls equal ETags unchanged when the copy is newer, and inspects otherwise", () => {
    assert.equal(decideListed({ key: "k", source: obj("k", "e", 1, 1000), destination: obj("k", "e", 1, 2000) }, backup).action, "unchanged");
    assert.equal(decideListed({ key: "k", source: obj("k", "e", 1, 2000), destination: obj("k", "e", 1, 2000) }, backup).action, "inspect");
    assert.equal(decideListed({ key: "k", source: obj("k", "e1", 1, 1000), destination: obj("k", "e2-3", 1, 2000) }, backup).action, "inspect");
  });
});

describe("decideInspected", () => {
  const backup = { mode: "backup", conflictPolicy: "report" } as const;

  it("accepts a multipart copy whose recorded source ETag matches", () => {
    const copy = details({ etag: "ffff-3", metadata: { [SOURCE_ETAG_METADATA]: "abc" } });
    assert.equal(decideInspected(details(), copy, backup).action, "unchanged");
  });

  it("updates when the recorded ETag is of an older source", () => {
    const copy = details({ etag: "ffff-3", metadata: { [SOURCE_ETAG_METADATA]: "old" } });
    assert.deepEqual(decideInspected(details(), copy, backup), { action: "update", reason: "content" });
  });

  it("prefers equal full-object checksums over differing ETags, and unequal ones over equal ETags", () => {
    const checksum = { algorithm: "CRC64NVME", value: "q1" };
    assert.equal(decideInspected(details({ checksum }), details({ etag: "x-2", checksum }), backup).action, "unchanged");
    assert.equal(
      decideInspected(details({ checksum }), details({ checksum: { algorithm: "CRC64NVME", value: "q2" } }), backup).action,
      "update",
    );
  });

  it("compares every carried header and user metadata, ignoring the marker", () => {
    const source = details({ cacheControl: "no-cache", expires: "Wed, 21 Oct 2026 07:28:00 GMT", metadata: { a: "1" } });
    const same = details({
      cacheControl: "no-cache",
      expires: "Wed, 21 Oct 2026 07:28:00 GMT",
      metadata: { a: "1", [SOURCE_ETAG_METADATA]: "abc" },
    });
    assert.deepEqual(metadataDifferences(source, same), []);
    const other = details({ contentDisposition: "attachment", contentLanguage: "de", metadata: { a: "2" } });
    assert.deepEqual(metadataDifferences(source, other), [
      "cache-control",
      "content-disposition",
      "content-language",
      "expires",
      "x-amz-meta-a",
    ]);
    assert.deepEqual(decideInspected(source, other, backup), { action: "update", reason: "metadata" });
  });

  it("in two-way, newer-wins copies the later side; report leaves a conflict", () => {
    const older = details({ etag: "a", lastModified: 1 });
    const newer = details({ etag: "b", lastModified: 2 });
    assert.equal(decideInspected(older, newer, { mode: "two-way", conflictPolicy: "newer-wins" }).action, "copy-to-source");
    assert.equal(decideInspected(newer, older, { mode: "two-way", conflictPolicy: "newer-wins" }).action, "update");
    assert.equal(decideInspected(newer, older, { mode: "two-way", conflictPolicy: "report" }).action, "conflict");
  });
});
