/**
 * The stack's ceiling where it cannot be bypassed: validate-input, configured by its environment
 * as the program sets it, refuses a widened request that starts the state machine directly (as
 * `aws stepfunctions start-execution` would), before any listing, and runs a narrowed one.
 */
import { s3ObjectStore } from "../../cli/localSync";
import { strict as assert } from "node:assert";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { HANDLER_ENV, type SyncRequest, type SyncSummary } from "../../model/contract";
import { createHandlers, settingsFromEnv } from "../../handlers/index";
import { createS3Client } from "../../handlers/engine/s3Client";
import { buildDefinition } from "../../infra/definition";
import { buildRequestCeiling } from "../../infra/syncRequest";
import { localFunctionArns, runLocally } from "../../local-stepfunctions/runner";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:bucket-sync" });

/** The request a mirror stack deploys with: dev's app/ into prod's backup/app/, 10% deletes at most. */
const STACK: SyncRequest = {
  source: { bucket: "dev", prefix: "app/" },
  destination: { bucket: "prod", prefix: "backup/app/" },
  mode: "mirror",
  maxDeletes: "10%",
  concurrency: 8,
  partitions: 2,
};

describe("the request ceiling under the local runtime", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  /** S3 requests sent, by command name. */
  const sent: string[] = [];

  before(async () => {
    s3 = await startS3rverProcess();
    client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3, compatibility: "generic" });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName as string);
        return next(args);
      },
      { step: "initialize", name: "countCommands" },
    );
    for (const bucket of ["dev", "prod", "reports"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of ["app/a.txt", "app/photos/b.jpg"]) await client.send(new PutObjectCommand({ Bucket: "dev", Key: key, Body: key.replace(/^app\//, "") }));
    for (const key of ["backup/app/a.txt", "backup/app/photos/b.jpg", "backup/app/c.txt"]) {
      await client.send(new PutObjectCommand({ Bucket: "prod", Key: key, Body: key.replace(/^backup\/app\//, "") }));
    }
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  /** Handlers configured from the environment the program gives the functions. */
  const start = (input: unknown) => {
    const environment = {
      [HANDLER_ENV.reportBucket]: "reports",
      [HANDLER_ENV.reportPrefix]: "reports/",
      [HANDLER_ENV.requestCeiling]: JSON.stringify(buildRequestCeiling(STACK, 1)),
    };
    return runLocally({
      definition: DEFINITION,
      functionArns: ARNS,
      objects: s3ObjectStore(client),
      handlers: createHandlers({ ...settingsFromEnv(environment), client }),
      input: input as SyncRequest,
      executionName: `ceiling-${Date.now()}`,
    });
  };
  const prodKeys = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: "prod" }))).Contents ?? []).map((o) => o.Key!).sort();

  it("refuses a widened StartExecution in validate-input, naming each setting, before any listing", async () => {
    sent.length = 0;
    // Point the source at an empty prefix, the destination at the whole bucket, and lift the guard.
    const widened = {
      source: { bucket: "dev", prefix: "nothing-here/" },
      destination: { bucket: "prod", prefix: "" },
      mode: "mirror",
      maxDeletes: "100%",
      concurrency: 1000,
    };
    const run = await start(widened);
    assert.equal(run.status, "FAILED");
    assert.equal(run.error, "ValidationError");
    const cause = String(run.cause);
    assert.match(cause, /source prefix \\?"nothing-here\/\\?" is outside this stack's source prefix \\?"app\/\\?"/);
    assert.match(cause, /maxDeletes \\?"100%\\?" is over this stack's ceiling \\?"10%\\?"/);
    assert.match(cause, /concurrency 1000 is over this stack's ceiling 8: a request may ask at most 8/);
    assert.deepEqual(sent, [], "validate-input listed a bucket before refusing");
    assert.deepEqual(await prodKeys(), ["backup/app/a.txt", "backup/app/c.txt", "backup/app/photos/b.jpg"]);
  });

  it("refuses a one-sided narrowing that would make the rest of the destination extra", async () => {
    const run = await start({ source: { bucket: "dev", prefix: "app/photos/" }, destination: STACK.destination });
    assert.equal(run.status, "FAILED");
    assert.match(String(run.cause), /destination prefix must be \\?"backup\/app\/photos\/\\?"/);
    assert.deepEqual(await prodKeys(), ["backup/app/a.txt", "backup/app/c.txt", "backup/app/photos/b.jpg"]);
  });

  it("runs a request narrowed on both sides, with the stack's values for what it leaves out", async () => {
    const run = await start({
      source: { bucket: "dev", prefix: "app/photos/" },
      destination: { bucket: "prod", prefix: "backup/app/photos/" },
      dryRun: true,
    });
    assert.equal(run.status, "SUCCEEDED", `${run.error}: ${run.cause}`);
    const summary = (run.output as { summary: SyncSummary }).summary;
    assert.equal(summary.job.mode, "mirror");
    assert.equal(summary.job.concurrency, 8);
    assert.equal(summary.stats.sourceObjects, 1);
    assert.equal(summary.stats.unchanged, 1);
  });
});
