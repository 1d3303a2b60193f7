/**
 * Copies that span calls: an object copied part by part over many `sync-range` calls, each with a
 * one-second time budget, against a slow S3 (the fault proxy adding latency in front of the
 * embedded server). Proved from what the server really received (the proxy's log): the copy is
 * byte-exact, each part is copied once, the upload is created and completed once, and no upload
 * is left open. And a run killed mid-copy: the next run aborts the upload the killed one left
 * open, copies the object and converges.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from "@aws-sdk/client-s3";
import { runLocalSync } from "../../cli/localSync";
import { stackIam } from "../helpers/iam";
import type { SyncRequest } from "../../model/contract";
import { startEmbeddedS3, type EmbeddedS3 } from "../../s3-server/embeddedS3";
import { credentialsEnv, finished, runCli, spawnCli } from "../helpers/cli";
import { startFaultProxy, type FaultProxy, type ForwardedRequest } from "../helpers/faultProxy";
import { countingClient, newBucket, put } from "../helpers/s3";

const MiB = 1024 ** 2;
/** 7 parts of 5 MiB (the smallest S3 allows), the last one short. */
const PART = 5 * MiB;
const SIZE = 6 * PART + 123_457;
const PARTS = 7;
const KEY = "media/2026/film.bin";

describe("copies that span sync-range calls", function () {
  this.timeout(300_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let proxy: FaultProxy;
  let reportDirectory: string;
  let body: Buffer;

  before(async () => {
    s3 = await startEmbeddedS3();
    client = countingClient(s3).client;
    proxy = await startFaultProxy({ upstream: s3.endpoint, seed: 10 });
    reportDirectory = await mkdtemp(join(tmpdir(), "bucket-sync-large-"));
    body = randomBytes(SIZE);
  });
  after(async () => {
    await proxy?.close();
    client?.destroy();
    await s3?.stop();
    if (reportDirectory) await rm(reportDirectory, { recursive: true, force: true });
  });

  const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
  async function contentHash(bucket: string, key: string): Promise<string> {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return sha256(Buffer.from(await object.Body!.transformToByteArray()));
  }
  async function openUploads(bucket: string) {
    return (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  }
  /** Forwarded requests for `key` in `bucket`, by kind. */
  function requestsFor(bucket: string, key: string, since: number) {
    const path = `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const mine = proxy.forwarded.slice(since).filter((r: ForwardedRequest) => r.url.split("?")[0] === path);
    const query = (r: ForwardedRequest) => new URLSearchParams(r.url.split("?")[1] ?? "");
    return {
      creates: mine.filter((r) => r.method === "POST" && query(r).has("uploads")).length,
      completes: mine.filter((r) => r.method === "POST" && query(r).has("uploadId")).length,
      partCopies: mine.filter((r) => r.method === "PUT" && query(r).has("uploadId") && r.copySource).map((r) => Number(query(r).get("partNumber"))),
    };
  }

  it("copies a multipart object over many calls: byte-exact, each part once, completed once, no upload left open", async () => {
    const source = await newBucket(client, "large-src");
    const destination = await newBucket(client, "large-dst");
    await put(client, source, KEY, body, { ContentType: "video/mp4", Metadata: { camera: "a7" } });
    await put(client, source, "media/2026/notes.txt", "cut at 01:02");
    const since = proxy.forwarded.length;
    // Every request waits 150 ms: with one part in flight and a one-second budget, a call copies
    // a few parts at most (the first one none or one: it also lists, reads the source's headers
    // and tags, and creates the upload).
    proxy.setLatency(150);

    let copyCalls = 0;
    const request: SyncRequest = {
      source: { bucket: source },
      destination: { bucket: destination, prefix: "backup/" },
      partitions: 1,
      concurrency: 1,
      timeBudgetSeconds: 1,
      partSizeBytes: PART,
      multipartThresholdBytes: PART,
    };
    const result = await runLocalSync({
      request,
      // Every handler as the role the stack deploys for these buckets.
      iam: await stackIam(request, { reports: { bucket: "reports" }, clients: [] }),
      endpoint: proxy.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      region: s3.region,
      report: { directory: reportDirectory },
      onEvent: (event) => {
        const e = event as { type: string; state?: { name: string } };
        if (e.type === "StateEntered" && e.state?.name === "Copy range") copyCalls++;
      },
    });
    proxy.setLatency(0);
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    assert.equal(result.summary?.stats.copied, 2, JSON.stringify(result.summary?.stats));
    assert.equal(result.summary?.stats.sourceObjects, 2, "each object listed and counted once");
    assert.equal(result.summary?.stats.failed, 0);
    assert.ok(copyCalls >= 2, `the copy took ${copyCalls} sync-range calls`);

    assert.equal(await contentHash(destination, `backup/${KEY}`), sha256(body));
    const requests = requestsFor(destination, `backup/${KEY}`, since);
    assert.equal(requests.creates, 1, "one upload");
    assert.equal(requests.completes, 1, "completed once");
    assert.deepEqual([...requests.partCopies].sort((a, b) => a - b), Array.from({ length: PARTS }, (_, i) => i + 1), "each part copied once");
    assert.deepEqual(await openUploads(destination), []);

    // A second run finds nothing to do.
    const againRequest: SyncRequest = { source: { bucket: source }, destination: { bucket: destination, prefix: "backup/" }, partitions: 1, partSizeBytes: PART, multipartThresholdBytes: PART };
    const again = await runLocalSync({
      request: againRequest,
      iam: await stackIam(againRequest, { reports: { bucket: "reports" }, clients: [] }),
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      region: s3.region,
      report: { directory: reportDirectory },
    });
    assert.equal(again.status, "SUCCEEDED", `${again.error}: ${again.cause}`);
    assert.equal(again.summary?.stats.unchanged, 2);
  });

  it("a run killed mid-copy leaves an upload the next run aborts; the next run copies the object and converges", async () => {
    const source = await newBucket(client, "killed-src");
    const destination = await newBucket(client, "killed-dst");
    await put(client, source, KEY, body);
    const args = [
      "sync", `s3://${source}`, `s3://${destination}`,
      "--endpoint", proxy.endpoint,
      "--partitions", "1",
      "--concurrency", "1",
      "--time-budget-seconds", "1",
      "--part-size-bytes", String(PART),
      "--multipart-threshold-bytes", String(PART),
      "--report-to", reportDirectory,
      "--json",
    ];

    // Kill the run while its upload holds some parts but not all: each request waits 150 ms, so a
    // completion cannot have reached the server when the kill comes.
    proxy.setLatency(150);
    const child = spawnCli(args, credentialsEnv(s3));
    const exit = finished(child);
    let exited = false;
    void exit.then(() => (exited = true));
    const giveUp = Date.now() + 120_000;
    for (;;) {
      assert.ok(!exited, "the run ended before it could be killed mid-copy");
      assert.ok(Date.now() < giveUp, "no upload with parts within 120 s");
      const [upload] = await openUploads(destination);
      if (upload) {
        const parts = (await client.send(new ListPartsCommand({ Bucket: destination, Key: KEY, UploadId: upload.UploadId }))).Parts ?? [];
        if (parts.length >= 1 && parts.length < PARTS) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    assert.equal((await exit).signal, "SIGKILL");
    proxy.setLatency(0);
    assert.equal((await openUploads(destination)).length, 1, "the killed run left its upload open");

    const resumed = await runCli(args, { env: credentialsEnv(s3), timeoutMs: 180_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const doc = JSON.parse(resumed.stdout);
    assert.equal(doc.status, "SUCCEEDED");
    assert.equal(doc.copied, 1, resumed.stdout);
    assert.equal(await contentHash(destination, KEY), sha256(body));
    assert.deepEqual(await openUploads(destination), [], "the abandoned upload was aborted, the new one completed");
  });
});
