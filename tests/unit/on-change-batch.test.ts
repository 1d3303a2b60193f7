import * as assert from "node:assert/strict";
import { commonFolder, planBatch } from "../../handlers/engine/onChangeBatch";
import { validateRequest } from "../../handlers/engine/validation";
import type { OnChangeRecord } from "../../model/onChange";

const BUCKET = "acme-dev";
const created = (key: string, extra: Partial<OnChangeRecord> = {}): OnChangeRecord => ({ type: "Object Created", bucket: BUCKET, key, reason: "PutObject", ...extra });
const deleted = (key: string, extra: Partial<OnChangeRecord> = {}): OnChangeRecord => ({ type: "Object Deleted", bucket: BUCKET, key, reason: "DeleteObject", ...extra });

describe("planBatch", () => {
  it("keeps each key once, whatever number of events named it", () => {
    const plan = planBatch([created("b.txt"), created("a.txt"), created("b.txt"), created("b.txt")], { sourceBucket: BUCKET, sourcePrefix: "" });
    assert.deepEqual(plan.keys, ["a.txt", "b.txt"]);
    assert.equal(plan.counts.duplicates, 2);
    assert.equal(plan.counts.events, 4);
    assert.equal(plan.counts.scope, "keys");
  });

  it("ignores lifecycle expirations and drops keys outside the source prefix, counting both", () => {
    const plan = planBatch(
      [created("site/a"), deleted("site/old", { reason: "Lifecycle Expiration" }), created("logs/x"), created("site/b")],
      { sourceBucket: BUCKET, sourcePrefix: "site/" },
    );
    assert.deepEqual(plan.keys, ["a", "b"], "relative to the prefix");
    assert.equal(plan.counts.lifecycleIgnored, 1);
    assert.equal(plan.counts.outsidePrefix, 1);
    assert.equal(plan.counts.deletes, 0);
  });

  it("counts a key as deleted when its latest event is a deletion", () => {
    const plan = planBatch(
      [created("a", { time: "2026-01-01T00:00:01Z" }), deleted("a", { time: "2026-01-01T00:00:02Z" }), deleted("b", { time: "2026-01-01T00:00:01Z" }), created("b", { time: "2026-01-01T00:00:03Z" })],
      { sourceBucket: BUCKET, sourcePrefix: "" },
    );
    assert.equal(plan.counts.deletes, 1, "a was deleted last, b was written again");
  });

  it("fails the whole batch on a malformed event, naming it", () => {
    assert.throws(
      () => planBatch([created("a"), { type: "Object Created", bucket: BUCKET, messageId: "m-2" }, { type: "Object Restored", bucket: BUCKET, key: "c" }], { sourceBucket: BUCKET, sourcePrefix: "" }),
      (err: Error) => /changes\[1\] \(message m-2\) has no key/.test(err.message) && /changes\[2\] has type "Object Restored"/.test(err.message),
    );
    assert.throws(() => planBatch([created("a", { bucket: "other" })], { sourceBucket: BUCKET, sourcePrefix: "" }), /not the source bucket/);
    assert.throws(() => planBatch({ key: "a" }, { sourceBucket: BUCKET, sourcePrefix: "" }), /list of events/);
  });

  it("turns a batch over the inline bound into a prefix run, or a full run without a common folder", () => {
    const many = Array.from({ length: 50 }, (_, i) => created(`photos/2026/${String(i).padStart(3, "0")}.jpg`));
    const prefix = planBatch(many, { sourceBucket: BUCKET, sourcePrefix: "", inlineKeyBytes: 100 });
    assert.equal(prefix.counts.scope, "prefix");
    assert.equal(prefix.commonFolder, "photos/2026/");
    assert.deepEqual(prefix.keys, []);
    const full = planBatch([...many, created("top.txt")], { sourceBucket: BUCKET, sourcePrefix: "", inlineKeyBytes: 100 });
    assert.equal(full.counts.scope, "full");
    assert.equal(full.counts.keys, 51);
  });

  it("finds the longest common folder", () => {
    assert.equal(commonFolder(["a/b/c", "a/b/d", "a/bx"]), "a/");
    assert.equal(commonFolder(["a/b/c"]), "a/b/");
    assert.equal(commonFolder(["x", "y"]), "");
  });
});

describe("validateRequest with changes", () => {
  const request = { source: { bucket: BUCKET }, destination: { bucket: "acme-prod", prefix: "backup/" }, mode: "mirror" as const, maxDeletes: 100 };

  it("scopes the run to the batch's keys, tried as written and decoded, with the batch's deletes as the limit", () => {
    const job = validateRequest({ ...request, changes: [created("red+flower.jpg"), deleted("gone.txt"), created("red+flower.jpg")] });
    assert.deepEqual(job.keys, ["gone.txt", "red+flower.jpg", "red flower.jpg"]);
    assert.deepEqual(job.maxDeletes, { count: 1 });
    assert.equal(job.onChange?.duplicates, 1);
    assert.deepEqual(validateRequest(job), job, "a job re-validates to itself");
  });

  it("caps the limit at the request's count, and refuses a share", () => {
    const job = validateRequest({ ...request, maxDeletes: 0, changes: [deleted("a"), deleted("b")] });
    assert.deepEqual(job.maxDeletes, { count: 0 });
    assert.throws(() => validateRequest({ ...request, maxDeletes: "10%", changes: [deleted("a")] }), /must be a count/);
    assert.throws(() => validateRequest({ ...request, keys: ["a"], changes: [deleted("a")] }), /keys or changes, not both/);
  });

  it("narrows both prefixes to the common folder of a large batch", () => {
    // Keys over the inline bound (64 KiB), the request under Step Functions' 256 KiB input.
    const many = Array.from({ length: 1700 }, (_, i) => created(`photos/2026/${"x".repeat(20)}-${i}.jpg`));
    const job = validateRequest({ ...request, changes: many });
    assert.equal(job.onChange?.scope, "prefix");
    assert.equal(job.keys, undefined);
    assert.equal(job.source.prefix, "photos/2026/");
    assert.equal(job.destination.prefix, "backup/photos/2026/");
  });
});
