/**
 * The sync machine at many partitions: hundreds of partitions through the generated definition,
 * run by the local runner against the embedded S3 server, exactly as the CLI runs it. Proves the
 * run is faithful (the destination matches the source object by object), that its state data does
 * not grow with the number of partitions (per-partition results go to the run records beside the
 * report, never into the state), and that the CLI's report carries the `limits` it reached.
 */
import { strict as assert } from "node:assert";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { resultDocument } from "../../cli/sync";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { runLocalSync } from "../../cli/localSync";
import { stackIam } from "../helpers/iam";
import type { SyncRequest } from "../../model/contract";
import { HISTORY_EVENTS_LIMIT } from "../../local-stepfunctions/runner";
import { DATA_LIMIT_BYTES } from "../../local-stepfunctions/emulation";
import { assertConverged } from "../helpers/convergence";
import { countingClient, listKeys, newBucket, putMany } from "../helpers/s3";

describe("the sync machine at hundreds of partitions", function () {
  this.timeout(300_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let reportDirectory: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    reportDirectory = await mkdtemp(join(tmpdir(), "bucket-sync-scale-"));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    if (reportDirectory) await rm(reportDirectory, { recursive: true, force: true });
  });

  async function sync(source: string, destination: string, partitions: number, report: { directory: string } | { bucket: string; prefix: string }) {
    const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination, prefix: "copy/" }, partitions, minKeysPerPartition: 1, concurrency: 8 };
    return runLocalSync({
      request,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      region: s3.region,
      report,
      // Every handler as the role the stack deploys for these buckets.
      iam: await stackIam(request, { reports: "bucket" in report ? report : { bucket: "reports" }, clients: [] }),
    });
  }

  it("syncs 200 partitions faithfully, with state data and history the size of a 2-partition run", async () => {
    // 200 keys, 200 partitions of at least one key: the planner gives each key its own partition. (s3rver reads every
    // object's metadata on each LIST, so a bigger bucket makes this spec slow, not stronger.)
    const source = await newBucket(client, "scale-src");
    const destination = await newBucket(client, "scale-dst");
    const keys = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, "0")}/a.txt`);
    await putMany(client, source, keys);

    const result = await sync(source, destination, 200, { directory: reportDirectory });
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    assert.equal(result.partitions, 200);
    assert.equal(result.summary?.stats.copied, keys.length);
    assert.equal(result.summary?.stats.failed, 0);
    await assertConverged(client, { bucket: source }, { bucket: destination, prefix: "copy/" });

    // Every partition's result is a record beside the report, none in the state.
    const execution = result.report?.jsonKey.split("/").at(-2) as string;
    const records = await readdir(join(reportDirectory, execution, "partitions", "copy"));
    assert.equal(records.length, 200);

    // The same sync of 2 partitions: the largest state differs by the plan's size alone (the only
    // per-partition data the state holds), and the parent's history not at all.
    const small = await newBucket(client, "scale-small");
    await putMany(client, small, ["tenant-000/a.txt", "tenant-001/a.txt"]);
    const few = await sync(small, await newBucket(client, "scale-small-dst"), 2, { directory: reportDirectory });
    assert.equal(few.status, "SUCCEEDED", `${few.error}: ${few.cause}`);
    assert.equal(result.limits.historyEvents, few.limits.historyEvents);
    const planBytes = Buffer.byteLength(JSON.stringify(Array.from({ length: 200 }, (_, id) => ({ id, startAfter: "tenant-000/a.txt", endBefore: "tenant-000/a.txt\u0000" }))));
    assert.ok(
      result.limits.maxStateBytes - few.limits.maxStateBytes < planBytes,
      `largest state: ${result.limits.maxStateBytes} bytes at 200 partitions, ${few.limits.maxStateBytes} at 2`,
    );
    assert.ok(result.limits.maxStateBytes < DATA_LIMIT_BYTES / 4);

    // The CLI's --json document reports the limits.
    const document = resultDocument(result);
    assert.deepEqual(Object.keys(document.limits).sort(), ["historyEvents", "historyEventsLimit", "maxStateBytes", "partitions", "stateBytesLimit"]);
    assert.equal(document.limits.partitions, 200);
    console.log(`      limits at 200 partitions: ${JSON.stringify(document.limits)}; at 2: ${JSON.stringify(few.limits)}`);
    assert.ok(document.limits.historyEvents > 20 && document.limits.historyEvents < 100, `${document.limits.historyEvents} history events`);
    assert.equal(document.limits.historyEventsLimit, HISTORY_EVENTS_LIMIT);
  });

  it("syncs 1,000 partitions faithfully, the plan read from S3 through the ItemReader, every state under 16 KiB", async function () {
    // 2,000 LISTs of a 1,000-key bucket, which s3rver answers by reading every object's metadata
    this.timeout(1_500_000);
    // 1,000 keys, 1,000 partitions of at least one key: each key its own range, each range a
    // Map iteration; the plan (1,000 ranges) lives in the reports bucket, not in the state.
    const source = await newBucket(client, "scale-1000-src");
    const destination = await newBucket(client, "scale-1000-dst");
    const reports = await newBucket(client, "scale-1000-reports");
    const keys = Array.from({ length: 1000 }, (_, i) => `t${String(i).padStart(4, "0")}`);
    await putMany(client, source, keys);

    const result = await sync(source, destination, 1000, { bucket: reports, prefix: "runs/" });
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    assert.equal(result.partitions, 1000);
    assert.equal(result.summary?.stats.copied, keys.length);
    assert.equal(result.summary?.stats.failed, 0);
    await assertConverged(client, { bucket: source }, { bucket: destination, prefix: "copy/" });
    const execution = result.report?.jsonKey.split("/").at(-2) as string;
    const records = (await listKeys(client, reports, `runs/${execution}/partitions/copy/`)).map((o) => o.key);
    assert.equal(records.length, 1000);
    const plan = await client.send(new GetObjectCommand({ Bucket: reports, Key: `runs/${execution}/plan.json` }));
    const planned = JSON.parse(await plan.Body!.transformToString()) as Array<{ id: number }>;
    assert.deepEqual(planned.map((p) => p.id).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));

    const document = resultDocument(result);
    console.log(`      limits at 1,000 partitions: ${JSON.stringify(document.limits)}`);
    assert.equal(document.limits.partitions, 1000);
    assert.ok(document.limits.maxStateBytes < 16 * 1024, `largest state ${document.limits.maxStateBytes} bytes`);
  });

  it("keeps a run's records under the report prefix when reports go to a bucket, and nowhere else", async () => {
    const source = await newBucket(client, "scale-src2");
    const destination = await newBucket(client, "scale-dst2");
    const reports = await newBucket(client, "scale-reports");
    await putMany(client, source, Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, "0")}/k`));

    const result = await sync(source, destination, 20, { bucket: reports, prefix: "runs/" });
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
    const execution = result.report?.jsonKey.split("/").at(-2) as string;
    const stored = (await listKeys(client, reports)).map((o) => o.key);
    assert.equal(stored.filter((k) => k.startsWith(`runs/${execution}/partitions/copy/`)).length, 20);
    assert.ok(stored.includes(`runs/${execution}/plan.json`), stored.filter((k) => !k.includes("/partitions/")).join(", "));
    assert.ok(stored.every((k) => k.startsWith(`runs/${execution}/`)), stored.join(", "));
    // Nothing but the synced objects in the destination, nothing added to the source.
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key).filter((k) => !k.startsWith("copy/")), []);
    assert.equal((await listKeys(client, source)).length, 20);
  });
});
