/**
 * The deployed state machine, run end to end on this machine: the definition `buildDefinition`
 * returns, interpreted locally, its Lambda Tasks dispatched to the real handlers, against the
 * embedded S3 server. Every mode, dry run, prefixes, a bucket of several listing pages, the delete
 * guard both ways and a failed copy; after each run the destination is compared object by object
 * (key, size, SHA-256, carried metadata) with the source.
 */
import { strict as assert } from "node:assert";
import type { S3Client } from "@aws-sdk/client-s3";
import { StateMachine } from "aws-local-stepfunctions";
import type { SyncRequest, SyncSummary } from "../../model/contract";
import { createHandlers } from "../../handlers/index";
import { allStates, type StateMachineDefinition } from "../../infra/asl";
import { buildDefinition, STATE_NAMES } from "../../infra/definition";
import { emulateItemReaders, itemReaderStateName } from "../../local-stepfunctions/emulation";
import { buildSyncRequest, CHANGED_KEY_VARIABLE, onChangeInputTemplate } from "../../infra/syncRequest";
import { AWS_PRICES } from "../../pricing/prices";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { LOCAL_TOPIC_ARN, runLocalSync } from "../../cli/localSync";
import { localFunctionArns, runLocally, type HandlerTable, type LocalRunResult, type RunEvent } from "../../local-stepfunctions/runner";
import { differences, fingerprints, type Place } from "../../handlers/engine/faithfulCopy";
import { assertConverged } from "../helpers/convergence";
import { stackIam } from "../helpers/iam";
import { countingClient, getText, listKeys, newBucket, put, putMany, WRITE_COMMANDS } from "../helpers/s3";
import { s3ObjectStore } from "../../cli/localSync";

const S = STATE_NAMES;
const ARNS = localFunctionArns();
/** Exactly what `runLocalSync` (and so the CLI) builds. */
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: LOCAL_TOPIC_ARN });
const ALL_STATE_NAMES = new Set<string>(Object.values(STATE_NAMES));

/** Waits past the one-second LastModified resolution of listings. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));

/** A run, with what the handlers and the interpreter saw. */
interface Run extends LocalRunResult {
  summary?: SyncSummary;
  syncRangeCalls: { copy: number; delete: number };
  statesEntered: string[];
}

/**
 * State transitions of a run, by the path it takes: the top-level and reporting states it enters,
 * plus three per sync-range call (the Task, the "done?" Choice, then Continue or Keep).
 */
const TRANSITIONS = {
  // Validate, Plan, Copy partitions, Summarize copy, Delete decision, Report, Write report,
  // Announce result?, Publish result, Check outcome, and Sync succeeded (or Copies failed /
  // Objects failed).
  withoutDeletes: 11,
  // ... plus Delete partitions and Summarize delete.
  withDeletes: 13,
  // ... plus Request delete approval.
  approvedDeletes: 14,
  // Validate, Plan, Copy partitions, Summarize copy, Delete decision, Request delete approval,
  // Notify failure, Sync failed.
  deniedDeletes: 8,
} as const;

describe("the sync machine end to end on the embedded S3 server", function () {
  this.timeout(180_000);
  let s3: EmbeddedS3;
  let counting: ReturnType<typeof countingClient>;
  let client: S3Client;
  let reports: string;
  /** Write commands by target bucket, e.g. `CopyObjectCommand dst-1`. */
  let writesByBucket: Record<string, number> = {};

  before(async () => {
    s3 = await startS3rverProcess();
    counting = countingClient(s3);
    client = counting.client;
    client.middlewareStack.add(
      (next, context) => (args) => {
        const name = context.commandName ?? "";
        const bucket = (args.input as { Bucket?: string }).Bucket ?? "";
        if (WRITE_COMMANDS.includes(name)) writesByBucket[bucket] = (writesByBucket[bucket] ?? 0) + 1;
        return next(args);
      },
      { step: "initialize", name: "countWritesByBucket" },
    );
    reports = await newBucket(client, "reports");
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  /** Runs the definition with the real handlers over `handlerClient` (default: the counting client). */
  async function run(
    request: SyncRequest,
    options: { approve?: (request: { message: unknown }) => Promise<boolean>; handlerClient?: S3Client } = {},
  ): Promise<Run> {
    const handlers = createHandlers({ client: options.handlerClient ?? client, reportBucket: reports, reportPrefix: "reports/" });
    const syncRangeCalls = { copy: 0, delete: 0 };
    let summary: SyncSummary | undefined;
    const tracked: HandlerTable = {
      ...handlers,
      async "sync-range"(event) {
        syncRangeCalls[event.phase as "copy" | "delete"]++;
        return handlers["sync-range"](event);
      },
      async summarize(event) {
        summary = await handlers.summarize(event);
        return summary;
      },
    };
    const statesEntered: string[] = [];
    const result = await runLocally({
      definition: DEFINITION,
      functionArns: ARNS,
      handlers: tracked,
      objects: s3ObjectStore(client),
      input: request,
      approve: options.approve,
      // Every handler as the role the stack deploys for these buckets.
      iam: await stackIam(request, { reports: { bucket: reports, prefix: "reports/" }, clients: [options.handlerClient ?? client] }),
      onEvent: (event: RunEvent) => {
        if (event.type === "StateEntered") statesEntered.push(event.state.name);
      },
    });
    return { ...result, summary, syncRangeCalls, statesEntered };
  }

  function assertSucceeded(result: LocalRunResult): void {
    assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
  }

  /** Transitions match the path taken, and the cost estimate prices them and the handler time. */
  function assertMeasured(result: Run, base: number): void {
    const calls = result.syncRangeCalls.copy + result.syncRangeCalls.delete;
    assert.equal(result.transitions, base + 3 * calls, `states entered: ${result.statesEntered.join(", ")}`);
    assert.equal(result.transitions, result.statesEntered.length, "no retries in these runs");
    const cost = result.estimatedCostUsd;
    assert.ok(Math.abs(cost.transitions - result.transitions * AWS_PRICES.stateTransition.usd) < 1e-12, JSON.stringify(cost));
    // At least one request per Lambda invocation: sync-range, and each of validate, plan, summarize
    // and write-report the run entered (a denied run ends before its report).
    const once = [STATE_NAMES.validateInput, STATE_NAMES.planPartitions, STATE_NAMES.summarizeCopy, STATE_NAMES.summarizeDelete, STATE_NAMES.writeReport];
    const invocations = calls + result.statesEntered.filter((name) => (once as string[]).includes(name)).length;
    assert.ok(cost.lambda >= invocations * AWS_PRICES.lambdaRequest.usd, JSON.stringify(cost));
    assert.ok(Math.abs(cost.total - (cost.transitions + cost.lambda)) < 1e-12, JSON.stringify(cost));
    assert.ok(cost.total < 0.01, `a small run costs well under a cent: ${JSON.stringify(cost)}`);
    assert.ok(result.handlerMs > 0 && result.handlerMs <= result.durationMs * (calls + 4), `${result.handlerMs} ms in handlers`);
    for (const name of result.statesEntered) assert.ok(ALL_STATE_NAMES.has(name), `entered unknown state "${name}"`);
  }

  /** A small tree with the metadata a copy must carry, awkward keys and an empty object. */
  async function fillSource(bucket: string, prefix = ""): Promise<void> {
    await putMany(client, bucket, ["a", "b/c", "b/d e", "plus+sign", "q?mark", "pct%20", "é/ü", "emoji-😀"].map((k) => prefix + k));
    await put(client, bucket, `${prefix}site/index.html`, "<h1>hello</h1>", {
      ContentType: "text/html",
      CacheControl: "max-age=60",
      Metadata: { owner: "team-a", build: "42" },
    });
    await put(client, bucket, `${prefix}empty`, "", { ContentLength: 0 });
    await put(client, bucket, `${prefix}logs/2026/app.log`, "line\n".repeat(100), { ContentType: "text/plain" });
  }

  /** The destination minus `ignored` keys equals the source. */
  async function assertEqualExcept(source: Place, destination: Place, ignored: string[]): Promise<void> {
    const [expected, actual] = await Promise.all([fingerprints(client, source), fingerprints(client, destination)]);
    for (const key of ignored) actual.delete(key);
    assert.deepEqual(actual, expected);
  }

  it("runs exactly the definition buildDefinition returns, through the same path the CLI takes", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["x/1", "y/2"]);

    // Every interpreter run: the top-level one, then one per Map iteration and Parallel branch.
    const interpreted: Array<{ definition: unknown; taskStates: string[] }> = [];
    const originalRun = StateMachine.prototype.run;
    StateMachine.prototype.run = function (this: StateMachine, ...args: Parameters<StateMachine["run"]>) {
      const overrides = args[1]?.overrides?.taskResourceLocalHandlers ?? {};
      // `definition` is private in the interpreter's types; it holds what the constructor was given.
      const { definition } = this as unknown as { definition: unknown };
      interpreted.push({ definition: structuredClone(definition), taskStates: Object.keys(overrides) });
      return originalRun.apply(this, args);
    };
    let result;
    try {
      const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination } };
      result = await runLocalSync({
        request,
        endpoint: s3.endpoint,
        credentials: s3,
        region: s3.region,
        report: { bucket: reports, prefix: "reports/" },
        // runLocalSync attaches its own clients.
        iam: await stackIam(request, { reports: { bucket: reports, prefix: "reports/" }, clients: [] }),
      });
    } finally {
      StateMachine.prototype.run = originalRun;
    }
    assertSucceeded(result);
    assert.ok(interpreted.length > 0);

    // The interpreter's validator adds `QueryLanguage` to every state of its own copy; apart from
    // that, it ran the very object buildDefinition returns for the local ARNs and topic, with the
    // copy Map's ItemReader emulated as emulation.ts documents (a reader Task before the Map).
    const expected = buildDefinition({ functionArns: localFunctionArns(), notificationTopicArn: LOCAL_TOPIC_ARN });
    const emulated = emulateItemReaders(expected, undefined).definition;
    assert.deepEqual(withoutAddedQueryLanguage(interpreted[0].definition), emulated);
    assert.deepEqual(DEFINITION, expected, "running a definition leaves the caller's object as it was");
    // Every Task of the definition, nested ones included, was bound to an emulated service, and so was the reader.
    const tasks = taskStateNames(expected);
    assert.deepEqual([...interpreted[0].taskStates].sort(), [...tasks, itemReaderStateName(STATE_NAMES.copyPartitions)].sort());
    assert.deepEqual(await listKeys(client, destination).then((keys) => keys.map((k) => k.key)), ["x/1", "y/2"]);
  });

  it("backup: copies new and changed objects with their metadata, keeps extras, and a second run writes nothing", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await fillSource(source);
    await put(client, destination, "a", "an older a, longer than the new one");
    await put(client, destination, "only-in-backup", "kept by a backup");

    const first = await run({ source: { bucket: source }, destination: { bucket: destination }, partitions: 4, minKeysPerPartition: 1 });
    assertSucceeded(first);
    const stats = first.summary!.stats;
    assert.deepEqual(
      { copied: stats.copied, updated: stats.updated, extra: stats.extra, deleted: stats.deleted, failed: stats.failed },
      { copied: 10, updated: 1, extra: 1, deleted: 0, failed: 0 },
    );
    assert.ok(first.syncRangeCalls.copy > 1, "several partitions");
    assertMeasured(first, TRANSITIONS.withoutDeletes);
    await assertEqualExcept({ bucket: source }, { bucket: destination }, ["only-in-backup"]);
    assert.equal(await getText(client, destination, "only-in-backup"), "kept by a backup");

    await settle();
    writesByBucket = {};
    const second = await run({ source: { bucket: source }, destination: { bucket: destination }, partitions: 4, minKeysPerPartition: 1 });
    assertSucceeded(second);
    assert.equal(second.summary!.stats.unchanged, 11);
    assert.equal((writesByBucket[source] ?? 0) + (writesByBucket[destination] ?? 0), 0, JSON.stringify(writesByBucket));
  });

  it("a dry run plans copies, updates and deletes and writes nothing but its report", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await fillSource(source);
    await put(client, destination, "a", "different");
    await put(client, destination, "extra-1", "x");
    const before = await fingerprints(client, { bucket: destination });

    writesByBucket = {};
    const result = await run({
      source: { bucket: source },
      destination: { bucket: destination },
      mode: "mirror",
      maxDeletes: 0,
      dryRun: true,
    });
    assertSucceeded(result);
    const summary = result.summary!;
    assert.equal(summary.stats.copied, 10);
    assert.equal(summary.stats.updated, 1);
    assert.equal(summary.plannedDeletes, 1);
    assert.equal(summary.deleteDecision, "no-deletes", "a dry run never asks to delete, whatever the limit");
    assert.deepEqual(
      summary.changes.filter((c) => c.action === "delete").map((c) => c.key),
      ["extra-1"],
    );
    assert.deepEqual(Object.keys(writesByBucket), [reports], "nothing written but into the reports bucket");
    // The JSON and HTML report, the change log, and a run record and a change chunk per partition beside them.
    const execution = (result.output as { report: { jsonKey: string } }).report.jsonKey.split("/").at(-2);
    const written = (await listKeys(client, reports, `reports/${execution}/`)).map((o) => o.key);
    assert.equal(writesByBucket[reports], written.length);
    assert.deepEqual(
      written.filter((key) => !/^partitions\/copy\/\d+\.json$/.test(key) && !/^changes\/copy-\d+-[0-9a-f-]+\.jsonl$/.test(key)).sort(),
      ["changes.jsonl", "plan.json", "report.html", "report.json"],
    );
    assert.deepEqual(await fingerprints(client, { bucket: destination }), before);
    assertMeasured(result, TRANSITIONS.withoutDeletes);
  });

  it("mirror: copies, then deletes extras within the limit without asking", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await fillSource(source);
    await putMany(client, destination, ["b/c", "b/stale", "zz-extra"]);

    const asked: unknown[] = [];
    const result = await run(
      { source: { bucket: source }, destination: { bucket: destination }, mode: "mirror", maxDeletes: 2, partitions: 4, minKeysPerPartition: 1 },
      { approve: async (req) => (asked.push(req), true) },
    );
    assertSucceeded(result);
    assert.equal(asked.length, 0);
    assert.equal(result.summary!.stats.deleted, 2);
    assert.ok(result.statesEntered.includes(S.deletePartitions));
    assert.ok(!result.statesEntered.includes(S.requestDeleteApproval), "within the limit: no approval asked");
    assertMeasured(result, TRANSITIONS.withDeletes);
    await assertConverged(client, { bucket: source }, { bucket: destination });
  });

  it("two-way: copies what is missing each way, reports a conflict untouched, then newer-wins settles it", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await put(client, source, "only-source", "s", { ContentType: "text/plain", Metadata: { side: "source" } });
    await put(client, destination, "only-destination", "d", { CacheControl: "no-cache", Metadata: { side: "destination" } });
    await putMany(client, source, ["both-same"]);
    await putMany(client, destination, ["both-same"]);
    await put(client, source, "conflict", "source version");
    await settle();
    await put(client, destination, "conflict", "destination version, newer");

    const reported = await run({ source: { bucket: source }, destination: { bucket: destination }, mode: "two-way" });
    assertSucceeded(reported);
    const stats = reported.summary!.stats;
    assert.deepEqual(
      { copied: stats.copied, copiedToSource: stats.copiedToSource, conflicts: stats.conflicts, unchanged: stats.unchanged },
      { copied: 1, copiedToSource: 1, conflicts: 1, unchanged: 1 },
    );
    assert.deepEqual(reported.summary!.changes.filter((c) => c.action === "conflict").map((c) => c.key), ["conflict"]);
    assert.equal(await getText(client, source, "conflict"), "source version");
    assert.equal(await getText(client, destination, "conflict"), "destination version, newer");
    const apart = differences(await fingerprints(client, { bucket: source }), await fingerprints(client, { bucket: destination }));
    assert.deepEqual(
      { count: apart.count, changed: apart.changed.map((c) => c.key) },
      { count: 1, changed: ["conflict"] },
      "only the conflict differs",
    );
    assertMeasured(reported, TRANSITIONS.withoutDeletes);

    const settled = await run({
      source: { bucket: source },
      destination: { bucket: destination },
      mode: "two-way",
      conflictPolicy: "newer-wins",
    });
    assertSucceeded(settled);
    assert.equal(settled.summary!.stats.copiedToSource, 1);
    assert.equal(await getText(client, source, "conflict"), "destination version, newer");
    const both = await assertConverged(client, { bucket: source }, { bucket: destination });
    assert.deepEqual([...both.keys()].sort(), ["both-same", "conflict", "only-destination", "only-source"]);
  });

  it("maps dev/ to backup/dev/ and touches nothing outside the two prefixes", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await fillSource(source, "dev/");
    await putMany(client, source, ["prod/not-synced", "dev-not-a-child"]);
    await putMany(client, destination, ["backup/dev/stale-extra", "backup/other/keep", "backup/dev-sibling", "top-level"]);
    const destinationKeysBefore = (await listKeys(client, destination)).length;

    const result = await run({
      source: { bucket: source, prefix: "dev/" },
      destination: { bucket: destination, prefix: "backup/dev/" },
      mode: "mirror",
      maxDeletes: 1,
    });
    assertSucceeded(result);
    assert.equal(result.summary!.stats.deleted, 1);
    await assertConverged(client, { bucket: source, prefix: "dev/" }, { bucket: destination, prefix: "backup/dev/" });
    const all = (await listKeys(client, destination)).map((o) => o.key);
    for (const outside of ["backup/other/keep", "backup/dev-sibling", "top-level"]) assert.ok(all.includes(outside), outside);
    assert.ok(!all.some((key) => key.includes("not-synced") || key.includes("dev-not-a-child")), all.join(", "));
    assert.equal(all.length, destinationKeysBefore - 1 + 11, "one extra deleted, eleven copied");
  });

  describe("the delete guard", () => {
    async function overLimit(): Promise<{ source: string; destination: string; request: SyncRequest }> {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["k/1", "k/2"]);
      await putMany(client, destination, ["k/1", "x/1", "x/2", "x/3"]);
      return {
        source,
        destination,
        request: { source: { bucket: source }, destination: { bucket: destination }, mode: "mirror", maxDeletes: "50%" },
      };
    }

    it("over the limit, asks with the planned deletes and the limit; approval deletes them", async () => {
      const { source, destination, request } = await overLimit();
      const asked: Array<{ plannedDeletes: number; deleteLimit: number; approveCommand: string }> = [];
      const result = await run(request, { approve: async ({ message }) => (asked.push(message as (typeof asked)[0]), true) });
      assertSucceeded(result);
      assert.equal(asked.length, 1);
      assert.equal(asked[0].plannedDeletes, 3);
      assert.equal(asked[0].deleteLimit, 2, "50% of the 4 objects in the destination");
      assert.match(asked[0].approveCommand, /aws stepfunctions send-task-success/);
      assert.equal(result.summary!.stats.deleted, 3);
      assertMeasured(result, TRANSITIONS.approvedDeletes);
      await assertConverged(client, { bucket: source }, { bucket: destination });
    });

    it("an on-change run (the rule's own input template) deletes the key deleted in the source without asking", async () => {
      const source = await newBucket(client, "src");
      const destination = await newBucket(client, "dst");
      await putMany(client, source, ["keep/1", "keep/2"]);
      await putMany(client, destination, ["keep/1", "keep/2", "gone photo.jpg"]);
      const stackRequest = buildSyncRequest(
        {
          sourcePrefix: "",
          destinationPrefix: "",
          mode: "mirror",
          conflictPolicy: "report",
          dryRun: false,
          maxDeletes: "10%",
          concurrency: 8,
          partitions: 4,
          minKeysPerPartition: 1000,
          timeBudgetSeconds: 60,
        },
        { sourceBucket: source, destinationBucket: destination },
      );
      // As EventBridge fills the template for an Object Deleted event: the key URL-encoded, as JSON.
      const fill = (maxDeletes: number) =>
        JSON.parse(onChangeInputTemplate(stackRequest, maxDeletes).replace(`<${CHANGED_KEY_VARIABLE}>`, JSON.stringify("gone+photo.jpg"))) as SyncRequest;

      // With no deletes allowed, the one delete waits for a person, as 10% of one object would.
      const asked: unknown[] = [];
      const guarded = await run(fill(0), { approve: async (req) => (asked.push(req), false) });
      assert.equal(guarded.error, "BucketSync.DeletesDenied");
      assert.equal(asked.length, 1);

      const result = await run(fill(1), { approve: async (req) => (asked.push(req), false) });
      assertSucceeded(result);
      assert.equal(asked.length, 1, "within the on-change limit: no approval asked");
      assert.equal(result.summary!.stats.deleted, 1);
      assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["keep/1", "keep/2"]);
    });

    it("over the limit and denied, fails with the denial's error and deletes nothing", async () => {
      const { destination, request } = await overLimit();
      const result = await run(request, { approve: async () => false });
      assert.equal(result.status, "FAILED");
      assert.equal(result.error, "BucketSync.DeletesDenied");
      assert.equal(result.cause, "Deletes were not approved");
      assert.equal(result.syncRangeCalls.delete, 0);
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["k/1", "k/2", "x/1", "x/2", "x/3"],
        "copies done, no extra deleted",
      );
      assert.deepEqual(result.notifications.map((n) => n.subject), ["bucket-sync: approve deletes", "bucket-sync: sync failed"]);
      assertMeasured(result, TRANSITIONS.deniedDeletes);
    });
  });

  it("a failed copy fails the run after the report, and a mirror deletes nothing", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["ok/1", "ok/2", "fails"]);
    await putMany(client, destination, ["extra"]);
    const failing = countingClient(s3);
    failing.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "CopyObjectCommand" && (args.input as { Key?: string }).Key === "fails") {
          throw Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
        }
        return next(args);
      },
      { step: "initialize", name: "denyOneCopy" },
    );
    const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination }, mode: "mirror", maxDeletes: 5 };
    let result: Run;
    try {
      result = await run(request, { handlerClient: failing.client });
    } finally {
      failing.client.destroy();
    }
    assert.equal(result.status, "FAILED");
    assert.equal(result.error, "BucketSync.CopiesFailed");
    assert.match(result.cause ?? "", /nothing was deleted/);
    assert.deepEqual(result.summary!.failures.map((f) => [f.key, f.error]), [["fails", "AccessDenied"]]);
    assert.equal(result.summary!.deleteDecision, "blocked-by-failures");
    // The report came first: written to S3 and announced, then the run failed.
    assert.equal(result.statesEntered.at(-1), S.copiesFailed);
    assert.ok(result.statesEntered.indexOf(S.writeReport) < result.statesEntered.indexOf(S.copiesFailed));
    assert.equal(result.notifications.at(-1)?.subject, "bucket-sync: sync finished");
    const reportKeys = (await listKeys(client, reports)).map((o) => o.key);
    const reportMessage = result.notifications.at(-1)?.message as { execution: string; stats: { failed: number } };
    assert.equal(reportMessage.stats.failed, 1);
    assert.ok(reportKeys.some((key) => key.includes(reportMessage.execution)), reportKeys.join(", "));
    assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["extra", "ok/1", "ok/2"]);
    assertMeasured(result, TRANSITIONS.withoutDeletes);

    const rerun = await run(request);
    assertSucceeded(rerun);
    await assertConverged(client, { bucket: source }, { bucket: destination });
  });

  it("pages through a bucket of 1,100 keys (two listing pages in one partition) and copies it faithfully", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    const keys = Array.from({ length: 1100 }, (_, i) => `bulk/${String(i).padStart(5, "0")}`);
    await putMany(client, source, keys, (key) => `body of ${key}`);
    await put(client, source, "zz-top-level", "z", { ContentType: "text/plain", Metadata: { kind: "single" } });
    await put(client, destination, "bulk/00007", "stale");

    counting.reset();
    const result = await run({ source: { bucket: source }, destination: { bucket: destination } });
    assertSucceeded(result);
    const stats = result.summary!.stats;
    assert.equal(stats.sourceObjects, 1101);
    assert.equal(stats.copied, 1100);
    assert.equal(stats.updated, 1);
    assert.equal(stats.failed, 0);
    // bulk/ (1,100 keys) is one partition and takes two pages of 1,000 from the source.
    assert.ok((counting.counts.ListObjectsV2Command ?? 0) >= 2 + 1, JSON.stringify(counting.counts));
    assertMeasured(result, TRANSITIONS.withoutDeletes);
    const copied = await assertConverged(client, { bucket: source }, { bucket: destination });
    assert.equal(copied.size, 1101);
  });
});

/** Every Task state name of a definition, nested ones included. */
function taskStateNames(definition: StateMachineDefinition): string[] {
  return allStates(definition).filter(({ state }) => state.Type === "Task").map(({ name }) => name);
}

/** A copy of a definition without the `QueryLanguage: "JSONPath"` the validator writes into it. */
function withoutAddedQueryLanguage(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAddedQueryLanguage);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === "QueryLanguage" && v === "JSONPath"))
      .map(([key, v]) => [key, withoutAddedQueryLanguage(v)]),
  );
}
