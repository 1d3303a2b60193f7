/**
 * The emulation of the AWS services around the interpreter, on its own (no interpreter): each
 * Task of the real definition gets the integration its Resource names, and each integration
 * answers and fails as AWS documents it.
 */
import { strict as assert } from "node:assert";
import { HANDLER_NAMES } from "../../model/contract";
import { allStates, LAMBDA_INVOKE, SNS_PUBLISH, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN } from "../../infra/asl";
import { buildDefinition, STATE_NAMES as S } from "../../infra/definition";
import { localFunctionArns } from "../../local-stepfunctions/runner";
import {
  createEmulation,
  DATA_LIMIT_BYTES,
  emulateItemReaders,
  exceedsDataLimit,
  itemReaderStateName,
  TaskError,
  type HandlerTable,
  type ObjectStore,
} from "../../local-stepfunctions/emulation";
import type { MapState, TaskState } from "../../infra/asl";

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:t" });

function handlers(overrides: Partial<HandlerTable> = {}): HandlerTable {
  const echo = async (event: unknown) => ({ echoed: event });
  return { ...(Object.fromEntries(HANDLER_NAMES.map((name) => [name, echo])) as HandlerTable), ...overrides };
}

function emulate(options: { handlers?: HandlerTable; approve?: (request: { message: unknown }) => Promise<boolean> } = {}) {
  return createEmulation({ definition: DEFINITION, functionArns: ARNS, handlers: options.handlers ?? handlers(), approve: options.approve, executionName: "run-1" });
}

describe("emulation", () => {
  it("binds every Task of the definition, nested ones included, and nothing else", () => {
    const tasks = allStates(DEFINITION).filter(({ state }) => state.Type === "Task");
    const emulation = emulate();
    assert.deepEqual(Object.keys(emulation.taskHandlers).sort(), tasks.map((t) => t.name).sort());
    const resources = new Set(tasks.map((t) => (t.state as { Resource: string }).Resource));
    assert.deepEqual([...resources].sort(), [LAMBDA_INVOKE, SNS_PUBLISH, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN].sort());
  });

  it("invokes the handler the ARN names with a copy of the payload and wraps its result as the Lambda integration does", async () => {
    const emulation = emulate();
    const payload = { job: { partitions: 2 } };
    const result = (await emulation.taskHandlers[S.planPartitions]({ FunctionName: ARNS["plan-partitions"], Payload: payload })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result).sort(), ["ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"]);
    assert.equal(result.StatusCode, 200);
    assert.deepEqual(result.Payload, { echoed: payload });
    assert.notEqual((result.Payload as { echoed: unknown }).echoed, payload, "the handler got a copy, as over the wire");
    assert.deepEqual(emulation.invocations.map((i) => [i.handler, i.ok]), [["plan-partitions", true]]);
  });

  it("reports a thrown error as the Node.js runtime does: its name as Error, the runtime's JSON as Cause", async () => {
    const emulation = emulate({
      handlers: handlers({ "sync-range": async () => { throw Object.assign(new Error("slow down"), { name: "SlowDown" }); } }),
    });
    await assert.rejects(emulation.taskHandlers[S.copyRange]({ FunctionName: ARNS["sync-range"], Payload: {} }), (err: Error) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.name, "SlowDown");
      const cause = JSON.parse(err.message) as Record<string, unknown>;
      assert.equal(cause.errorType, "SlowDown");
      assert.equal(cause.errorMessage, "slow down");
      return true;
    });
    assert.deepEqual(emulation.invocations.map((i) => [i.handler, i.ok]), [["sync-range", false]]);
  });

  it("fails an unknown function with Lambda.ResourceNotFoundException", async () => {
    await assert.rejects(
      emulate().taskHandlers[S.validateInput]({ FunctionName: "arn:aws:lambda:us-east-1:0:function:nope", Payload: {} }),
      (err: Error) => err.name === "Lambda.ResourceNotFoundException",
    );
  });

  it("fails a result above the 256 KiB data limit with States.DataLimitExceeded", async () => {
    const big = "x".repeat(DATA_LIMIT_BYTES);
    const emulation = emulate({ handlers: handlers({ summarize: async () => big }) });
    assert.equal(exceedsDataLimit(big), true);
    assert.equal(exceedsDataLimit("x".repeat(DATA_LIMIT_BYTES - 2)), false, "the limit counts the serialized JSON, quotes included");
    await assert.rejects(
      emulation.taskHandlers[S.summarizeCopy]({ FunctionName: ARNS.summarize, Payload: {} }),
      (err: Error) => err.name === "States.DataLimitExceeded",
    );
  });

  it("records SNS messages and rejects subjects SNS would reject", async () => {
    const emulation = emulate();
    const published = (await emulation.taskHandlers[S.notifyFailure]({ Subject: "bucket-sync: failed", Message: { a: 1 } })) as { MessageId: string };
    assert.ok(published.MessageId);
    assert.deepEqual(emulation.notifications, [{ subject: "bucket-sync: failed", message: { a: 1 } }]);
    await assert.rejects(
      emulation.taskHandlers[S.notifyFailure]({ Subject: "line\nbreak", Message: "m" }),
      (err: Error) => err.name === "SNS.InvalidParameterException",
    );
    await assert.rejects(emulation.taskHandlers[S.notifyFailure]({ Message: "" }), (err: Error) => err.name === "SNS.InvalidParameterException");
  });

  it("answers a callback with the message's own commands: approval returns its output, denial fails with its error", async () => {
    const message = (token: string) => ({
      approveCommand: `aws stepfunctions send-task-success --task-output true --task-token ${token}`,
      denyCommand: `aws stepfunctions send-task-failure --error Denied.ByTest --cause "not today" --task-token ${token}`,
    });
    const approving = emulate({ approve: async () => true });
    const token = (approving.context.Task as { Token: string }).Token;
    assert.equal(await approving.taskHandlers[S.requestDeleteApproval]({ Message: message(token) }), true);

    const denying = emulate({ approve: async () => false });
    const other = (denying.context.Task as { Token: string }).Token;
    assert.notEqual(other, token, "each run issues its own token");
    await assert.rejects(denying.taskHandlers[S.requestDeleteApproval]({ Message: message(other) }), (err: Error) => {
      assert.equal(err.name, "Denied.ByTest");
      assert.equal(err.message, "not today");
      return true;
    });

    const unanswered = emulate();
    const pending = (unanswered.context.Task as { Token: string }).Token;
    await assert.rejects(unanswered.taskHandlers[S.requestDeleteApproval]({ Message: message(pending) }), (err: Error) => err.name === "States.Timeout");
  });

  it("refuses a callback message that does not carry the task token: nobody could answer it", async () => {
    const emulation = emulate({ approve: async () => true });
    await assert.rejects(emulation.taskHandlers[S.requestDeleteApproval]({ Message: { text: "no token here" } }), /does not carry \$\$\.Task\.Token/);
  });

  it("names the execution and the state machine in the context object", () => {
    const { context } = emulate();
    assert.equal((context.Execution as { Name: string }).Name, "run-1");
    assert.match((context.Execution as { Id: string }).Id, /^arn:aws:states:us-east-1:000000000000:execution:[^:]+:run-1$/);
  });
});

describe("ItemReader emulation", () => {
  const reader = itemReaderStateName(S.copyPartitions);
  const store = (objects: Record<string, string>): ObjectStore => ({ getObject: async (bucket, key) => objects[`${bucket}/${key}`] });

  it("puts a reader Task before the Map, reached by every transition that reached the Map, with the Map's Catch", () => {
    const { definition, readerStates } = emulateItemReaders(DEFINITION, undefined);
    assert.deepEqual([...readerStates], [reader]);
    assert.equal((definition.States[S.planPartitions] as TaskState).Next, reader);
    const task = definition.States[reader] as TaskState;
    const map = definition.States[S.copyPartitions] as MapState;
    assert.equal(task.Next, S.copyPartitions);
    assert.equal(task.ResultPath, null, "the Map's input passes on unchanged: the items never enter the state");
    assert.deepEqual(task.Parameters, { "Bucket.$": "$.plan.location.bucket", "Key.$": "$.plan.location.key" });
    assert.deepEqual(task.Catch, (DEFINITION.States[S.copyPartitions] as MapState).Catch);
    assert.equal(map.ItemReader, undefined);
    assert.match(map.ItemsPath ?? "", /^\$\$\./);
    // the caller's definition is left as it was
    assert.ok((DEFINITION.States[S.copyPartitions] as MapState).ItemReader);
    assert.equal((DEFINITION.States[S.planPartitions] as TaskState).Next, S.copyPartitions);
  });

  it("reads the JSON array the parameters name and hands it to the Map through the context", async () => {
    const emulation = emulateItemReaders(DEFINITION, store({ "reports/run/plan.json": JSON.stringify([{ id: 1 }, { id: 0 }]) }));
    assert.deepEqual(await emulation.taskHandlers[reader]({ Bucket: "reports", Key: "run/plan.json" }), {});
    const slot = (emulation.definition.States[S.copyPartitions] as MapState).ItemsPath!.split(".").at(-1)!;
    assert.deepEqual((emulation.context.ItemReaderItems as Record<string, unknown>)[slot], [{ id: 1 }, { id: 0 }]);
  });

  const failures: Array<[string, Record<string, string>, RegExp]> = [
    ["a missing object", {}, /s3:\/\/reports\/run\/plan\.json does not exist \(NoSuchKey\)/],
    ["text that is not JSON", { "reports/run/plan.json": "[{" }, /is not valid JSON/],
    ["JSON that is not an array", { "reports/run/plan.json": "{}" }, /does not hold a JSON array/],
  ];
  for (const [what, objects, cause] of failures) {
    it(`fails ${what} with States.ItemReaderFailed`, async () => {
      const emulation = emulateItemReaders(DEFINITION, store(objects));
      await assert.rejects(emulation.taskHandlers[reader]({ Bucket: "reports", Key: "run/plan.json" }), (err: Error) => {
        assert.ok(err instanceof TaskError);
        assert.equal(err.name, "States.ItemReaderFailed");
        assert.match(err.message, cause);
        return true;
      });
    });
  }

  it("fails a reader whose parameters name no bucket or key", async () => {
    const emulation = emulateItemReaders(DEFINITION, store({}));
    await assert.rejects(emulation.taskHandlers[reader]({ Bucket: "reports" }), { name: "States.ItemReaderFailed" });
  });
});
