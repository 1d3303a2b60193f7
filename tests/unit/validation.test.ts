import { createHandlers } from "../../handlers/index";
import { createS3Client } from "../../handlers/engine/s3Client";
import * as assert from "node:assert/strict";
import { CONTRACT_VERSION, type SyncRangeResult } from "../../model/contract";
import { ERROR_NAMES, isEngineError } from "../../handlers/engine/errors";
import { partitionsFromKeys } from "../../handlers/engine/partitions";
import { emptyStats } from "../../handlers/engine/stats";
import { summarize } from "../../handlers/engine/summary";
import { DEFAULTS, parseDeleteLimit, validateRequest } from "../../handlers/engine/validation";
import { compareKeys, inRange } from "../../handlers/engine/keys";

const ok = { source: { bucket: "dev-data" }, destination: { bucket: "prod-data" } };

describe("validateRequest", () => {
  it("fills in every default", () => {
    const job = validateRequest(ok);
    assert.equal(job.mode, "backup");
    assert.deepEqual(job.maxDeletes, { percent: 10 });
    assert.equal(job.concurrency, DEFAULTS.concurrency);
    assert.deepEqual(job.source, { bucket: "dev-data", prefix: "" });
  });

  it("stamps the job with the contract version, and refuses a request written for another one before reading it", () => {
    assert.equal(validateRequest(ok).version, CONTRACT_VERSION);
    assert.equal(validateRequest({ ...ok, version: CONTRACT_VERSION }).version, CONTRACT_VERSION);
    for (const version of [CONTRACT_VERSION + 1, 0, "1"]) {
      assert.throws(
        () => validateRequest({ ...ok, mode: "sideways", version }),
        (err: Error) => isEngineError(err, ERROR_NAMES.unknownContractVersion) && /knows only version 1/.test(err.message),
        String(version),
      );
    }
  });

  it("names every problem in one error", () => {
    assert.throws(
      () => validateRequest({ source: { bucket: "" }, destination: { bucket: "x" }, mode: "copy", concurrency: 0 }),
      (err: Error) =>
        isEngineError(err, ERROR_NAMES.validation) &&
        Array.isArray((err as Error & { problems?: string[] }).problems) &&
        (err as Error & { problems: string[] }).problems.length === 4 &&
        /source bucket name is empty/.test(err.message) &&
        /destination bucket name "x" is invalid/.test(err.message) &&
        /mode "copy" is unknown/.test(err.message) &&
        /concurrency must be an integer from 1 to 1000, got 0/.test(err.message),
    );
  });

  it("names a partitions count out of bounds before any listing", async () => {
    for (const partitions of [0, 4097]) {
      assert.throws(() => validateRequest({ source: { bucket: "aaa" }, destination: { bucket: "bbb" }, partitions }), new RegExp(`partitions must be an integer from 1 to 4096, got ${partitions}`));
    }
    // plan-partitions checks the job it is given before its first LIST
    let requests = 0;
    const client = createS3Client({ endpoint: "http://127.0.0.1:9" });
    client.middlewareStack.add((next) => (args) => (requests++, next(args)), { step: "initialize" });
    const job = { ...validateRequest({ source: { bucket: "aaa" }, destination: { bucket: "bbb" } }), partitions: 5000 };
    await assert.rejects(createHandlers({ client })["plan-partitions"]({ job }), /partitions must be an integer from 1 to 4096, got 5000/);
    assert.equal(requests, 0);
  });

  it("accepts disjoint prefixes in one bucket and refuses nested ones", () => {
    assert.doesNotThrow(() => validateRequest({ source: { bucket: "b-1", prefix: "dev/" }, destination: { bucket: "b-1", prefix: "prod/" } }));
    assert.throws(() => validateRequest({ source: { bucket: "b-1", prefix: "" }, destination: { bucket: "b-1", prefix: "x/" } }), /overlap/);
  });

  it("parses delete limits as counts or shares", () => {
    assert.deepEqual(parseDeleteLimit(5), { count: 5 });
    assert.deepEqual(parseDeleteLimit("5"), { count: 5 });
    assert.deepEqual(parseDeleteLimit("2.5%"), { percent: 2.5 });
    assert.equal(parseDeleteLimit("150%"), undefined);
    assert.equal(parseDeleteLimit(-1), undefined);
  });
});

describe("partitionsFromKeys", () => {
  it("splits key-scoped runs into sorted chunks", () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    const partitions = partitionsFromKeys([...keys, "k1"]);
    assert.deepEqual(partitions.map((p) => p.keys?.length), [1000, 1000, 500]);
    assert.deepEqual(partitions[0].keys?.slice(0, 3), [...keys].sort(compareKeys).slice(0, 3));
  });
});

describe("summarize", () => {
  const job = validateRequest({ ...ok, mode: "mirror", maxDeletes: "10%" });
  const result = (id: number, extra: number, failed = 0): SyncRangeResult => ({
    partition: { id },
    phase: "copy",
    done: true,
    stats: { ...emptyStats(), destinationObjects: 50, extra, failed },
    plannedDeletes: extra,
    failures: [],
    changes: [],
    uploads: [],
    handledAhead: [],
    cursor: "k",
  });

  it("allows deletes within the share of the destination and lists the partitions to delete in", () => {
    const summary = summarize({ job, phase: "copy", results: [result(0, 4), result(1, 0), result(2, 6)] });
    assert.equal(summary.deleteLimit, 15);
    assert.equal(summary.deleteDecision, "within-limit");
    assert.deepEqual(summary.deletePartitions, [
      { partition: { id: 0 }, deleteBudget: 4 },
      { partition: { id: 2 }, deleteBudget: 6 },
    ]);
  });

  it("asks for approval above the limit and blocks deletes after a failure", () => {
    assert.equal(summarize({ job, phase: "copy", results: [result(0, 20)] }).deleteDecision, "over-limit");
    const blocked = summarize({ job, phase: "copy", results: [result(0, 1, 1)] });
    assert.equal(blocked.deleteDecision, "blocked-by-failures");
    assert.deepEqual(blocked.deletePartitions, []);
  });

  it("keeps the copy phase's decision in the delete phase's summary: an approved over-limit run says over-limit", () => {
    const copy = summarize({ job, phase: "copy", results: [result(0, 20)] });
    const deleted = { ...result(0, 0), phase: "delete" as const, stats: { ...emptyStats(), deleted: 20 } };
    const summary = summarize({ job, phase: "delete", results: [deleted], previous: copy });
    assert.equal(summary.deleteDecision, "over-limit");
    assert.equal(summary.stats.deleted, 20);
    assert.deepEqual(summary.deletePartitions, []);
  });
});

describe("key-scoped requests from S3 events", () => {
  it("tries each event key as written and URL-decoded", () => {
    const job = validateRequest({ ...ok, keys: ["red+flower.jpg", "a%2Bb", "plain", "bad%zz"], keysEncoding: "s3-event" });
    assert.deepEqual(job.keys, ["red+flower.jpg", "red flower.jpg", "a%2Bb", "a+b", "plain", "bad%zz"]);
  });

  it("keeps raw keys as they are and rejects an unknown encoding", () => {
    assert.deepEqual(validateRequest({ ...ok, keys: ["a+b"] }).keys, ["a+b"]);
    assert.throws(() => validateRequest({ ...ok, keys: ["a"], keysEncoding: "base64" as never }), /keysEncoding "base64" is unknown/);
  });
});
