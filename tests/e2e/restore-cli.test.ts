/**
 * `bucket-sync restore` as a user runs it: a child process against the embedded S3 server, whose
 * buckets keep versions. Each key comes back as it was at --as-of (a version boundary, a delete
 * marker, a key rewritten many times, a key created later), into another bucket, another prefix
 * or the backup itself; "undo the last mirror"; and each bad input refused, by name, before any
 * write.
 */
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { credentialsEnv, runCli } from "../helpers/cli";
import { countingClient, getText, listKeys, newBucket, put, putMany } from "../helpers/s3";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("bucket-sync restore", function () {
  this.timeout(180_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;
  let reports: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
    reports = await mkdtemp(join(tmpdir(), "restore-reports-"));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    await rm(reports, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli([...args, "--endpoint", s3.endpoint, "--report-to", reports], { env });
  const restore = (args: string[]) => cli(["restore", ...args]);

  async function versionedBucket(label: string): Promise<string> {
    const bucket = await newBucket(client, label);
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
    return bucket;
  }

  /** A moment strictly between writes: LastModified has millisecond resolution on this server. */
  async function now(): Promise<string> {
    await pause(20);
    const moment = new Date().toISOString();
    await pause(20);
    return moment;
  }

  /** Every key under a prefix with its body. */
  async function contents(bucket: string, prefix = ""): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const { key } of await listKeys(client, bucket, prefix)) found[key] = await getText(client, bucket, prefix + key);
    return found;
  }

  it("brings back each key's version at --as-of; a key deleted or not yet written then is left alone, and removed with --delete", async () => {
    const backup = await versionedBucket("backup");
    const dev = await newBucket(client, "dev");
    await putMany(client, backup, ["a", "b", "q?mark plus+", "deleted-before"], (key) => `v1 of ${key}`);
    await client.send(new DeleteObjectCommand({ Bucket: backup, Key: "deleted-before" }));
    const asOf = await now();
    await put(client, backup, "a", "v2 of a");
    await client.send(new DeleteObjectCommand({ Bucket: backup, Key: "b" }));
    await put(client, backup, "created-after", "new");
    // dev as it is now: a overwritten, b gone, two keys that did not exist at asOf
    await putMany(client, dev, ["a", "created-after", "deleted-before"], (key) => `dev ${key}`);

    const kept = await restore(["--from", `s3://${backup}`, "--to", `s3://${dev}`, "--as-of", asOf, "--approve-overwrite"]);

    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /^restored: copied 2, updated 1, deleted 0, unchanged 0, extra 2/m);
    assert.deepEqual(await contents(dev), {
      a: "v1 of a",
      b: "v1 of b",
      "q?mark plus+": "v1 of q?mark plus+",
      "created-after": "dev created-after",
      "deleted-before": "dev deleted-before",
    });

    const deleting = await restore(["--from", `s3://${backup}`, "--to", `s3://${dev}`, "--as-of", asOf, "--approve-overwrite", "--delete", "--max-deletes", "2"]);

    assert.equal(deleting.code, 0, deleting.stderr);
    assert.match(deleting.stdout, /^restored: copied 0, updated 0, deleted 2, unchanged 3, extra 2/m);
    assert.deepEqual(Object.keys(await contents(dev)).sort(), ["a", "b", "q?mark plus+"]);
  });

  it("takes the version written exactly at --as-of, and the one before a millisecond earlier, of a key rewritten many times, into another prefix", async () => {
    const backup = await versionedBucket("backup");
    const scratch = await newBucket(client, "scratch");
    for (let i = 1; i <= 12; i++) await put(client, backup, "data/report.csv", `version ${i}`);
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: backup, Prefix: "data/" }));
    const fifth = (versions.Versions ?? []).slice().reverse()[4];
    const boundary = fifth.LastModified!.getTime();

    const at = await restore(["--from", `s3://${backup}/data/`, "--to", `s3://${scratch}/at/`, "--as-of", new Date(boundary).toISOString()]);
    const before = await restore(["--from", `s3://${backup}`, "--to", `s3://${scratch}/before/`, "--prefix", "data/", "--as-of", new Date(boundary - 1).toISOString()]);

    assert.equal(at.code, 0, at.stderr);
    assert.equal(before.code, 0, before.stderr);
    assert.deepEqual(await contents(scratch), { "at/report.csv": "version 5", "before/data/report.csv": "version 4" });
  });

  it("undoes the last mirror: restoring as of just before it brings back what it overwrote and deleted, in dev and in the backup", async () => {
    const dev = await newBucket(client, "dev");
    const backup = await versionedBucket("backup");
    const original = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`files/${String(i).padStart(2, "0")}.txt`, `good ${i}`]));
    for (const [key, body] of Object.entries(original)) await put(client, dev, key, body);
    const first = await cli(["sync", `s3://${dev}`, `s3://${backup}`, "--mode", "mirror"]);
    assert.equal(first.code, 0, first.stderr);
    // a bad night: five objects encrypted by ransomware, four deleted, and the nightly mirror runs
    const beforeMirror = await now();
    for (let i = 0; i < 5; i++) await put(client, dev, `files/0${i}.txt`, "ENCRYPTED");
    for (let i = 5; i < 9; i++) await client.send(new DeleteObjectCommand({ Bucket: dev, Key: `files/0${i}.txt` }));
    await put(client, dev, "files/README-ransom.txt", "pay");
    const mirror = await cli(["sync", `s3://${dev}`, `s3://${backup}`, "--mode", "mirror", "--max-deletes", "4"]);
    assert.equal(mirror.code, 0, mirror.stderr);
    assert.equal((await contents(backup))["files/00.txt"], "ENCRYPTED", "the mirror copied the damage");

    const inBackup = await restore(["--from", `s3://${backup}`, "--to", `s3://${backup}`, "--as-of", beforeMirror, "--delete", "--approve-overwrite"]);
    const inDev = await restore(["--from", `s3://${backup}`, "--to", `s3://${dev}`, "--as-of", beforeMirror, "--delete", "--approve-overwrite"]);

    assert.equal(inBackup.code, 0, inBackup.stderr);
    assert.match(inBackup.stdout, /^restored: copied 4, updated 5, deleted 1, unchanged 11/m);
    assert.equal(inDev.code, 0, inDev.stderr);
    assert.deepEqual(await contents(backup), original);
    assert.deepEqual(await contents(dev), original);
  });

  it("refuses to write over a destination that holds objects without --approve-overwrite, and writes nothing", async () => {
    const backup = await versionedBucket("backup");
    const dev = await newBucket(client, "dev");
    await put(client, backup, "a", "old");
    const asOf = await now();
    await put(client, dev, "a", "current");
    const before = await listKeys(client, dev);

    const run = await restore(["--from", `s3://${backup}`, "--to", `s3://${dev}`, "--as-of", asOf]);
    const planned = await restore(["--from", `s3://${backup}`, "--to", `s3://${dev}`, "--as-of", asOf, "--dry-run"]);

    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stderr, /destination s3:\/\/dev-[^ ]+ holds objects, which a restore would overwrite: approve with --approve-overwrite/);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /^dry run: would copy 0, would update 1/m);
    assert.equal(await getText(client, dev, "a"), "current");
    assert.deepEqual(await listKeys(client, dev), before);
  });

  it("names each bad input before any write: an --as-of in the future, an unversioned backup, an --as-of older than the retention window", async () => {
    const backup = await versionedBucket("backup");
    const unversioned = await newBucket(client, "plain");
    const scratch = await newBucket(client, "scratch");
    await put(client, backup, "a", "x");
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: backup,
        LifecycleConfiguration: { Rules: [{ ID: "history", Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] },
      }),
    );
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const fortyDaysAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();

    const runs = {
      future: await restore(["--from", `s3://${backup}`, "--to", `s3://${scratch}`, "--as-of", future]),
      unversioned: await restore(["--from", `s3://${unversioned}`, "--to", `s3://${scratch}`, "--as-of", new Date().toISOString()]),
      tooOld: await restore(["--from", `s3://${backup}`, "--to", `s3://${scratch}`, "--as-of", fortyDaysAgo]),
      notATime: await restore(["--from", `s3://${backup}`, "--to", `s3://${scratch}`, "--as-of", "yesterday"]),
    };

    for (const [name, run] of Object.entries(runs)) assert.equal(run.code, 2, `${name}: ${run.stderr}`);
    assert.match(runs.future.stderr, /asOf \S+ is in the future/);
    assert.match(runs.unversioned.stderr, /source bucket "plain-[^"]+" is not versioned \(versioning never enabled\)/);
    assert.match(runs.tooOld.stderr, /is older than the retention window of s3:\/\/backup-\S+: lifecycle rule "history" expires noncurrent versions after 30 days/);
    assert.match(runs.notATime.stderr, /asOf "yesterday" is invalid|asOf must be/);
    assert.deepEqual(await listKeys(client, scratch), []);
  });
});
