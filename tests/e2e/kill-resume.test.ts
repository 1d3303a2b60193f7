/**
 * A sync stopped by a killed process, not by an error: `bucket-sync sync` runs in a child process
 * against the embedded server (started here, in the parent, so the server outlives the kill), is
 * sent SIGKILL once the destination shows some copies, and is then run again to completion.
 *
 * The second run must converge: the destination equals the source (keys, sizes, content hashes,
 * metadata), each key once, nothing lost. In a mirror, the killed run must not have deleted
 * anything yet (deletes only follow a complete copy phase), and the finished one deletes exactly
 * the extras.
 */
import { strict as assert } from "node:assert";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { startEmbeddedS3, type EmbeddedS3 } from "../../s3-server/embeddedS3";
import { assertConverged } from "../helpers/convergence";
import { credentialsEnv, finished, runCli, spawnCli } from "../helpers/cli";
import { countingClient, listKeys, newBucket, put, putMany } from "../helpers/s3";

/** Objects in the source: enough that a run is still copying when it is killed. */
const OBJECTS = 1200;
/** Copies the destination must show before the kill. */
const COPIES_BEFORE_KILL = 150;

const SOURCE_KEYS = Array.from({ length: OBJECTS }, (_, i) => `${String(i % 10).padStart(2, "0")}/object-${String(i).padStart(5, "0")}`);
const body = (key: string) => `${key}\n`.repeat(1 + (key.length % 3));
/** In the mirror's destination before it runs: identical copies it must keep. */
const KEEP_KEYS = SOURCE_KEYS.filter((_, i) => i % 25 === 0);
/** Only in the mirror's destination, spread over partitions: the only objects it may delete. */
const EXTRA_KEYS = Array.from({ length: 20 }, (_, i) => `${String(i % 10).padStart(2, "0")}/zz-extra-${i}`);

describe("a sync killed midway and run again", function () {
  this.timeout(240_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let reports: string;
  let source: string;

  before(async () => {
    s3 = await startEmbeddedS3();
    client = countingClient(s3).client;
    reports = await newBucket(client, "reports");
    source = await newBucket(client, "src");
    await putMany(client, source, SOURCE_KEYS, body);
    await put(client, source, "05/page.html", "<h1>hello</h1>", { ContentType: "text/html", Metadata: { owner: "web" } });
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const syncArgs = (destination: string, extra: string[] = []) => [
    "sync",
    "--endpoint", s3.endpoint,
    "--source", `s3://${source}`,
    "--destination", `s3://${destination}`,
    "--report-to", `s3://${reports}/runs/`,
    "--json",
    ...extra,
  ];

  /** Objects in the destination, counted from one listing page (enough to see progress). */
  async function firstPageCount(bucket: string): Promise<number> {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    return page.KeyCount ?? page.Contents?.length ?? 0;
  }

  /** Starts a sync and SIGKILLs it once the destination holds `atLeast` objects. */
  async function killMidway(args: string[], destination: string, atLeast: number): Promise<void> {
    const child = spawnCli(args, credentialsEnv(s3));
    const done = finished(child);
    let exited = false;
    void done.then(() => (exited = true));
    const deadline = Date.now() + 60_000;
    while (!exited && (await firstPageCount(destination)) < atLeast) {
      assert.ok(Date.now() < deadline, "the sync made no copies within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    const run = await done;
    assert.equal(run.signal, "SIGKILL", `the sync ended by itself before the kill (exit ${run.code}): ${run.stderr}`);
    assert.equal(run.stdout, "", "a killed run prints no result");
  }

  /** The destination's keys: each once, in order. */
  async function assertEachKeyOnce(bucket: string): Promise<string[]> {
    const keys = (await listKeys(client, bucket)).map((o) => o.key);
    assert.equal(new Set(keys).size, keys.length, "a listing names each key once");
    return keys;
  }

  it("backup: the second run copies what the killed one did not, and the destination equals the source", async () => {
    const destination = await newBucket(client, "dst");
    await killMidway(syncArgs(destination, ["--partitions", "8", "--min-keys-per-partition", "100"]), destination, COPIES_BEFORE_KILL);
    const partial = await assertEachKeyOnce(destination);
    assert.ok(partial.length >= COPIES_BEFORE_KILL && partial.length < OBJECTS, `${partial.length} copied before the kill`);

    const resumed = await runCli(syncArgs(destination, ["--partitions", "8", "--min-keys-per-partition", "100"]), { env: credentialsEnv(s3), timeoutMs: 180_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const doc = JSON.parse(resumed.stdout);
    assert.equal(doc.status, "SUCCEEDED");
    // Whatever the killed run finished is not copied again (the server, which outlived the kill,
    // may still have finished a copy or two in flight after the listing); the rest is.
    assert.equal(doc.copied + doc.unchanged, OBJECTS + 1, JSON.stringify(doc));
    assert.ok(doc.copied <= OBJECTS + 1 - partial.length, `${doc.copied} copied after ${partial.length}`);
    assert.equal(doc.updated, 0, "nothing half-written by the killed run");
    assert.equal(doc.failed, 0);

    const keys = await assertEachKeyOnce(destination);
    assert.equal(keys.length, OBJECTS + 1);
    await assertConverged(client, { bucket: source }, { bucket: destination }, "after the resumed backup");
  });

  it("mirror: the killed run deleted nothing; the second deletes exactly the extras and converges", async () => {
    const destination = await newBucket(client, "dst");
    await putMany(client, destination, KEEP_KEYS, body);
    await putMany(client, destination, EXTRA_KEYS, (key) => `extra ${key}`);
    const args = syncArgs(destination, ["--mode", "mirror", "--max-deletes", String(EXTRA_KEYS.length), "--partitions", "8", "--min-keys-per-partition", "100"]);

    await killMidway(args, destination, KEEP_KEYS.length + EXTRA_KEYS.length + COPIES_BEFORE_KILL);
    const partial = new Set(await assertEachKeyOnce(destination));
    assert.ok(partial.size < OBJECTS, `${partial.size} objects before the kill`);
    for (const key of [...KEEP_KEYS, ...EXTRA_KEYS]) assert.ok(partial.has(key), `${key} was deleted by the killed run`);

    const resumed = await runCli(args, { env: credentialsEnv(s3), timeoutMs: 180_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const doc = JSON.parse(resumed.stdout);
    assert.equal(doc.status, "SUCCEEDED");
    assert.equal(doc.deleted, EXTRA_KEYS.length);
    assert.equal(doc.failed, 0);

    const keys = await assertEachKeyOnce(destination);
    assert.equal(keys.length, OBJECTS + 1);
    for (const key of EXTRA_KEYS) assert.ok(!keys.includes(key), `${key} survived the mirror`);
    await assertConverged(client, { bucket: source }, { bucket: destination }, "after the resumed mirror");
  });
});
