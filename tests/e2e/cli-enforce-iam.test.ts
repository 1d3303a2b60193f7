/**
 * `bucket-sync sync --enforce-iam [--stack NAME]` as a user runs it: a child process against the
 * embedded S3 server, each handler running as the role the stack deploys (the prod stack's config
 * names the buckets, as `npm start` creates them). The stack's own buckets sync; a bucket the
 * roles were never granted is refused in one line naming the action, resource and handler;
 * without the flag the CLI syncs any buckets, as it always did.
 */
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../handlers/engine/s3Client";
import { bucketName, reportsBucketName } from "../../infra/names";
import { LOCAL_ACCOUNT_ID } from "../../cli/stackIam";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { credentialsEnv, runCli } from "../helpers/cli";
import { listKeys, putMany } from "../helpers/s3";

const parts = (stack: string) => ({ project: "bucket-sync", stack, accountId: LOCAL_ACCOUNT_ID });
const DEV = bucketName(parts("dev"));
const PROD = bucketName(parts("prod"));

describe("bucket-sync sync --enforce-iam", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let env: Record<string, string>;
  let state: string;

  before(async () => {
    s3 = await startS3rverProcess();
    client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3 });
    for (const bucket of [DEV, PROD, reportsBucketName(parts("prod")), "scratch"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await putMany(client, DEV, ["site/index.html", "site/app.js", "logs/app.log"]);
    await putMany(client, "scratch", ["a"]);
    state = await mkdtemp(join(tmpdir(), "bucket-sync-iam-"));
    env = { ...credentialsEnv(s3), XDG_STATE_HOME: state };
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    if (state) await rm(state, { recursive: true, force: true });
  });

  const sync = (args: string[]) => runCli(["sync", "--endpoint", s3.endpoint, ...args], { env });

  it("syncs the stack's own buckets as its roles", async () => {
    const run = await sync([`s3://${DEV}`, `s3://${PROD}`, "--enforce-iam", "--stack", "prod"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`enforcing the IAM of stack prod: its roles may sync s3://${DEV}/ into s3://${PROD}/`));
    assert.match(run.stdout, /^synced: copied 3,/m);
    assert.deepEqual((await listKeys(client, PROD)).map((k) => k.key), ["logs/app.log", "site/app.js", "site/index.html"]);
  });

  it("refuses a bucket the roles were never granted, in one line naming the action, resource and handler", async () => {
    const run = await sync(["s3://scratch", `s3://${PROD}`, "--enforce-iam"]);
    assert.equal(run.code, 2, run.stderr);
    const errors = run.stderr.split("\n").filter((line) => line.startsWith("bucket-sync sync:"));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(
      errors[0],
      /access denied: User: arn:aws:iam::000000000000:role\/bucket-sync-prod-validate-input is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::scratch" .*\(handler validate-input\)/,
    );
  });

  it("refuses a report location the stack's roles may not write", async () => {
    const run = await sync([`s3://${DEV}`, `s3://${PROD}`, "--enforce-iam", "--report-to", "s3://scratch/reports/"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::scratch\/reports\/[^"]+" .*\((handler plan-partitions|handler sync-range|handler write-report)\)/);
  });

  it("syncs any buckets without the flag, as before", async () => {
    const run = await sync(["s3://scratch", `s3://${PROD}/scratch/`, "--dry-run"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^dry run: would copy 1,/m);
  });

  it("refuses a stack without a sync machine", async () => {
    const dev = await sync([`s3://${DEV}`, `s3://${PROD}`, "--enforce-iam", "--stack", "dev"]);
    assert.equal(dev.code, 2);
    assert.match(dev.stderr, /--stack dev: (the|that) stack has no sync machine/);
  });
});
