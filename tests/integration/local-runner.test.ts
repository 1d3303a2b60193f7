import { strict as assert } from "node:assert";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type {
  PlanLocation,
  Partition,
  PartitionPlan,
  ReportLocation,
  SummarizeInput,
  SyncJob,
  SyncRangeInput,
  SyncRangeResult,
  SyncRequest,
  SyncStats,
  SyncSummary,
  WriteReportInput,
} from "../../model/contract";
import { createHandlers } from "../../handlers/index";
import { stackIam } from "../helpers/iam";
import { createS3Client } from "../../handlers/engine/s3Client";
import { summarize } from "../../handlers/engine/summary";
import { validateRequest } from "../../handlers/engine/validation";
import { buildDefinition, STATE_NAMES } from "../../infra/definition";
import { DATA_LIMIT_BYTES } from "../../local-stepfunctions/emulation";
import { AWS_PRICES } from "../../pricing/prices";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { assertRunsFaithfully, findFaithfulnessIssues } from "../../local-stepfunctions/faithfulness";
import { localFunctionArns, runLocally, type HandlerTable, type LocalRunResult, type ObjectStore, type RunEvent } from "../../local-stepfunctions/runner";
import { s3ObjectStore } from "../../cli/localSync";

const S = STATE_NAMES;
const ARNS = localFunctionArns();
const TOPIC = "arn:aws:sns:us-east-1:000000000000:bucket-sync-notifications";
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: TOPIC });

// ---------------------------------------------------------------------------------------------
// A small handler table following the contract's shapes, with a world the test describes: the
// S3 work is made up, the pure steps (validation, summaries) are the engine's own.

interface FakeWorld {
  partitions: number;
  /** sync-range calls each partition needs before it is done (the cursor loop). */
  callsPerPartition: number;
  /** Extra destination objects per partition (deleted by a mirror). */
  extrasPerPartition: number;
  /** Objects per partition that fail to copy. */
  failuresPerPartition?: number;
  /** Thrown by the handler of that name on its first call. */
  throwOnce?: Partial<Record<keyof HandlerTable, Error>>;
  /** Thrown by the handler of that name on every call. */
  throwAlways?: Partial<Record<keyof HandlerTable, Error>>;
}

const EMPTY_STATS: SyncStats = {
  sourceObjects: 0, destinationObjects: 0, copied: 0, updated: 0, copiedToSource: 0, deleted: 0,
  extra: 0, unchanged: 0, conflicts: 0, failed: 0, bytes: 0,
};

function add(a: SyncStats, b: Partial<SyncStats>): SyncStats {
  const sum = { ...a };
  for (const [k, v] of Object.entries(b)) sum[k as keyof SyncStats] += v ?? 0;
  return sum;
}

function fakeHandlers(world: FakeWorld) {
  const calls: Array<{ handler: keyof HandlerTable; event: any }> = [];
  const thrown = new Set<string>();
  // The run records: what sync-range's last call of a partition writes and summarize reads.
  const records = new Map<string, SyncRangeResult>();
  // The plans, by bucket and key.
  const objects = new Map<string, string>();
  const recordKey = (run: string | undefined, phase: string, id: number) => `${run}/${phase}/${id}`;
  const keep = (event: SyncRangeInput, result: SyncRangeResult) => {
    if (event.run && result.done) records.set(recordKey(event.run, result.phase, result.partition.id), result);
    return result;
  };
  const guard = (name: keyof HandlerTable, event: unknown) => {
    calls.push({ handler: name, event });
    const always = world.throwAlways?.[name];
    if (always) throw always;
    const once = world.throwOnce?.[name];
    if (once && !thrown.has(name)) {
      thrown.add(name);
      throw once;
    }
  };
  const handlers: HandlerTable = {
    async "validate-input"(event: SyncRequest): Promise<SyncJob> {
      guard("validate-input", event);
      return validateRequest({ ...event, partitions: event.partitions ?? world.partitions });
    },
    async "plan-partitions"(event: { job: SyncJob; run: string }): Promise<PlanLocation> {
      guard("plan-partitions", event);
      const partitions: Partition[] = Array.from({ length: event.job.partitions }, (_, id) => ({ id }));
      const location = { bucket: "reports", key: `reports/${event.run}/plan.json`, partitions: partitions.length };
      objects.set(`${location.bucket}/${location.key}`, JSON.stringify(partitions));
      return location;
    },
    async "sync-range"(event: SyncRangeInput): Promise<SyncRangeResult> {
      guard("sync-range", event);
      const base = event.stats ?? EMPTY_STATS;
      if (event.phase === "delete") {
        const stats = add(base, { deleted: event.deleteBudget ?? 0 });
        return keep(event, { partition: event.partition, phase: "delete", cursor: null, done: true, stats, plannedDeletes: 0, failures: [], changes: [], uploads: [], handledAhead: [] });
      }
      const call = event.cursor ? Number(event.cursor.slice(1)) + 1 : 1;
      const done = call >= world.callsPerPartition;
      const failed = done ? (world.failuresPerPartition ?? 0) : 0;
      const stats = add(base, {
        sourceObjects: 1, copied: 1, destinationObjects: done ? 10 + world.extrasPerPartition : 0,
        extra: done ? world.extrasPerPartition : 0, failed,
      });
      return keep(event, {
        partition: event.partition,
        phase: "copy",
        cursor: done ? null : `k${call}`,
        done,
        stats,
        plannedDeletes: event.job.mode === "mirror" ? stats.extra : 0,
        failures: Array.from({ length: failed }, (_, i) => ({ key: `f${i}`, action: "copy", error: "AccessDenied", message: "denied" })),
        changes: [{ key: `k${call}`, action: "copy", reason: "missing" }],
        uploads: [],
        handledAhead: [],
      });
    },
    async summarize(event: SummarizeInput): Promise<SyncSummary> {
      guard("summarize", event);
      const { job, phase, previous } = event;
      const ids = event.plan ? (JSON.parse(objects.get(`${event.plan.bucket}/${event.plan.key}`) ?? "[]") as Partition[]).map((p) => p.id) : event.partitionIds;
      const results =
        event.results ??
        (ids ?? []).map((id) => {
          const record = records.get(recordKey(event.run, phase, id));
          if (!record) throw new Error(`no ${phase} record for partition ${id}`);
          return record;
        });
      return summarize({ ...event, results });
    },
    async "write-report"(event: WriteReportInput): Promise<ReportLocation> {
      guard("write-report", event);
      const key = `reports/${event.execution?.name}`;
      return { bucket: "reports", jsonKey: `${key}.json`, htmlKey: `${key}.html`, url: `https://reports.example/${key}.html?X-Amz-Expires=3600` };
    },
  };
  const callsOf = (name: keyof HandlerTable) => calls.filter((c) => c.handler === name).map((c) => c.event);
  // What the Map's ItemReader reads: the plans the fake plan-partitions wrote.
  const store: ObjectStore = { getObject: async (bucket, key) => objects.get(`${bucket}/${key}`) };
  return { handlers, calls, callsOf, objects: store };
}

const REQUEST: SyncRequest = { source: { bucket: "dev" }, destination: { bucket: "prod", prefix: "backup/" } };

function run(world: FakeWorld, input: Partial<SyncRequest> = {}, extra: Partial<Parameters<typeof runLocally>[0]> = {}) {
  const fake = fakeHandlers(world);
  const result = runLocally({
    definition: DEFINITION,
    functionArns: ARNS,
    handlers: fake.handlers,
    objects: fake.objects,
    input: { ...REQUEST, ...input },
    executionName: "test-run",
    retryIntervalMs: 0,
    ...extra,
  });
  return { fake, result };
}

function subjects(result: LocalRunResult): string[] {
  return result.notifications.map((n) => n.subject ?? "");
}

// Transitions of a run without deletes: 11 top-level and branch states (Announce result? among
// them), plus per partition 3 per sync-range call (Task, Choice, then Continue or Keep).
const backupTransitions = (partitions: number, calls: number) => 11 + partitions * 3 * calls;

// ---------------------------------------------------------------------------------------------

describe("local runner", () => {
  describe("faithfulness check", () => {
    it("accepts the sync machine's definition, its Distributed Maps (one reading a JSON plan through an ItemReader) included", () => {
      assert.deepEqual(findFaithfulnessIssues(DEFINITION), []);
    });

    const task = (extra: object) => ({
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: { FunctionName: ARNS["validate-input"], "Payload.$": "$" },
          End: true,
          ...extra,
        },
      },
    });
    const map = (extra: object, processor: object = {}) => ({
      StartAt: "M",
      States: {
        M: {
          Type: "Map",
          ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "P", States: { P: { Type: "Pass", End: true, ...processor } } },
          End: true,
          ...extra,
        },
      },
    });

    const refusals: Array<[string, object, RegExp]> = [
      ["JSONata as the machine's query language", { QueryLanguage: "JSONata", ...task({}) }, /\(machine\): QueryLanguage is JSONata/],
      ["a JSONata state", task({ QueryLanguage: "JSONata" }), /T: QueryLanguage is JSONata/],
      ["JSONata Arguments", task({ Arguments: { x: "{% $states.input %}" } }), /T: Arguments belongs to JSONata/],
      ["variables (Assign)", task({ Assign: { x: 1 } }), /T: Assign belongs to JSONata or variables/],
      ["a JSONata Choice condition", { StartAt: "C", States: { C: { Type: "Choice", Choices: [{ Condition: "{% true %}", Next: "D" }], Default: "D" }, D: { Type: "Succeed" } } }, /C: Choices use JSONata Condition/],
      ["an ItemReader that lists a bucket", map({ ItemReader: { Resource: "arn:aws:states:::s3:listObjectsV2", Parameters: { Bucket: "b" } } }), /M: ItemReader reads items from S3; locally only a JSON array/],
      ["an ItemReader over CSV", map({ ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "CSV", CSVHeaderLocation: "FIRST_ROW" }, Parameters: { Bucket: "b", Key: "k" } } }), /M: ItemReader.ReaderConfig reads items from S3/],
      ["an ItemReader with MaxItems", map({ ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "JSON", MaxItems: 5 }, Parameters: { Bucket: "b", Key: "k" } } }), /M: ItemReader.ReaderConfig/],
      ["an ItemReader beside ItemsPath", map({ ItemsPath: "$.x", ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "JSON" }, Parameters: { Bucket: "b", Key: "k" } } }), /M: ItemsPath beside an ItemReader/],
      ["an ItemBatcher", map({ ItemBatcher: { MaxItemsPerBatch: 10 } }), /M: ItemBatcher batches items/],
      ["a ResultWriter", map({ ResultWriter: { Resource: "arn:aws:states:::s3:putObject", Parameters: { Bucket: "b", Prefix: "p" } } }), /M: ResultWriter writes results to S3/],
      ["tolerated failures", map({ ToleratedFailurePercentage: 5 }), /M: ToleratedFailurePercentage tolerates failed items/],
      ["an unknown Resource", task({ Resource: "arn:aws:states:::dynamodb:putItem" }), /T: Resource "arn:aws:states:::dynamodb:putItem" is not emulated/],
      ["a direct Lambda ARN", task({ Resource: ARNS["validate-input"] }), /is not emulated .* would call real AWS/],
      ["a .sync integration", task({ Resource: "arn:aws:states:::states:startExecution.sync:2" }), /is not emulated/],
      ["lambda:invoke without a Payload", task({ Parameters: { FunctionName: ARNS["validate-input"] } }), /T: Parameters.Payload is required/],
      ["a callback that never passes the task token", task({ Resource: "arn:aws:states:::sns:publish.waitForTaskToken", Parameters: { TopicArn: TOPIC, Message: "hi" } }), /never passes \$\$\.Task\.Token/],
      ["a heartbeat", task({ HeartbeatSeconds: 60 }), /T: HeartbeatSeconds is not enforced locally/],
      ["the execution start time inside a Map iteration", map({}, { Parameters: { "t.$": "$$.Execution.StartTime" } }), /M > P: \$\$\.Execution\.StartTime inside a Map iteration/],
      ["a context field the runner does not provide", task({ Parameters: { FunctionName: ARNS["validate-input"], Payload: { "n.$": "$$.State.RetryCount" } } }), /\$\$\.State\.RetryCount is a context object field the local runner does not provide/],
      ["an intrinsic with a parenthesis in a literal", task({ Parameters: { FunctionName: ARNS["validate-input"], Payload: { "m.$": "States.Format('a (b) {}', $.x)" } } }), /parenthesis inside a string literal/],
    ];
    for (const [what, definition, message] of refusals) {
      it(`refuses ${what}`, () => {
        assert.throws(() => assertRunsFaithfully(definition), (err: Error) => {
          assert.match(err.message, /^The local runner refuses this definition/);
          assert.match(err.message, message);
          return true;
        });
      });
    }

    it("lists every issue at once, naming nested states by their path", () => {
      const issues = findFaithfulnessIssues(map({ ItemReader: {}, ItemBatcher: {} }, { Assign: {} }));
      assert.deepEqual(issues.map((i) => `${i.state}: ${i.field}`).sort(), ["M > P: Assign", "M: ItemBatcher", "M: ItemReader"]);
    });

    it("makes runLocally reject before any handler runs", async () => {
      const fake = fakeHandlers({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 });
      await assert.rejects(
        runLocally({ definition: { QueryLanguage: "JSONata", ...DEFINITION }, functionArns: ARNS, handlers: fake.handlers, input: REQUEST }),
        /refuses this definition/,
      );
      assert.equal(fake.calls.length, 0);
    });
  });

  describe("emulation", () => {
    it("has Promise.withResolvers, which the interpreter needs, on this Node version", () => {
      assert.equal(typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers, "function");
    });

    it("reads the copy Map's items from the plan object through its ItemReader: the state does not grow with the partitions", async () => {
      const sizes: number[] = [];
      for (const partitions of [2, 300]) {
        // the data the copy Map and the summary of its phase get
        let mapInput = 0;
        const onEvent = (event: RunEvent) => {
          if (event.type === "StateEntered" && (event.state.name === STATE_NAMES.copyPartitions || event.state.name === STATE_NAMES.summarizeCopy)) {
            mapInput = Math.max(mapInput, Buffer.byteLength(JSON.stringify(event.state.input)));
          }
        };
        const { fake, result } = run({ partitions, callsPerPartition: 1, extrasPerPartition: 0 }, {}, { onEvent });
        const r = await result;
        assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
        assert.deepEqual((fake.callsOf("sync-range") as SyncRangeInput[]).map((e) => e.partition.id).sort((a, b) => a - b), Array.from({ length: partitions }, (_, i) => i));
        sizes.push(mapInput);
        // the reader's own Task is not a state of the definition: it costs no transition
        assert.equal(r.transitions, backupTransitions(partitions, 1));
      }
      assert.ok(sizes[0] > 0 && Math.abs(sizes[1] - sizes[0]) <= 8, `copy Map and summarize inputs: ${sizes.join(" vs ")} bytes`);
    });

    const brokenPlans: Array<[string, string | undefined, RegExp]> = [
      ["is missing", undefined, /does not exist \(NoSuchKey\)/],
      ["is not JSON", "[{\"id\": 0", /is not valid JSON/],
      ["is not an array", JSON.stringify({ partitions: [{ id: 0 }] }), /does not hold a JSON array/],
    ];
    for (const [what, body, cause] of brokenPlans) {
      it(`fails the run with States.ItemReaderFailed when the plan object ${what}, syncing nothing`, async () => {
        const fake = fakeHandlers({ partitions: 2, callsPerPartition: 1, extrasPerPartition: 0 });
        const objects: ObjectStore = { getObject: async (bucket, key) => (key.endsWith("plan.json") ? body : fake.objects.getObject(bucket, key)) };
        const r = await runLocally({ definition: DEFINITION, functionArns: ARNS, handlers: fake.handlers, objects, input: REQUEST, executionName: "broken-plan" });
        assert.equal(r.status, "FAILED");
        assert.equal(r.error, "States.ItemReaderFailed");
        assert.match(r.cause!, cause);
        assert.match(r.cause!, /s3:\/\/reports\/reports\/broken-plan\/plan\.json/);
        assert.equal(fake.callsOf("sync-range").length, 0);
        assert.equal(fake.callsOf("summarize").length, 0);
        assert.deepEqual(subjects(r), ["bucket-sync: sync failed"]);
      });
    }

    it("refuses to run a definition with an ItemReader without an object store to read from", async () => {
      const fake = fakeHandlers({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 });
      const r = await runLocally({ definition: DEFINITION, functionArns: ARNS, handlers: fake.handlers, input: REQUEST });
      assert.equal(r.status, "FAILED");
      assert.match(r.cause!, /needs an object store/);
    });

    it("runs a backup: handlers get their contract events without the lambda:invoke wrapper, and results are unwrapped", async () => {
      const { fake, result } = run({ partitions: 2, callsPerPartition: 1, extrasPerPartition: 0 });
      const r = await result;
      assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
      assert.deepEqual(fake.callsOf("validate-input"), [{ ...REQUEST }]);
      const job = fake.callsOf("plan-partitions")[0].job as SyncJob;
      assert.equal(job.destination.prefix, "backup/");
      assert.deepEqual(fake.callsOf("sync-range").map((e) => ({ ...e, job: undefined })), [
        { job: undefined, partition: { id: 0 }, phase: "copy", run: "test-run" },
        { job: undefined, partition: { id: 1 }, phase: "copy", run: "test-run" },
      ]);
      const summarize = fake.callsOf("summarize")[0] as SummarizeInput;
      // No per-partition results travel in the state: summarize reads the run's records.
      assert.deepEqual(summarize, { job, phase: "copy", run: "test-run", plan: { bucket: "reports", key: "reports/test-run/plan.json", partitions: 2 } });
      const report = fake.callsOf("write-report")[0] as WriteReportInput;
      assert.equal(report.execution?.name, "test-run");
      assert.match(report.execution?.startTime ?? "", /^\d{4}-\d\d-\d\dT/);
      const output = r.output as { summary: SyncSummary; report: ReportLocation };
      assert.equal(output.summary.deleteDecision, "no-deletes");
      assert.equal(output.summary.stats.copied, 2);
      assert.match(output.report.url, /^https:\/\/reports\.example\//);
      assert.deepEqual(subjects(r), ["bucket-sync: sync finished"]);
      const message = r.notifications[0].message as Record<string, unknown>;
      assert.equal(message.reportUrl, output.report.url);
      assert.equal(message.execution, "test-run");
    });

    it("loops sync-range with its cursor and stats until done", async () => {
      const { fake, result } = run({ partitions: 1, callsPerPartition: 3, extrasPerPartition: 0 });
      const r = await result;
      assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
      const events = fake.callsOf("sync-range") as SyncRangeInput[];
      assert.deepEqual(events.map((e) => e.cursor), [undefined, "k1", "k2"]);
      assert.deepEqual(events.map((e) => e.stats?.copied), [undefined, 1, 2]);
      assert.equal((r.output as { summary: SyncSummary }).summary.stats.copied, 3);
    });

    it("counts state transitions from the run's events and prices them with handler time", async () => {
      const { result } = run({ partitions: 2, callsPerPartition: 2, extrasPerPartition: 0 });
      const r = await result;
      assert.equal(r.transitions, backupTransitions(2, 2));
      assert.equal(r.estimatedCostUsd.transitions, r.transitions * AWS_PRICES.stateTransition.usd);
      // 8 handler calls: validate, plan, 4 sync-range, summarize, write-report.
      assert.ok(r.estimatedCostUsd.lambda >= 8 * AWS_PRICES.lambdaRequest.usd);
      assert.ok(Math.abs(r.estimatedCostUsd.total - (r.estimatedCostUsd.transitions + r.estimatedCostUsd.lambda)) < 1e-12);
      assert.ok(r.handlerMs >= 0 && r.durationMs >= r.handlerMs / 8);
    });

    it("prices each handler's time at the memory its function is given, unless told otherwise", async () => {
      const memories: string[] = [];
      const { result } = run({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 }, {}, {
        lambdaMemoryMb: (handler) => {
          memories.push(handler);
          return 0;
        },
      });
      const r = await result;
      // 5 handler calls, each priced by its handler's memory: here none, so requests alone.
      assert.equal(r.estimatedCostUsd.lambda, 5 * AWS_PRICES.lambdaRequest.usd);
      assert.deepEqual([...new Set(memories)].sort(), ["plan-partitions", "summarize", "sync-range", "validate-input", "write-report"]);
    });

    it("forwards every interpreter event to onEvent", async () => {
      const events: RunEvent[] = [];
      const { result } = run({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 }, {}, { onEvent: (e) => events.push(e) });
      const r = await result;
      assert.equal(events.filter((e) => e.type === "StateEntered").length, r.transitions);
      assert.equal(events.at(-1)?.type, "ExecutionSucceeded");
    });

    it("surfaces a handler error as a Lambda function error: name as Error, the runtime's JSON as Cause, into Catch", async () => {
      const denied = Object.assign(new Error("Access Denied to prod"), { name: "AccessDenied" });
      const { fake, result } = run({ partitions: 2, callsPerPartition: 1, extrasPerPartition: 0, throwAlways: { "sync-range": denied } });
      const r = await result;
      assert.equal(r.status, "FAILED");
      assert.equal(r.error, "AccessDenied");
      const cause = JSON.parse(r.cause!);
      assert.equal(cause.errorType, "AccessDenied");
      assert.equal(cause.errorMessage, "Access Denied to prod");
      assert.ok(Array.isArray(cause.trace));
      assert.deepEqual(subjects(r), ["bucket-sync: sync failed"]);
      assert.deepEqual(r.notifications[0].message, { execution: "test-run", error: "AccessDenied", cause: r.cause });
      assert.equal(fake.callsOf("summarize").length, 0);
    });

    it("retries S3 SlowDown as the Retry says, counting the retry as a transition", async () => {
      const slowDown = Object.assign(new Error("Please reduce your request rate."), { name: "SlowDown" });
      const { fake, result } = run({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0, throwOnce: { "sync-range": slowDown } });
      const r = await result;
      assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
      assert.equal(fake.callsOf("sync-range").length, 2);
      assert.equal(r.transitions, backupTransitions(1, 1) + 1);
    });

    it("does not retry an ordinary handler error", async () => {
      const { fake, result } = run({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0, throwAlways: { "validate-input": new TypeError("bad request") } });
      const r = await result;
      assert.equal(r.error, "TypeError");
      assert.equal(fake.callsOf("validate-input").length, 1);
    });

    it("fails an unknown function ARN with Lambda.ResourceNotFoundException", async () => {
      const fake = fakeHandlers({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 });
      const r = await runLocally({
        definition: buildDefinition({ functionArns: { ...ARNS, "plan-partitions": "arn:aws:lambda:us-east-1:000000000000:function:gone" }, notificationTopicArn: TOPIC }),
        functionArns: ARNS,
        handlers: fake.handlers,
        objects: fake.objects,
        input: REQUEST,
      });
      assert.equal(r.error, "Lambda.ResourceNotFoundException");
      assert.match(r.cause!, /function:gone/);
    });

    it("fails a Task result above 256 KiB with States.DataLimitExceeded, past every Catch", async () => {
      const fake = fakeHandlers({ partitions: 1, callsPerPartition: 1, extrasPerPartition: 0 });
      const big = { ...fake.handlers, "plan-partitions": async () => ({ partitions: [{ id: 0, keys: ["x".repeat(DATA_LIMIT_BYTES)] }], partitionIds: [0] }) };
      const r = await runLocally({ definition: DEFINITION, functionArns: ARNS, handlers: big, input: REQUEST });
      assert.equal(r.status, "FAILED");
      assert.equal(r.error, "States.DataLimitExceeded");
      assert.deepEqual(subjects(r), [], "a terminal error is not caught, so no failure notification");
    });

    it("keeps the state small however large the partitions' samples are: they go to the run records", async () => {
      const fake = fakeHandlers({ partitions: 8, callsPerPartition: 1, extrasPerPartition: 0 });
      const bulky: HandlerTable = {
        ...fake.handlers,
        "sync-range": async (event: SyncRangeInput) => {
          const result = await fake.handlers["sync-range"](event);
          return { ...result, changes: Array.from({ length: 20 }, (_, i) => ({ key: `${"k".repeat(2000)}${i}`, action: "copy", reason: "missing" })) };
        },
      };
      const r = await runLocally({ definition: DEFINITION, functionArns: ARNS, handlers: bulky, objects: fake.objects, input: REQUEST, executionName: "bulky" });
      assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
      // One partition's samples (20 of 2 KB) stay in its own iteration; all 8 together (320 KB)
      // would be the Map's output if results travelled in the state.
      assert.ok(r.limits.maxStateBytes > 40_000 && r.limits.maxStateBytes < 64 * 1024, `largest state ${r.limits.maxStateBytes} bytes`);
    });

    it("deletes within the limit without asking, passing each partition its delete budget", async () => {
      const { fake, result } = run({ partitions: 2, callsPerPartition: 1, extrasPerPartition: 1 }, { mode: "mirror", maxDeletes: 5 });
      const r = await result;
      assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
      const deletes = (fake.callsOf("sync-range") as SyncRangeInput[]).filter((e) => e.phase === "delete");
      assert.deepEqual(deletes.map((e) => [e.partition.id, e.deleteBudget]), [[0, 1], [1, 1]]);
      const summaries = fake.callsOf("summarize") as SummarizeInput[];
      assert.deepEqual(summaries.map((s) => s.phase), ["copy", "delete"]);
      assert.equal(summaries[1].previous?.deleteDecision, "within-limit");
      assert.equal((r.output as { summary: SyncSummary }).summary.stats.deleted, 2);
      assert.deepEqual(subjects(r), ["bucket-sync: sync finished"]);
      // + Delete partitions, Summarize delete, and 3 per deleting partition.
      assert.equal(r.transitions, backupTransitions(2, 1) + 2 + 2 * 3);
    });

    describe("delete approval", () => {
      const overLimit = { partitions: 2, callsPerPartition: 1, extrasPerPartition: 3 };
      const mirror = { mode: "mirror" as const, maxDeletes: 2 };

      it("asks with the task token, the planned deletes, the limit and runnable commands; approval deletes", async () => {
        const requests: unknown[] = [];
        const { fake, result } = run(overLimit, mirror, {
          approve: async (req) => {
            requests.push(req.message);
            return true;
          },
        });
        const r = await result;
        assert.equal(r.status, "SUCCEEDED", `${r.error}: ${r.cause}`);
        assert.equal(requests.length, 1);
        const message = requests[0] as Record<string, unknown>;
        assert.equal(message.plannedDeletes, 6);
        assert.equal(message.deleteLimit, 2);
        const token = message.taskToken as string;
        assert.match(token, /^local-task-token-/);
        assert.equal(message.approveCommand, `aws stepfunctions send-task-success --task-output true --task-token ${token}`);
        assert.equal(
          message.denyCommand,
          `aws stepfunctions send-task-failure --error BucketSync.DeletesDenied --cause "Deletes were not approved" --task-token ${token}`,
        );
        assert.deepEqual(subjects(r), ["bucket-sync: approve deletes", "bucket-sync: sync finished"]);
        assert.equal((fake.callsOf("sync-range") as SyncRangeInput[]).filter((e) => e.phase === "delete").length, 2);
        assert.equal((r.output as { summary: SyncSummary }).summary.stats.deleted, 6);
      });

      it("ends in Sync failed with the denial's error when denied, having deleted nothing", async () => {
        const { fake, result } = run(overLimit, mirror, { approve: async () => false });
        const r = await result;
        assert.equal(r.status, "FAILED");
        assert.equal(r.error, "BucketSync.DeletesDenied");
        assert.equal(r.cause, "Deletes were not approved");
        assert.deepEqual(subjects(r), ["bucket-sync: approve deletes", "bucket-sync: sync failed"]);
        assert.equal((fake.callsOf("sync-range") as SyncRangeInput[]).filter((e) => e.phase === "delete").length, 0);
      });

      it("times out when nobody answers", async () => {
        const { result } = run(overLimit, mirror);
        const r = await result;
        assert.equal(r.status, "FAILED");
        assert.equal(r.error, "States.Timeout");
      });
    });

    it("reports, then fails, when copies failed in a mirror, deleting nothing", async () => {
      const { fake, result } = run({ partitions: 2, callsPerPartition: 1, extrasPerPartition: 1, failuresPerPartition: 1 }, { mode: "mirror" });
      const r = await result;
      assert.equal(r.status, "FAILED");
      assert.equal(r.error, "BucketSync.CopiesFailed");
      assert.match(r.cause!, /nothing was deleted/);
      assert.equal(fake.callsOf("write-report").length, 1);
      assert.deepEqual(subjects(r), ["bucket-sync: sync finished"]);
      assert.equal((fake.callsOf("sync-range") as SyncRangeInput[]).filter((e) => e.phase === "delete").length, 0);
    });
  });

  describe("localFunctionArns", () => {
    it("names a fake function per handler", () => {
      assert.equal(localFunctionArns()["sync-range"], "arn:aws:lambda:us-east-1:000000000000:function:bucket-sync-sync-range");
      assert.equal(localFunctionArns("dev")["summarize"], "arn:aws:lambda:us-east-1:000000000000:function:dev-summarize");
    });
  });

  describe("end to end on the embedded S3 server", function () {
    this.timeout(120_000);
    let s3: EmbeddedS3;
    let client: S3Client;

    before(async () => {
      s3 = await startS3rverProcess();
      client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3, compatibility: "generic" });
      for (const bucket of ["dev", "prod", "reports"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    });
    after(async () => {
      client?.destroy();
      await s3?.stop();
    });

    const put = (bucket: string, key: string, body: string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const keys = async (bucket: string, prefix: string) => {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key!).sort();
    };
    const realRun = async (input: SyncRequest, approve?: (req: { message: unknown }) => Promise<boolean>) =>
      runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        handlers: createHandlers({ client, reportBucket: "reports", reportPrefix: "reports/" }),
        objects: s3ObjectStore(client),
        input,
        approve,
        executionName: `e2e-${Date.now()}`,
        // Under the roles the stack deploys for these buckets.
        iam: await stackIam(input, { reports: { bucket: "reports", prefix: "reports/" }, clients: [client] }),
      });

    it("backs dev up into prod through the definition, then mirrors deletes after approval", async () => {
      await put("dev", "app/a.txt", "alpha");
      await put("dev", "app/b.txt", "bravo");
      await put("dev", "app/sub/c.txt", "charlie");
      await put("prod", "backup/app/old1.txt", "stale");
      await put("prod", "backup/app/old2.txt", "stale");

      const backup = await realRun({ source: { bucket: "dev", prefix: "app/" }, destination: { bucket: "prod", prefix: "backup/app/" }, partitions: 2 });
      assert.equal(backup.status, "SUCCEEDED", `${backup.error}: ${backup.cause}`);
      assert.deepEqual(await keys("prod", "backup/app/"), [
        "backup/app/a.txt", "backup/app/b.txt", "backup/app/old1.txt", "backup/app/old2.txt", "backup/app/sub/c.txt",
      ]);
      const body = await client.send(new GetObjectCommand({ Bucket: "prod", Key: "backup/app/sub/c.txt" }));
      assert.equal(await body.Body!.transformToString(), "charlie");
      const backupOutput = backup.output as { summary: SyncSummary; report: ReportLocation };
      assert.equal(backupOutput.summary.stats.copied, 3);
      assert.equal(backupOutput.summary.deleteDecision, "no-deletes");
      assert.equal(backupOutput.report.bucket, "reports");
      assert.ok((await keys("reports", "reports/")).includes(backupOutput.report.htmlKey));

      const asked: unknown[] = [];
      const mirror = await realRun(
        { source: { bucket: "dev", prefix: "app/" }, destination: { bucket: "prod", prefix: "backup/app/" }, mode: "mirror", maxDeletes: 1, partitions: 2 },
        async (req) => {
          asked.push(req.message);
          return true;
        },
      );
      assert.equal(mirror.status, "SUCCEEDED", `${mirror.error}: ${mirror.cause}`);
      assert.equal(asked.length, 1);
      assert.equal((asked[0] as { plannedDeletes: number }).plannedDeletes, 2);
      assert.deepEqual(await keys("prod", "backup/app/"), ["backup/app/a.txt", "backup/app/b.txt", "backup/app/sub/c.txt"]);
      assert.equal((mirror.output as { summary: SyncSummary }).summary.stats.deleted, 2);
      assert.ok(mirror.transitions > backup.transitions);
    });

    it("mirrors with one copy partition and one delete partition: each summarize gets its ids as a list", async () => {
      // Over one-element arrays a projection ([*]) is where interpreter lineages part; the
      // definition carries the id lists as arrays of their own instead.
      await put("dev", "single/keep.txt", "kept");
      await put("prod", "backup/single/keep.txt", "old");
      await put("prod", "backup/single/stale.txt", "stale");
      const handlers = createHandlers({ client, reportBucket: "reports", reportPrefix: "reports/" });
      const summarized: SummarizeInput[] = [];
      const run = await runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        handlers: { ...handlers, summarize: async (event: SummarizeInput) => (summarized.push(event), handlers.summarize(event)) },
        objects: s3ObjectStore(client),
        input: { source: { bucket: "dev", prefix: "single/" }, destination: { bucket: "prod", prefix: "backup/single/" }, mode: "mirror", maxDeletes: 1, partitions: 1 },
        executionName: `single-${Date.now()}`,
      });
      assert.equal(run.status, "SUCCEEDED", `${run.error}: ${run.cause}`);
      // The copy phase's ids come from its plan in S3 (the copy Map's ItemReader reads the same
      // object); the delete phase's travel as a list of their own, by a definite path.
      assert.deepEqual(summarized.map((e) => [e.phase, e.partitionIds ?? e.plan?.partitions]), [["copy", 1], ["delete", [0]]]);
      const summary = (run.output as { summary: SyncSummary }).summary;
      assert.deepEqual([summary.stats.updated, summary.stats.deleted, summary.stats.failed], [1, 1, 0]);
      assert.deepEqual(await keys("prod", "backup/single/"), ["backup/single/keep.txt"]);
    });
  });
});
