/**
 * The CLI as users of `aws s3 sync` and rclone expect it, in a child process against the embedded
 * S3 server: `--exclude`/`--include` (matched against the key relative to the source prefix, the
 * last match deciding, an excluded key never deleted by a mirror); the change log beside the
 * report (every change, in key order); the dry run's delete verdict in --json; the report location
 * checked before any copy; no Node warnings; errors in one line; their flags; Ctrl-C; and an
 * installed `diagram` run in a checkout.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { cpSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type S3Client } from "@aws-sdk/client-s3";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { cliEnv, credentialsEnv, finished, ROOT, runCli, spawnCli } from "../helpers/cli";
import { startFaultProxy } from "../helpers/faultProxy";
import { countingClient, getText, listKeys, newBucket, putMany } from "../helpers/s3";

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

describe("bucket-sync sync: the change log beside the report", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const lines = (text: string) => text.trimEnd().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));

  it("lists all 300 changes of a mirror over 4 partitions in key order, in S3 and in a local directory, dry run too", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    const reports = await newBucket(client, "reports");
    const copies = Array.from({ length: 250 }, (_, i) => `k/${String((i * 7919) % 1000).padStart(4, "0")}`);
    const extras = Array.from({ length: 50 }, (_, i) => `k/${String(i * 20 + 1).padStart(4, "0")}x`);
    await putMany(client, source, copies);
    await putMany(client, destination, extras);
    const expected = [...copies.map((key) => [key, "copy"]), ...extras.map((key) => [key, "delete"])].sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const common = [`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "50", "--partitions", "4", "--min-keys-per-partition", "10", "--json"];

    const state = await mkdtemp(join(tmpdir(), "bucket-sync-changes-"));
    try {
      const dry = await runCli(["sync", "--endpoint", s3.endpoint, ...common, "--dry-run", "--report-to", state], { env });
      assert.equal(dry.code, 0, dry.stderr);
      const dryDoc = JSON.parse(dry.stdout);
      assert.equal(dryDoc.report.changeCount, 300);
      assert.deepEqual(lines(readFileSync(dryDoc.report.changesKey, "utf8")).map((c) => [c.key, c.action]), expected);
      const note = /A sample of (\d+) of 300 changes, sorted by key\. (\d+) more in <a href="changes.jsonl">changes.jsonl<\/a>/.exec(readFileSync(dryDoc.report.htmlKey, "utf8"));
      assert.ok(note, "the page says how many more changes the log lists");
      assert.equal(Number(note[1]) + Number(note[2]), 300);
      assert.deepEqual(readdirSync(dirname(dryDoc.report.changesKey)).sort(), ["changes.jsonl", "partitions", "plan.json", "report.html", "report.json", "request.json"]);
    } finally {
      await rm(state, { recursive: true, force: true });
    }

    const run = await runCli(["sync", "--endpoint", s3.endpoint, ...common, "--report-to", `s3://${reports}/r/`], { env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.partitions ?? doc.limits.partitions, 4);
    assert.equal(doc.report.changesKey, doc.report.jsonKey.replace(/report\.json$/, "changes.jsonl"));
    const log = lines(await getText(client, reports, doc.report.changesKey));
    assert.deepEqual(log.map((c) => [c.key, c.action]), expected);
    assert.deepEqual(log[0], { key: expected[0][0], action: expected[0][1], reason: expected[0][1] === "copy" ? "missing" : "extra", ...(expected[0][1] === "copy" ? { size: `content of ${expected[0][0]}`.length } : {}) });
    const report = JSON.parse(await getText(client, reports, doc.report.jsonKey));
    assert.deepEqual(report.changeLog, { file: "changes.jsonl", lines: 300 });
  });
});

describe("bucket-sync sync: the delete guard's verdict and a refused mirror's report", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it("a dry run's --json carries the verdict the real run would reach, as its text line does", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    const reports = await newBucket(client, "reports");
    await putMany(client, source, ["keep"]);
    await putMany(client, destination, ["keep", "x1", "x2", "x3"]);
    const args = ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", `s3://${reports}/r/`, "--mode", "mirror", "--dry-run"];
    const over = await runCli([...args, "--max-deletes", "2", "--json"], { env });
    assert.equal(over.code, 0, over.stderr);
    const doc = JSON.parse(over.stdout);
    assert.equal(doc.deleteVerdict, "over-limit");
    assert.equal(doc.deleteVerdictText, "would delete 3 — over --max-deletes 2: the real run stops unless --approve-deletes");
    assert.equal(doc.deleteDecision, "no-deletes", "the dry run itself deletes nothing");
    const within = JSON.parse((await runCli([...args, "--max-deletes", "3", "--json"], { env })).stdout);
    assert.equal(within.deleteVerdict, "within-limit");
    const text = await runCli([...args, "--max-deletes", "2"], { env });
    assert.match(text.stdout, /^would delete 3 — over --max-deletes 2: the real run stops unless --approve-deletes$/m);
  });

  it("a refused mirror writes its report (copies made, deletes planned) and leaves no records without one", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["keep", "new"]);
    await putMany(client, destination, ["keep", "x1", "x2"]);
    const state = await mkdtemp(join(tmpdir(), "bucket-sync-refused-"));
    try {
      const refused = await runCli(
        ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", state, "--mode", "mirror", "--max-deletes", "1"],
        { env },
      );
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /2 objects to delete, over --max-deletes 1: nothing was deleted/);
      const page = /^report: (.+)$/m.exec(refused.stdout)?.[1];
      assert.ok(page, refused.stdout);
      const runs = readdirSync(state);
      assert.equal(runs.length, 1);
      assert.equal(dirname(page), join(state, runs[0]));
      const report = JSON.parse(readFileSync(join(state, runs[0], "report.json"), "utf8"));
      assert.equal(report.summary.deleteDecision, "over-limit");
      assert.equal(report.summary.stats.copied, 1);
      assert.deepEqual(lines(readFileSync(join(state, runs[0], "changes.jsonl"), "utf8")), [{ key: "new", action: "copy", reason: "missing", size: "content of new".length }]);
      assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep", "new", "x1", "x2"]);
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

function lines(text: string): unknown[] {
  return text.trimEnd().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

describe("bucket-sync sync: the report location, checked before any copy", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it("refuses a report bucket that does not exist in one line naming it, having copied nothing", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["a", "b"]);
    const run = await runCli(["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", "s3://no-such-reports/r/"], { env });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr.trim(),
      `bucket-sync sync: the report bucket "no-such-reports" does not exist at ${s3.endpoint} (--report-to s3://no-such-reports/r/): create it, or point --report-to at another bucket or a local directory`,
    );
    assert.doesNotMatch(run.stdout, /FAILED|copied/);
    assert.deepEqual(await keys(client, destination), []);
  });

  it("refuses a report directory that cannot be created, having copied nothing", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["a"]);
    const state = await mkdtemp(join(tmpdir(), "bucket-sync-report-"));
    try {
      const file = join(state, "a-file");
      await writeFile(file, "not a directory");
      const run = await runCli(["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", join(file, "reports")], { env });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr.trim(), /^bucket-sync sync: cannot write reports to .*a-file\/reports \(ENOTDIR\): give --report-to a directory you can write, or s3:\/\/bucket\/prefix\/$/);
      assert.deepEqual(await keys(client, destination), []);
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

async function keys(client: S3Client, bucket: string): Promise<string[]> {
  return (await listKeys(client, bucket)).map((o) => o.key);
}

describe("bucket-sync sync: no runtime warnings", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it("prints no Node warning during a sync of 4 partitions with 64 requests in flight each", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, Array.from({ length: 400 }, (_, i) => `w/${String(i).padStart(4, "0")}`));
    const state = await mkdtemp(join(tmpdir(), "bucket-sync-warnings-"));
    try {
      const run = await runCli(
        ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", state, "--partitions", "4", "--min-keys-per-partition", "50", "--concurrency", "64", "--json"],
        // Node's warnings shown, as a user sees them; only the SDK's note on Node versions is off (cli/index.ts turns it off too).
        { env: { ...env, NODE_NO_WARNINGS: "" } },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).copied, 400);
      assert.equal(JSON.parse(run.stdout).limits.partitions, 4);
      assert.doesNotMatch(run.stderr, /Warning|\(node:\d+\)/);
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

describe("bucket-sync: errors in one line, and the flags of aws s3 sync and rclone", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;
  let state: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
    state = await mkdtemp(join(tmpdir(), "bucket-sync-errors-"));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    await rm(state, { recursive: true, force: true });
  });

  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra } });

  it("missing credentials: names the variables, the profile and the endpoint", async () => {
    const run = await runCli(["sync", "s3://aaa-src", "s3://aaa-dst", "--endpoint", s3.endpoint, "--report-to", state], {
      env: { AWS_REGION: "us-east-1", AWS_SHARED_CREDENTIALS_FILE: join(state, "none"), AWS_CONFIG_FILE: join(state, "none"), AWS_EC2_METADATA_DISABLED: "true" },
    });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stderr.trim(),
      `bucket-sync sync: no credentials for ${s3.endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or --profile) to a profile in ~/.aws/credentials`,
    );
  });

  it("https against a plain-http endpoint: says so and gives the URL to write", async () => {
    const https = s3.endpoint.replace(/^http:/, "https:");
    const run = await cli(["sync", "s3://aaa-src", "s3://aaa-dst", "--endpoint", https, "--report-to", state]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr.trim(), `bucket-sync sync: ${https} does not speak TLS (EPROTO): it looks like a plain-http server; write the endpoint as ${s3.endpoint}`);
  });

  it("a bucket that does not exist: the error line alone, no summary of zeros; --json's cause has no stack or paths", async () => {
    const destination = await newBucket(client, "dst");
    const run = await cli(["sync", "s3://no-such-source", `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", state]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim(), 'bucket-sync sync: source bucket "no-such-source" does not exist');
    const json = await cli(["sync", "s3://no-such-source", `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", state, "--json"]);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.cause, 'source bucket "no-such-source" does not exist');
    assert.doesNotMatch(json.stdout, /node_modules|\.ts:\d+|\bat \w/);
  });

  it("an unknown subcommand or none: exit 2, with a suggestion", async () => {
    const typo = await cli(["synk"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown command 'synk'\n\(Did you mean sync\?\)/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: bucket-sync/);
    const flag = await cli(["sync", "--dry-rnu"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option '--dry-rnu'\n\(Did you mean --dry-run\?\)/);
    const different = await cli(["sync", "s3://aaa-src", "s3://aaa-dst", "--size-only"]);
    assert.equal(different.code, 2);
    assert.equal(different.stderr.trim(), "error: --size-only is not a bucket-sync option: bucket-sync compares sizes, ETags and metadata, never sizes alone; drop --size-only");
  });

  it("takes --delete, --endpoint-url, --dryrun, -n, --transfers and --quiet as aws and rclone mean them", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["a", "b"]);
    await putMany(client, destination, ["extra"]);
    const base = ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint-url", s3.endpoint, "--report-to", state];
    for (const dry of ["--dryrun", "-n"]) {
      const run = await cli([...base, "--delete", dry, "--transfers", "4", "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout);
      assert.deepEqual([doc.mode, doc.dryRun, doc.copied, doc.plannedDeletes], ["mirror", true, 2, 1]);
    }
    assert.deepEqual(await keys(client, destination), ["extra"]);
    const conflicting = await cli([...base, "--delete", "--mode", "backup"]);
    assert.equal(conflicting.code, 2);
    assert.equal(conflicting.stderr.trim(), "bucket-sync sync: --delete means --mode mirror, and this run says --mode backup; give one");
    const real = await cli([...base, "--delete", "--max-deletes", "1"]);
    assert.equal(real.code, 0, real.stderr);
    assert.ok(
      real.stderr.startsWith(`mirror: objects in s3://${destination}/ that are not in s3://${source}/ will be deleted (at most --max-deletes 1 without --approve-deletes)\n`),
      real.stderr,
    );
    assert.deepEqual(await keys(client, destination), ["a", "b"]);
    await putMany(client, source, ["c"]);
    const quiet = await cli([...base, "--quiet"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout + quiet.stderr, "");
    assert.deepEqual(await keys(client, destination), ["a", "b", "c"]);
  });
});

describe("bucket-sync sync: Ctrl-C", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it("says what was copied and how to go on, exits 130, and the next run resumes", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    const all = Array.from({ length: 30 }, (_, i) => `c/${String(i).padStart(2, "0")}`);
    await putMany(client, source, all);
    const state = await mkdtemp(join(tmpdir(), "bucket-sync-cancel-"));
    const proxy = await startFaultProxy({ upstream: s3.endpoint, seed: 1, holdCopiesAfter: 10 });
    try {
      const child = spawnCli(["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", proxy.endpoint, "--report-to", state, "--concurrency", "4"], credentialsEnv(s3));
      const done = finished(child);
      const first = await Promise.race([proxy.holding().then(() => "holding" as const), done]);
      assert.equal(first, "holding");
      child.kill("SIGINT");
      const run = await done;
      assert.equal(run.code, 130, run.stderr);
      assert.match(run.stderr, /^cancelled: 10 objects \(\d+ B\) copied so far; run again to resume$/m);
    } finally {
      await proxy.close();
    }
    try {
      const again = await runCli(["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", state], { env: credentialsEnv(s3) });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^synced: copied 20, updated 0, deleted 0, unchanged 10,/m);
      assert.deepEqual(await keys(client, destination), all);
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});

describe("bucket-sync diagram, installed, run in a checkout", function () {
  this.timeout(180_000);

  it("finds Pulumi.yaml from the current directory, not from where the CLI is installed", async () => {
    // An install: the compiled CLI and its package.json in a directory of their own, no Pulumi.yaml.
    const install = await mkdtemp(join(tmpdir(), "bucket-sync-install-"));
    try {
      cpSync(join(ROOT, "dist"), join(install, "dist"), { recursive: true });
      cpSync(join(ROOT, "package.json"), join(install, "package.json"));
      symlinkSync(join(ROOT, "node_modules"), join(install, "node_modules"));
      const cli = join(install, "dist", "cli", "index.js");
      const inCheckout = await runProcess(process.execPath, [cli, "diagram", "--stack", "prod"], ROOT);
      assert.equal(inCheckout.code, 0, inCheckout.stderr);
      assert.match(inCheckout.stdout, /^flowchart TD/m);
      const elsewhere = await runProcess(process.execPath, [cli, "diagram", "--stack", "prod"], install);
      assert.equal(elsewhere.code, 1, elsewhere.stderr);
      assert.match(elsewhere.stderr, /no bucket-sync Pulumi.yaml at or above .*: run this command in a bucket-sync project checkout/);
    } finally {
      await rm(install, { recursive: true, force: true });
    }
  });
});

function runProcess(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  return finished(child);
}
