/**
 * The on-change chain run locally against the embedded S3 server: events -> rule -> buffer ->
 * batches -> the batch machine's definition -> sync runs through the local runtime.
 */
import { strict as assert } from "node:assert";
import { setMaxListeners } from "node:events";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SyncRequest } from "../../model/contract";
import { createS3Client } from "../../handlers/engine/s3Client";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { OnChangeChain, s3ObjectEvent, type BatchRunOutcome } from "../../cli/onChangeChain";
import { runLocalSync, type LocalSyncResult } from "../../cli/localSync";
import { onChangeEventPattern } from "../../infra/triggers";
import { startS3rverProcess } from "../servers/s3rver";
import { listKeys, newBucket, put, putMany } from "../helpers/s3";

describe("on-change chain (local, embedded S3)", function () {
  this.timeout(600_000);
  let s3: EmbeddedS3;
  let client: S3Client;

  before(async () => {
    // Batches waiting for a run slot each hold an abort listener of the interpreter.
    setMaxListeners(1000);
    s3 = await startS3rverProcess();
    client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3, compatibility: "generic" });
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  /** A chain whose sync runs are local runs of the sync machine, reporting into the reports bucket. */
  async function chain(request: SyncRequest, settings: { maxBatchKeys: number; maxConcurrentRuns: number; maxDeletes?: number }) {
    const reports = await newBucket(client, "reports");
    const runs: LocalSyncResult[] = [];
    const inputs: SyncRequest[] = [];
    const runSync = async (input: SyncRequest): Promise<BatchRunOutcome> => {
      inputs.push(input);
      const result = await runLocalSync({
        request: input,
        endpoint: s3.endpoint,
        compatibility: "generic",
        credentials: s3,
        region: s3.region,
        report: { bucket: reports, prefix: "reports/" },
      });
      runs.push(result);
      return { status: result.status, error: result.error, cause: result.cause };
    };
    return {
      runs,
      inputs,
      reports,
      chain: new OnChangeChain({ request, eventPattern: onChangeEventPattern(request.source.bucket, ""), maxDeletes: settings.maxDeletes ?? 100, maxBatchKeys: settings.maxBatchKeys, maxConcurrentRuns: settings.maxConcurrentRuns, runSync, slotRetryMs: 50 }),
    };
  }

  it("syncs a 5,000-object burst in at most ceil(5000 / batch size) runs, a duplicate event copied once, a lifecycle expiration ignored", async () => {
    const source = await newBucket(client, "burst-src");
    const destination = await newBucket(client, "burst-dst");
    const keys = Array.from({ length: 5000 }, (_, i) => `site/assets/${String(i).padStart(5, "0")} photo.jpg`);
    await putMany(client, source, keys);
    // An object only the destination has, whose source copy S3 Lifecycle expired.
    await put(client, destination, "site/expired.txt", "kept");
    // 5,001 events (one a duplicate) in batches of 1,001: ceil(5000 / 1001) = 5 runs at most.
    const batchSize = 1001;
    const { chain: c, runs, reports } = await chain(
      { source: { bucket: source }, destination: { bucket: destination }, mode: "mirror", maxDeletes: "10%" },
      { maxBatchKeys: batchSize, maxConcurrentRuns: 1 },
    );

    for (const key of keys) c.publish(s3ObjectEvent({ bucket: source, key, type: "Object Created" }));
    assert.equal(c.publish(s3ObjectEvent({ bucket: source, key: keys[7], type: "Object Created" })), true, "a duplicate event is buffered");
    assert.equal(c.publish(s3ObjectEvent({ bucket: source, key: "site/expired.txt", type: "Object Deleted", reason: "Lifecycle Expiration" })), false);
    const executions = await c.flush();

    assert.ok(runs.length <= Math.ceil(5000 / batchSize), `${runs.length} runs`);
    assert.deepEqual(executions.map((e) => e.status), executions.map(() => "SUCCEEDED"), JSON.stringify(runs.map((r) => [r.error, r.cause?.slice(0, 300)])));
    assert.equal(c.maxRunsAtOnce, 1, "onChangeMaxConcurrentRuns");
    const copied = runs.reduce((sum, r) => sum + (r.summary?.stats.copied ?? 0), 0);
    assert.equal(copied, 5000, "every key copied once, the duplicate too");
    const synced = new Set((await listKeys(client, destination)).map((o) => o.key));
    for (const key of keys) assert.ok(synced.has(key), `${key} synced`);
    assert.ok(synced.has("site/expired.txt"), "a lifecycle expiration deletes nothing");
    assert.equal(c.ruleSkipped, 1);
    assert.equal(c.deadLetters.length, 0);
    // Each batch run wrote its report; a routine success sent no message.
    assert.ok(runs.every((r) => r.report?.jsonKey), "every batch run wrote a report");
    assert.equal(runs.flatMap((r) => r.notifications).filter((n) => n.subject === "bucket-sync: sync finished").length, 0);
    assert.ok((await listKeys(client, reports, "reports/")).length >= runs.length);
  });

  it("deletes what a batch reports deleted, drops keys outside the source prefix, and never runs two batches at once", async () => {
    const source = await newBucket(client, "mix-src");
    const destination = await newBucket(client, "mix-dst");
    await putMany(client, source, ["data/a.txt", "data/b.txt", "logs/x.txt"]);
    await putMany(client, destination, ["backup/gone.txt"]);
    const { chain: c, runs } = await chain(
      { source: { bucket: source, prefix: "data/" }, destination: { bucket: destination, prefix: "backup/" }, mode: "mirror" },
      { maxBatchKeys: 2, maxConcurrentRuns: 1 },
    );
    for (const key of ["data/a.txt", "data/b.txt", "logs/x.txt"]) c.publish(s3ObjectEvent({ bucket: source, key, type: "Object Created" }));
    c.publish(s3ObjectEvent({ bucket: source, key: "data/gone.txt", type: "Object Deleted" }));
    await c.flush();

    assert.equal(runs.length, 2);
    assert.equal(c.maxRunsAtOnce, 1);
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key).sort(), ["backup/a.txt", "backup/b.txt"]);
    const outside = runs.reduce((sum, r) => sum + (r.summary?.job.onChange?.outsidePrefix ?? 0), 0);
    assert.equal(outside, 1, "logs/x.txt dropped and counted");
  });

  it("sends a batch with a malformed event to the dead-letter queue, syncing none of it, and names it in a notification", async () => {
    const source = await newBucket(client, "bad-src");
    const destination = await newBucket(client, "bad-dst");
    await put(client, source, "a.txt", "a");
    const { chain: c, runs } = await chain({ source: { bucket: source }, destination: { bucket: destination } }, { maxBatchKeys: 10, maxConcurrentRuns: 1 });
    c.publish(s3ObjectEvent({ bucket: source, key: "a.txt", type: "Object Created" }));
    c.enqueue("not an event");
    const [execution] = await c.flush();

    assert.equal(execution.status, "FAILED");
    assert.equal(c.deadLetters.length, 1);
    assert.equal((JSON.parse(c.deadLetters[0].body) as unknown[]).length, 2, "the whole batch, every event named");
    assert.equal(c.notifications.length, 1);
    assert.equal(runs[0].status, "FAILED");
    assert.deepEqual(await listKeys(client, destination), [], "nothing of the batch ran");
    // Redriven after the cause is gone (the malformed message removed), the batch syncs.
    const redriven = (JSON.parse(c.deadLetters[0].body) as Array<{ type?: string }>).filter((r) => r.type);
    const again = await c.execute(redriven as never);
    assert.equal(again.status, "SUCCEEDED");
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["a.txt"]);
  });

  it("holds a second batch while onChangeMaxConcurrentRuns runs are going, and runs two at once when allowed", async () => {
    const source = await newBucket(client, "slots-src");
    const destination = await newBucket(client, "slots-dst");
    const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
    await putMany(client, source, keys);
    const { chain: c } = await chain({ source: { bucket: source }, destination: { bucket: destination } }, { maxBatchKeys: 2, maxConcurrentRuns: 2 });
    for (const key of keys) c.publish(s3ObjectEvent({ bucket: source, key, type: "Object Created" }));
    const executions = await c.flush();
    assert.equal(executions.length, 3);
    assert.ok(c.maxRunsAtOnce <= 2, `${c.maxRunsAtOnce} at once`);
    assert.equal((await listKeys(client, destination)).length, 6);
  });
});
