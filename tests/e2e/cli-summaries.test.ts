/**
 * The summary `bucket-sync sync` prints and the report it writes, per mode, against the embedded
 * S3 server: backup, mirror within its delete limit and above it with approval, two-way in both
 * directions with a conflict, and a two-way dry run.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SyncSummary } from "../../model/contract";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { credentialsEnv, runCli } from "../helpers/cli";
import { countingClient, getText, listKeys, newBucket, put, putMany } from "../helpers/s3";

describe("bucket-sync sync summaries", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let reports: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    reports = await mkdtemp(join(tmpdir(), "bucket-sync-summaries-"));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    await rm(reports, { recursive: true, force: true });
  });

  /** Runs `sync SOURCE DESTINATION ARGS` with reports in a local directory. */
  const sync = async (source: string, destination: string, args: string[]) => {
    const run = await runCli(["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", reports, ...args], {
      env: credentialsEnv(s3),
    });
    const html = /^report: (.+)$/m.exec(run.stdout)?.[1];
    const report = html ? (JSON.parse(readFileSync(join(dirname(html), "report.json"), "utf8")) as { summary: SyncSummary }) : undefined;
    return { ...run, report };
  };

  it("backup: every count, and no copies back into the source", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["a", "b", "same"]);
    await putMany(client, destination, ["same", "old"]);
    const run = await sync(source, destination, []);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^synced: copied 2, updated 0, deleted 0, unchanged 1, extra 1, conflicts 0, failed 0; \d+ B;/m);
    assert.doesNotMatch(run.stdout, /to source/);
    assert.equal(run.report?.summary.deleteDecision, "no-deletes");
  });

  it("mirror within the limit: deletes counted, and the report keeps the decision that allowed them", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["keep"]);
    await putMany(client, destination, ["keep", "x1"]);
    const run = await sync(source, destination, ["--mode", "mirror", "--max-deletes", "5"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^synced: copied 0, updated 0, deleted 1, unchanged 1, extra 1, conflicts 0, failed 0;/m);
    assert.equal(run.report?.summary.phase, "delete");
    assert.equal(run.report?.summary.deleteDecision, "within-limit");
    assert.equal(run.report?.summary.stats.deleted, 1);
  });

  it("mirror above the limit with --approve-deletes: says the deletes were approved, in text, --json and the report", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["keep"]);
    await putMany(client, destination, ["keep", "x1", "x2"]);
    const run = await sync(source, destination, ["--mode", "mirror", "--max-deletes", "1", "--approve-deletes"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^synced: copied 0, updated 0, deleted 2 \(above the limit of 1, approved\), unchanged 1,/m);
    assert.equal(run.report?.summary.deleteDecision, "over-limit");
    assert.equal(run.report?.summary.stats.deleted, 2);
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep"]);

    await putMany(client, destination, ["x3", "x4"]);
    const json = await runCli(
      ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", reports, "--mode", "mirror", "--max-deletes", "1", "--approve-deletes", "--json"],
      { env: credentialsEnv(s3) },
    );
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual([doc.deleted, doc.deleteDecision, doc.deleteLimit], [2, "over-limit", 1]);
  });

  it("two-way: both directions and the conflict, with the newer side in the report", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["only-in-source"]);
    await putMany(client, destination, ["only-in-destination"]);
    await put(client, source, "both", "source version");
    // LastModified has a resolution of one second on some stores: write the destination's later.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await put(client, destination, "both", "destination version, newer");

    const dry = await sync(source, destination, ["--mode", "two-way", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: would copy 1, would update 0, would copy to source 1, would delete 0, unchanged 0, extra 0, conflicts 1, failed 0;/m);

    const run = await sync(source, destination, ["--mode", "two-way"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^synced: copied 1, updated 0, copied to source 1, deleted 0, unchanged 0, extra 0, conflicts 1, failed 0;/m);
    assert.match(run.stdout, /^conflicts: 1 key changed on both sides was left as it is \(--conflict-policy report\); the report lists them with the newer side$/m);
    const conflict = run.report?.summary.changes.find((change) => change.action === "conflict");
    assert.deepEqual(conflict && { key: conflict.key, newer: conflict.newer }, { key: "both", newer: "destination" });
    assert.equal(await getText(client, source, "only-in-destination"), "content of only-in-destination");
    assert.equal(await getText(client, source, "both"), "source version");

    const again = await sync(source, destination, ["--mode", "two-way"]);
    assert.match(again.stdout, /^synced: copied 0, updated 0, copied to source 0, deleted 0, unchanged 2, extra 0, conflicts 1, failed 0;/m);
  });
});
