/**
 * What `bucket-sync sync` tells its user while and after it runs: live progress (plain lines
 * off a terminal, a redrawn status line on one, through a pseudo-terminal), per-key lines with
 * --verbose, and the delete guard's verdict in a dry run and its refusal in a real one. Child
 * processes against the embedded S3 server started by the test.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { type S3Client } from "@aws-sdk/client-s3";
import { startEmbeddedS3, type EmbeddedS3 } from "../../s3-server/embeddedS3";
import { cliEnv, credentialsEnv, finished, ROOT, runCli } from "../helpers/cli";
import { countingClient, listKeys, newBucket, putMany } from "../helpers/s3";

describe("bucket-sync sync output", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;
  let reports: string;

  before(async () => {
    s3 = await startEmbeddedS3();
    client = countingClient(s3).client;
    env = credentialsEnv(s3);
    reports = await newBucket(client, "reports");
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const sync = (args: string[]) =>
    runCli(["sync", "--endpoint", s3.endpoint, "--report-to", `s3://${reports}/out/`, ...args], { env });

  /** A source of `keys` and a destination holding `extras` only. */
  async function pair(keys: string[], extras: string[] = []) {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, keys);
    await putMany(client, destination, extras);
    return { source, destination };
  }

  it("writes progress lines on stderr when it is not a terminal, the last with every object done", async () => {
    const { source, destination } = await pair(["a", "b", "c"]);
    const run = await sync([`s3://${source}`, `s3://${destination}`]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stderr.split("\n").filter((line) => line.startsWith("progress: "));
    assert.ok(lines.length >= 1, run.stderr);
    assert.match(lines.at(-1)!, /^progress: 3\/3 objects checked, copied 3 \(36 B, \S+ \S+\/s\), \d+ objects\/s, ETA -, 0 in flight, elapsed \d/);
    assert.doesNotMatch(run.stderr, /\r/);
    assert.doesNotMatch(run.stderr, /^copy: /m, "progress lines never look like the -v lines");
    assert.doesNotMatch(run.stdout, /^progress: /m, "progress stays off stdout");
  });

  it("redraws one status line in place on a terminal (through a pseudo-terminal)", async () => {
    const { source, destination } = await pair(["a", "b"]);
    const command = ["node", "--import", "tsx", "cli/index.ts", "sync", "--endpoint", s3.endpoint, `s3://${source}`, `s3://${destination}`, "--report-to", `s3://${reports}/out/`];
    // util-linux `script` (Debian's essential bsdutils) runs the command on a new pseudo-terminal
    const child = spawn("script", ["-qefc", command.join(" "), "/dev/null"], { cwd: ROOT, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    const run = await finished(child);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\rprogress: 2\/2 objects checked, [^\n]*ETA -, 0 in flight, elapsed [^\n]*\r?\n/);
    assert.match(run.stdout, /synced: copied 2,/);
  });

  it("prints a line per key with --verbose, as aws s3 sync does, (dryrun) first in a dry run", async () => {
    const { source, destination } = await pair(["a", "dir/b"], ["old"]);
    const dry = await sync([`s3://${source}`, `s3://${destination}/`, "--mode", "mirror", "--max-deletes", "1", "--dry-run", "--verbose"]);
    assert.equal(dry.code, 0, dry.stderr);
    const keyLines = (out: string) => out.split("\n").filter((line) => /^(\(dryrun\) )?(copy|delete)/.test(line)).sort();
    assert.deepEqual(keyLines(dry.stdout), [
      `(dryrun) copy: s3://${source}/a to s3://${destination}/a`,
      `(dryrun) copy: s3://${source}/dir/b to s3://${destination}/dir/b`,
      `(dryrun) delete: s3://${destination}/old`,
    ]);
    const real = await sync([`s3://${source}`, `s3://${destination}/`, "--mode", "mirror", "--max-deletes", "1", "--verbose"]);
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual(keyLines(real.stdout), [
      `copy: s3://${source}/a to s3://${destination}/a`,
      `copy: s3://${source}/dir/b to s3://${destination}/dir/b`,
      `delete: s3://${destination}/old`,
    ]);
    const again = await sync([`s3://${source}`, `s3://${destination}/`, "--verbose"]);
    assert.deepEqual(keyLines(again.stdout), [], "unchanged keys print nothing");
  });

  it("states the delete guard's verdict in a dry run: over the limit the real run stops, within it goes ahead", async () => {
    const { source, destination } = await pair(["keep"], ["keep", "x1", "x2", "x3"]);
    const over = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--dry-run"]);
    assert.equal(over.code, 0, over.stderr);
    assert.match(over.stdout, /^would delete 3 — over --max-deletes 10% \(0\): the real run stops unless --approve-deletes$/m);
    const within = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "3", "--dry-run"]);
    assert.match(within.stdout, /^would delete 3 — within --max-deletes 3$/m);
    assert.equal((await listKeys(client, destination)).length, 4);
  });

  it("refuses deletes over the limit with the planned count, the limit and the two ways forward", async () => {
    const { source, destination } = await pair(["keep"], ["keep", "x1", "x2"]);
    const refused = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "1"]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /^bucket-sync sync: 2 objects to delete, over --max-deletes 1: nothing was deleted \(the copies were made\)\. To delete them, run again with --approve-deletes, or raise the limit with --max-deletes 2\.$/m,
    );
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep", "x1", "x2"]);
    const raised = await sync([`s3://${source}`, `s3://${destination}`, "--mode", "mirror", "--max-deletes", "2"]);
    assert.equal(raised.code, 0, raised.stderr);
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep"]);
  });
});
