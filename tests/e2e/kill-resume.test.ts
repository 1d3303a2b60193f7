/**
 * A sync stopped by a killed process, not by an error: `bucket-sync sync` runs in a child process
 * against the embedded server (started here, so the server outlives the kill) through a proxy
 * that answers a fixed number of copies and then holds every later one; once it holds, the run
 * can go no further and is sent SIGKILL — no timing decides where it stops. It is then run again,
 * straight against the server, to completion.
 *
 * The second run must converge: the destination equals the source (keys, sizes, content hashes,
 * metadata), each key once, nothing lost. In a mirror, the killed run must not have deleted
 * anything yet (deletes only follow a complete copy phase), and the finished one deletes exactly
 * the extras.
 */
import { strict as assert } from "node:assert";
import type { S3Client } from "@aws-sdk/client-s3";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { assertConverged } from "../helpers/convergence";
import { credentialsEnv, finished, runCli, spawnCli } from "../helpers/cli";
import { startFaultProxy } from "../helpers/faultProxy";
import { countingClient, listKeys, newBucket, put, putMany } from "../helpers/s3";

/** Objects in the source: enough that a run is still copying when it is killed. */
const OBJECTS = 1200;
/** Copies the killed run makes before the proxy holds the rest. */
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
    s3 = await startS3rverProcess();
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

  const syncArgs = (destination: string, extra: string[] = [], endpoint = s3.endpoint) => [
    "sync",
    "--endpoint", endpoint,
    "--source", `s3://${source}`,
    "--destination", `s3://${destination}`,
    "--report-to", `s3://${reports}/runs/`,
    "--json",
    ...extra,
  ];

  /** Runs a sync through a proxy that answers `copies` copies and holds the rest, then SIGKILLs it. */
  async function killMidway(destination: string, extra: string[], copies: number): Promise<void> {
    const proxy = await startFaultProxy({ upstream: s3.endpoint, seed: 1, holdCopiesAfter: copies });
    try {
      const child = spawnCli(syncArgs(destination, extra, proxy.endpoint), credentialsEnv(s3));
      const done = finished(child);
      const first = await Promise.race([proxy.holding().then(() => "holding" as const), done]);
      assert.equal(first, "holding", `the sync ended before ${copies} copies: ${first === "holding" ? "" : first.stderr}`);
      child.kill("SIGKILL");
      const run = await done;
      assert.equal(run.signal, "SIGKILL", `the sync ended by itself before the kill (exit ${run.code}): ${run.stderr}`);
      assert.equal(run.stdout, "", "a killed run prints no result");
    } finally {
      await proxy.close();
    }
  }

  /** The destination's keys: each once, in order. */
  async function assertEachKeyOnce(bucket: string): Promise<string[]> {
    const keys = (await listKeys(client, bucket)).map((o) => o.key);
    assert.equal(new Set(keys).size, keys.length, "a listing names each key once");
    return keys;
  }

  it("backup: the second run copies what the killed one did not, and the destination equals the source", async () => {
    const destination = await newBucket(client, "dst");
    await killMidway(destination, ["--partitions", "8", "--min-keys-per-partition", "100"], COPIES_BEFORE_KILL);
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
    const extra = ["--mode", "mirror", "--max-deletes", String(EXTRA_KEYS.length), "--partitions", "8", "--min-keys-per-partition", "100"];
    const args = syncArgs(destination, extra);

    await killMidway(destination, extra, COPIES_BEFORE_KILL);
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
