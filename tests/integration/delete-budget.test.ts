/**
 * The delete budget across runs, on a real S3-compatible server: the ledger's conditional writes,
 * two runs racing for the same budget (held so both read before either writes), and two concurrent
 * mirror runs through the state machine, of which only one fits the day's budget.
 */
import { s3ObjectStore } from "../../cli/localSync";
import { strict as assert } from "node:assert";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { HANDLER_ENV, RUN_METRICS, type SyncRequest, type SyncSummary } from "../../model/contract";
import { createHandlers, settingsFromEnv } from "../../handlers/index";
import { reserveDeletes, type DeleteBudget, type DeleteLedger } from "../../handlers/engine/deleteBudget";
import { createS3Client } from "../../handlers/engine/s3Client";
import { buildDefinition, DELETES_DENIED } from "../../infra/definition";
import { localFunctionArns, runLocally } from "../../local-stepfunctions/runner";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:bucket-sync" });

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("the delete budget across runs (embedded S3 server)", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  const clientFor = () => createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3, compatibility: "generic" });

  before(async () => {
    s3 = await startS3rverProcess();
    client = clientFor();
    for (const bucket of ["dev", "prod", "reports"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const status = async (send: Promise<unknown>) => {
    try {
      await send;
      return 200;
    } catch (err) {
      return (err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode;
    }
  };
  const readLedger = async (key: string): Promise<DeleteLedger> => {
    const object = await client.send(new GetObjectCommand({ Bucket: "reports", Key: key }));
    return JSON.parse(await object.Body!.transformToString()) as DeleteLedger;
  };

  it("writes conditionally: If-None-Match: * creates only, If-Match replaces only the version read", async () => {
    const key = "conditional/ledger.json";
    assert.equal(await status(client.send(new PutObjectCommand({ Bucket: "reports", Key: key, Body: "1", IfMatch: '"abc"' }))), 404);
    assert.equal(await status(client.send(new PutObjectCommand({ Bucket: "reports", Key: key, Body: "1", IfNoneMatch: "*" }))), 200);
    assert.equal(await status(client.send(new PutObjectCommand({ Bucket: "reports", Key: key, Body: "2", IfNoneMatch: "*" }))), 412);
    const { ETag } = await client.send(new GetObjectCommand({ Bucket: "reports", Key: key }));
    assert.equal(await status(client.send(new PutObjectCommand({ Bucket: "reports", Key: key, Body: "2", IfMatch: ETag }))), 200);
    assert.equal(await status(client.send(new PutObjectCommand({ Bucket: "reports", Key: key, Body: "3", IfMatch: ETag }))), 412);
    const body = await (await client.send(new GetObjectCommand({ Bucket: "reports", Key: key }))).Body!.transformToString();
    assert.equal(body, "2");
  });

  for (const existing of [false, true]) {
    it(`lets only one of two runs that read the same ledger spend the budget (${existing ? "ledger exists" : "first spend"})`, async () => {
      const key = `race-${existing}/ledger.json`;
      const budget: DeleteBudget = { bucket: "reports", key, perDay: { count: 10 } };
      if (existing) await reserveDeletes(client, budget, { run: "earlier", deletes: 1 });
      // Both runs read the ledger before either may write: each run's first PutObject waits.
      const bothRead = deferred();
      let reads = 0;
      const heldClient = () => {
        const c = clientFor();
        let held = false;
        c.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === "PutObjectCommand" && !held) {
              held = true;
              await bothRead.promise;
            }
            try {
              return await next(args);
            } finally {
              // a missing ledger answers its read with an error: that read counts too
              if (context.commandName === "GetObjectCommand" && ++reads === 2) bothRead.resolve();
            }
          },
          { step: "initialize", name: "holdFirstWrite" },
        );
        return c;
      };
      const [a, b] = [heldClient(), heldClient()];
      const decisions = await Promise.all([
        reserveDeletes(a, budget, { run: "a", deletes: 6 }),
        reserveDeletes(b, budget, { run: "b", deletes: 6 }),
      ]);
      a.destroy();
      b.destroy();
      assert.deepEqual(decisions.map((d) => d.allowed).sort(), [false, true]);
      const ledger = await readLedger(key);
      assert.equal(ledger.spends.reduce((sum, s) => sum + s.deletes, 0), existing ? 7 : 6);
    });
  }

  it("lets two concurrent mirror runs spend the day's budget once: the second asks for approval and, denied, deletes nothing", async () => {
    // Two sub-prefixes, each with 4 extra objects in the destination; 5 deletes a day at most.
    for (const sub of ["x", "y"]) {
      await client.send(new PutObjectCommand({ Bucket: "dev", Key: `app/${sub}/keep.txt`, Body: "k" }));
      await client.send(new PutObjectCommand({ Bucket: "prod", Key: `backup/${sub}/keep.txt`, Body: "k" }));
      for (let i = 0; i < 4; i++) await client.send(new PutObjectCommand({ Bucket: "prod", Key: `backup/${sub}/extra-${i}.txt`, Body: "e" }));
    }
    const environment = {
      [HANDLER_ENV.reportBucket]: "reports",
      [HANDLER_ENV.reportPrefix]: "reports/",
      [HANDLER_ENV.deleteBudget]: JSON.stringify({ bucket: "reports", key: "ledger/prod.json", perDay: 5, sourcePrefix: "app/" }),
    };
    const asked: unknown[] = [];
    const run = (sub: string) =>
      runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        objects: s3ObjectStore(client),
        handlers: createHandlers({ ...settingsFromEnv(environment), client }),
        input: {
          source: { bucket: "dev", prefix: `app/${sub}/` },
          destination: { bucket: "prod", prefix: `backup/${sub}/` },
          mode: "mirror",
          maxDeletes: "100%",
        } satisfies SyncRequest,
        approve: async (request) => {
          asked.push(request.message);
          return false;
        },
        executionName: `budget-${sub}`,
      });
    const [x, y] = await Promise.all([run("x"), run("y")]);
    const outcomes = [x, y].map((r) => (r.status === "SUCCEEDED" ? "deleted" : r.error));
    assert.deepEqual(outcomes.sort(), ["deleted", DELETES_DENIED].sort());
    assert.equal(asked.length, 1);
    assert.equal((asked[0] as { plannedDeletes: number; deleteLimit: number }).plannedDeletes, 4);
    assert.equal((asked[0] as { deleteLimit: number }).deleteLimit, 1, "what was left of the day's budget");
    const succeeded = (x.status === "SUCCEEDED" ? x : y).output as { summary: SyncSummary };
    assert.deepEqual(succeeded.summary.dailyDeleteBudget, { limit: 5, spent: 0 });
    const extras = ((await client.send(new ListObjectsV2Command({ Bucket: "prod", Prefix: "backup/" }))).Contents ?? []).filter((o) =>
      o.Key!.includes("extra-"),
    );
    assert.equal(extras.length, 4, "the denied run's extras are still there");
    const ledger = await readLedger("ledger/prod.json");
    assert.deepEqual(ledger.spends.map((s) => s.deletes), [4]);
  });

  it("prints the run's counters as metrics, and a full run that finds the source emptied says so", async () => {
    for (const bucket of ["shrink-dev", "shrink-prod"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of ["a", "b", "c", "d"]) await client.send(new PutObjectCommand({ Bucket: "shrink-dev", Key: key, Body: key }));
    const lines: string[] = [];
    const environment = {
      [HANDLER_ENV.reportBucket]: "reports",
      [HANDLER_ENV.reportPrefix]: "reports/",
      [HANDLER_ENV.deleteBudget]: JSON.stringify({ bucket: "reports", key: "ledger/shrink.json", perDay: "10%", sourcePrefix: "" }),
      [HANDLER_ENV.metricsStack]: "acme-prod",
    };
    const fullRun = (name: string) =>
      runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        objects: s3ObjectStore(client),
        handlers: createHandlers({ ...settingsFromEnv(environment), client, printMetrics: (line) => lines.push(line) }),
        input: { source: { bucket: "shrink-dev" }, destination: { bucket: "shrink-prod" } },
        executionName: name,
      });
    const first = await fullRun("full-1");
    assert.equal(first.status, "SUCCEEDED", `${first.error}: ${first.cause}`);
    for (const key of ["a", "b", "c", "d"]) await client.send(new DeleteObjectCommand({ Bucket: "shrink-dev", Key: key }));
    const second = await fullRun("full-2");
    assert.equal(second.status, "SUCCEEDED", `${second.error}: ${second.cause}`);

    const documents = lines.map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } });
    assert.equal(documents.length, 2, lines.join(""));
    for (const doc of documents) {
      assert.equal(doc._aws.CloudWatchMetrics[0].Namespace, RUN_METRICS.namespace);
      assert.deepEqual(doc._aws.CloudWatchMetrics[0].Dimensions, [[RUN_METRICS.dimension]]);
      assert.equal(doc[RUN_METRICS.dimension], "acme-prod");
      // every metric named in the directive has its value in the document
      for (const { Name } of doc._aws.CloudWatchMetrics[0].Metrics) assert.equal(typeof doc[Name], "number", Name);
    }
    assert.equal(documents[0].SourceObjects, 4);
    assert.equal(documents[0].Copied, 4);
    assert.equal(documents[0].FullRunsSucceeded, 1);
    assert.equal(documents[0].SourceShrinkPercent, undefined, "no previous full run to compare with");
    assert.equal(documents[1].SourceObjects, 0);
    assert.equal(documents[1].FullRunsSucceeded, 1);
    assert.equal(documents[1].SourceShrinkPercent, 100);
    assert.equal(documents[1].EmptySourceRuns, 1);
    assert.equal(documents[1].Extra, 4);
    assert.equal(typeof documents[1].LagSeconds, "number", "the lag from the execution's start time");
  });
});
