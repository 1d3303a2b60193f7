/**
 * `bucket-sync` as a user runs it: child processes against the embedded S3 server started by the
 * test. Exit codes (0 synced, 1 the run failed, 2 bad input), the `--json` document, messages
 * that name the problem, a bounded failure on an unreachable endpoint, `s3-server` serving what
 * it prints, and `demo`.
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../handlers/engine/s3Client";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { assertConverged } from "../helpers/convergence";
import { credentialsEnv, finished, runCli, spawnCli } from "../helpers/cli";
import { countingClient, listKeys, newBucket, put, putMany } from "../helpers/s3";

/** Every field the `--json` document promises. */
const JSON_FIELDS = [
  "status",
  "copied",
  "updated",
  "deleted",
  "unchanged",
  "conflicts",
  "failed",
  "bytes",
  "stateTransitions",
  "durationMs",
  "estimatedCostUsd",
  "report",
];

describe("bucket-sync CLI", function () {
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

  const sync = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli(["sync", "--endpoint", s3.endpoint, ...args], { env: { ...env, ...extraEnv } });

  describe("sync", () => {
    it("exits 0 and prints the --json document: counts, transitions, duration, cost and the report", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["a", "b/c", "plus+sign"]);
      await put(client, source, "page.html", "<p>x</p>", { ContentType: "text/html", Metadata: { owner: "web" } });

      const run = await sync([
        "--source", `s3://${source}`,
        "--destination", `s3://${destination}`,
        "--report-to", `s3://${reports}/cli/`,
        "--json",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout);
      for (const field of JSON_FIELDS) assert.ok(field in doc, `--json has no "${field}": ${run.stdout}`);
      assert.equal(doc.status, "SUCCEEDED");
      assert.deepEqual(
        [doc.copied, doc.updated, doc.deleted, doc.unchanged, doc.conflicts, doc.failed],
        [4, 0, 0, 0, 0, 0],
      );
      assert.equal(doc.bytes, ["a", "b/c", "plus+sign"].reduce((n, k) => n + `content of ${k}`.length, 0) + 8);
      assert.ok(Number.isInteger(doc.stateTransitions) && doc.stateTransitions >= 13, String(doc.stateTransitions));
      assert.ok(Number.isInteger(doc.durationMs) && doc.durationMs > 0 && doc.durationMs < run.ms, String(doc.durationMs));
      assert.ok(doc.estimatedCostUsd.total > 0 && doc.estimatedCostUsd.total < 0.01, JSON.stringify(doc.estimatedCostUsd));
      assert.equal(doc.report.bucket, reports);
      const reportKeys = (await listKeys(client, reports, "cli/")).map((o) => `cli/${o.key}`);
      assert.ok(reportKeys.includes(doc.report.htmlKey) && reportKeys.includes(doc.report.jsonKey), reportKeys.join(", "));
      await assertConverged(client, { bucket: source }, { bucket: destination });
    });

    it("takes SOURCE DESTINATION as arguments, writes nothing beside the data and prints a local report that stays", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["a", "b/c"]);
      const state = await mkdtemp(join(tmpdir(), "bucket-sync-state-"));
      try {
        const run = await sync([`s3://${source}`, `s3://${destination}`], { XDG_STATE_HOME: state, NODE_NO_WARNINGS: "" });
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(run.stderr, /NodeVersionSupportWarning/);
        assert.match(run.stdout, /^synced: copied 2, updated 0, deleted 0, unchanged 0/m);
        const printed = /^report: (.+)$/m.exec(run.stdout)?.[1];
        assert.ok(printed && printed.startsWith(join(state, "bucket-sync", "reports")), run.stdout);
        assert.ok(existsSync(printed), `${printed} exists after the run`);
        assert.match(readFileSync(printed, "utf8"), /<html/);
        assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["a", "b/c"]);
        assert.deepEqual((await listKeys(client, source)).map((o) => o.key), ["a", "b/c"]);
      } finally {
        await rm(state, { recursive: true, force: true });
      }
    });

    it("says \"would\" for every count of a dry run, the planned deletes included", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["new"]);
      await putMany(client, destination, ["x1", "x2"]);
      const run = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "5", "--dry-run", "--report-to", `s3://${reports}/cli/`]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^dry run: would copy 1, would update 0, would delete 2, unchanged 0/m);
      assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["x1", "x2"]);
    });

    it("exits 1 when the run fails: a mirror over its delete limit without --approve-deletes", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["keep"]);
      await putMany(client, destination, ["keep", "x1", "x2"]);
      const args = [
        "--source", `s3://${source}`,
        "--destination", `s3://${destination}/`,
        "--report-to", `s3://${reports}/cli/`,
        "--mode", "mirror",
        "--max-deletes", "1",
        "--json",
      ];
      const refused = await sync(args);
      assert.equal(refused.code, 1, refused.stderr);
      const doc = JSON.parse(refused.stdout);
      assert.equal(doc.status, "FAILED");
      assert.equal(doc.error, "BucketSync.DeletesDenied");
      assert.match(refused.stderr, /2 objects to delete, over --max-deletes 1: nothing was deleted/);
      assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep", "x1", "x2"]);

      const approved = await sync([...args, "--approve-deletes"]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(JSON.parse(approved.stdout).deleted, 2);
      assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep"]);
    });

    it("exits 2 on bad input with a message naming the problem, having written nothing", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["a"]);
      const report = ["--report-to", `s3://${reports}/cli/`];
      const cases: Array<[string, string[], RegExp]> = [
        ["same bucket twice", ["--source", `s3://${source}`, "--destination", `s3://${source}`, ...report], /overlap/],
        [
          "unknown mode",
          ["--source", `s3://${source}`, "--destination", `s3://${destination}`, "--mode", "sideways", ...report],
          /mode "sideways" is unknown: use backup, mirror, two-way/,
        ],
        [
          "invalid s3 URL",
          ["--source", `https://${source}/x`, "--destination", `s3://${destination}`, ...report],
          /--source "https:\/\/.*" is not an S3 location: write s3:\/\/bucket/,
        ],
        [
          "invalid bucket name",
          ["--source", "s3://Not_A_Bucket", "--destination", `s3://${destination}`, ...report],
          /source bucket name "Not_A_Bucket" is invalid/,
        ],
        [
          "a source given twice",
          [`s3://${source}`, `s3://${destination}`, "--source", `s3://${source}`, ...report],
          /the source is given twice: as an argument .* and as --source/,
        ],
        [
          "a bucket that does not exist",
          ["--source", `s3://${source}`, "--destination", "s3://no-such-bucket-here", ...report],
          /destination bucket "no-such-bucket-here" does not exist/,
        ],
        ["no destination", ["--source", `s3://${source}`], /no destination: give it as an argument .* or as --destination/],
        [
          "a delete limit that is neither a count nor a share, named by its flag",
          [`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "abc", ...report],
          /^bucket-sync sync: --max-deletes "abc" is invalid: must be a count \("500"\) or a share of the destination \("5%"\)$/m,
        ],
        [
          "a concurrency out of range, named by its flag",
          [`s3://${source}`, `s3://${destination}`, "--concurrency", "0", ...report],
          /^bucket-sync sync: --concurrency must be a whole number from 1 to 1000, got "0"$/m,
        ],
        [
          "a two-way flag in a backup",
          [`s3://${source}`, `s3://${destination}`, "--conflict-policy", "newer-wins", ...report],
          /^bucket-sync sync: --conflict-policy applies to --mode two-way only, and this run is --mode backup$/m,
        ],
        [
          "mirror flags in a two-way run",
          [`s3://${source}`, `s3://${destination}`, "--mode", "two-way", "--max-deletes", "5", "--approve-deletes", ...report],
          /--max-deletes applies to --mode mirror only, and this run is --mode two-way; --approve-deletes applies to --mode mirror only/,
        ],
        [
          "an endpoint without a scheme",
          [`s3://${source}`, `s3://${destination}`, "--endpoint", "localhost:4568", ...report],
          /^bucket-sync sync: --endpoint "localhost:4568" has no scheme: write http:\/\/localhost:4568 \(or https:\/\/localhost:4568\)$/m,
        ],
      ];
      const runs = await Promise.all(cases.map(([, args]) => sync(args)));
      cases.forEach(([what, , message], i) => {
        assert.equal(runs[i].code, 2, `${what}: exit ${runs[i].code}\n${runs[i].stderr}`);
        assert.match(runs[i].stderr, message, what);
      });
      assert.deepEqual(await listKeys(client, destination), []);
    });

    it("fails fast with exit 1 and one line naming the endpoint when it is unreachable", async () => {
      const run = await runCli(
        ["sync", "--endpoint", "http://127.0.0.1:1", "s3://some-source", "s3://some-destination/x/"],
        { env, timeoutMs: 60_000 },
      );
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stdout, "", "no summary of a run that never started");
      assert.match(run.stderr, /^bucket-sync sync: cannot reach http:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED 127\.0\.0\.1:1\): is the server running, and is the endpoint right\?\n$/);
      // start-up included; the run itself gives up after two attempts (about a second)
      assert.ok(run.ms < 15_000, `took ${run.ms} ms`);
    });
  });

  it("s3-server prints the export lines, serves S3 on them, and stops on SIGTERM", async () => {
    const server = spawnCli(["s3-server"]);
    const exited = finished(server);
    try {
      const exports = await new Promise<Record<string, string>>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`no export lines within 30 s: ${out}`)), 30_000);
        server.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const found = Object.fromEntries([...out.matchAll(/^export (AWS_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
          if (Object.keys(found).length === 4) {
            clearTimeout(timer);
            resolve(found);
          }
        });
      });
      assert.deepEqual(Object.keys(exports).sort(), ["AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SECRET_ACCESS_KEY"]);
      assert.match(exports.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+$/);

      // A user pastes the lines and syncs: no --endpoint, the CLI finds it in AWS_ENDPOINT_URL.
      const theirs = createS3Client({
        endpoint: exports.AWS_ENDPOINT_URL,
        region: exports.AWS_REGION,
        credentials: { accessKeyId: exports.AWS_ACCESS_KEY_ID, secretAccessKey: exports.AWS_SECRET_ACCESS_KEY },
      });
      try {
        const source = await newBucket(theirs, "src");
        const destination = await newBucket(theirs, "dst");
        await putMany(theirs, source, ["one", "two/three"]);
        const run = await runCli(["sync", "--source", `s3://${source}`, "--destination", `s3://${destination}/backup/`], {
          env: exports,
        });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^synced: copied 2,/m);
        await assertConverged(theirs, { bucket: source }, { bucket: destination, prefix: "backup/" });
      } finally {
        theirs.destroy();
      }
    } finally {
      server.kill("SIGTERM");
    }
    const stopped = await exited;
    assert.equal(stopped.code, 0, stopped.stderr);
    const directory = /data in (\S+);/.exec(stopped.stdout)?.[1];
    assert.ok(directory && !existsSync(directory), `the temporary data directory ${directory} is removed on exit`);
  });

  it("demo --objects 200 exits 0, prints OK and report pages that exist after it", async () => {
    const state = await mkdtemp(join(tmpdir(), "bucket-sync-state-"));
    try {
      const run = await runCli(["demo", "--objects", "200"], { timeoutMs: 90_000, env: { XDG_STATE_HOME: state } });
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.match(run.stdout, /^OK: prod holds all 200 dev objects/m);
      assert.match(run.stdout, /^OK: 10 of 10 damaged dev objects are back as they were at \S+, content and Content-Type/m);
      const pages = [...run.stdout.matchAll(/^ {3}report: (.+)$/gm)].map((match) => match[1]);
      assert.equal(pages.length, 5, run.stdout); // dry run, sync, second sync; the drill's backup and restore
      for (const page of pages) {
        assert.ok(page.startsWith(join(state, "bucket-sync", "reports")) && existsSync(page), `${page} exists after the demo`);
        assert.match(readFileSync(page, "utf8"), /<h1>(Dry run: nothing was written|Synced|In sync: nothing needed to change|Restored as of \S+)<\/h1>/);
      }
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });
});
