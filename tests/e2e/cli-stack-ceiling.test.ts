/**
 * `bucket-sync sync --stack <stack>`: the stack's ceiling applied locally, so a user sees what the
 * deployed machine would refuse; without --stack the CLI stays an unconstrained local tool.
 */
import { strict as assert } from "node:assert";
import { type S3Client } from "@aws-sdk/client-s3";
import { startEmbeddedS3, type EmbeddedS3 } from "../../s3-server/embeddedS3";
import { credentialsEnv, runCli } from "../helpers/cli";
import { countingClient, listKeys, newBucket, putMany } from "../helpers/s3";

describe("bucket-sync sync --stack", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let counts: Record<string, number>;
  let env: Record<string, string>;
  let reports: string;

  before(async () => {
    s3 = await startEmbeddedS3();
    ({ client, counts } = countingClient(s3));
    env = credentialsEnv(s3);
    reports = await newBucket(client, "reports");
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const sync = (args: string[]) => runCli(["sync", "--endpoint", s3.endpoint, "--report-to", `s3://${reports}/out/`, ...args], { env });

  it("refuses, with --stack prod, what prod's machine would refuse, naming each setting and its ceiling, before any S3 call", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, destination, ["keep-me"]);
    const before = { ...counts };
    const run = await sync([`s3://${source}/empty/`, `s3://${destination}`, "--stack", "prod", "--mode", "mirror", "--max-deletes", "100%", "--concurrency", "500"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr,
      [
        'bucket-sync sync: stack "prod" would refuse this request:',
        '  - destination prefix "" does not follow source prefix "empty/": this stack maps "" to "", so a request narrows both sides by the same sub-prefix and the destination prefix must be "empty/" (narrowing one side alone would make the rest of the other side extra)',
        '  - mode "mirror" is over this stack\'s ceiling "backup": a request may ask backup',
        '  - maxDeletes "100%" is over this stack\'s ceiling "10%": a request may ask a share of at most 10% or 0',
        "  - concurrency 500 is over this stack's ceiling 32: a request may ask at most 32",
        "",
      ].join("\n"),
    );
    assert.deepEqual(counts, before, "the refused run sent S3 requests");
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep-me"]);
  });

  it("runs a request within prod's ceiling, with prod's values for the settings it leaves out", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["photos/a.jpg", "photos/b.jpg", "docs/c.txt"]);
    const run = await sync([`s3://${source}/photos/`, `s3://${destination}/photos/`, "--stack", "prod", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { mode: string; copied: number; limits: { partitions: number } };
    assert.equal(doc.mode, "backup");
    assert.equal(doc.copied, 2);
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["photos/a.jpg", "photos/b.jpg"]);
  });

  it("stays unconstrained without --stack", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["a"]);
    await putMany(client, destination, ["extra"]);
    const run = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "100%", "--concurrency", "500"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["a"]);
  });

  it("says when a stack has no ceiling to apply", async () => {
    const run = await sync(["s3://src-bucket", "s3://dst-bucket", "--stack", "dev"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--stack dev: that stack has no sync machine \(bucket-sync:syncMachine is false\), so no ceiling/);
  });
});
