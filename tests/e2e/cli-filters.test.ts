/**
 * `--exclude`/`--include` as `aws s3 sync` has them, through the CLI in a child process against
 * the embedded S3 server: matched against the key relative to the source prefix, applied in
 * order with the last match deciding, and an excluded key never deleted by a mirror.
 */
import { strict as assert } from "node:assert";
import { type S3Client } from "@aws-sdk/client-s3";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { credentialsEnv, runCli } from "../helpers/cli";
import { countingClient, listKeys, newBucket, putMany } from "../helpers/s3";

describe("bucket-sync sync --exclude/--include", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;
  let reports: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
    reports = await newBucket(client, "reports");
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const sync = (args: string[]) => runCli(["sync", "--endpoint", s3.endpoint, "--report-to", `s3://${reports}/r/`, ...args], { env });
  const keys = async (bucket: string, prefix = "") => (await listKeys(client, bucket, prefix)).map((o) => o.key);

  async function buckets() {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["data/logs/2026/a.gz", "data/logs/b.gz", "data/img/c.png", "data/top.json", "outside/logs/x"]);
    return { source, destination };
  }

  it("--exclude '*' --include 'logs/*' copies the logs only, matching below the source prefix and across /", async () => {
    const { source, destination } = await buckets();
    const run = await sync([`s3://${source}/data/`, `s3://${destination}/`, "--exclude", "*", "--include", "logs/*"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await keys(destination), ["logs/2026/a.gz", "logs/b.gz"]);
    assert.match(run.stdout, /^synced: copied 2, /m);
  });

  it("--include 'logs/*' --exclude '*' copies nothing: the later filter wins", async () => {
    const { source, destination } = await buckets();
    const run = await sync([`s3://${source}/data/`, `s3://${destination}/`, "--include", "logs/*", "--exclude", "*"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await keys(destination), []);
    assert.match(run.stdout, /^synced: copied 0, /m);
  });

  it("a mirror never deletes an excluded destination key, and deletes the other extras", async () => {
    const { source, destination } = await buckets();
    await putMany(client, destination, ["keep/local.cfg", "stale.txt", "img/old.png"]);
    const run = await sync([`s3://${source}/data/`, `s3://${destination}/`, "--mode", "mirror", "--max-deletes", "10", "--exclude", "keep/*", "--exclude", "*.png"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await keys(destination), ["img/old.png", "keep/local.cfg", "logs/2026/a.gz", "logs/b.gz", "top.json"]);
    assert.match(run.stdout, /^synced: copied 3, updated 0, deleted 1, /m);
  });
});
