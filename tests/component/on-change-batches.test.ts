/**
 * OnChangeBatches alone under Pulumi mocks: the chain's resources, how they are wired, and the
 * IAM documents each part runs under.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { OnChangeBatches, ON_CHANGE_RECORD_TEMPLATE, MAX_RECEIVES } from "../../infra/onChangeBatches";
import type { StateMachineDefinition } from "../../infra/asl";
import type { ProgramRun, RecordedResource } from "../../offline-pulumi/program";
import { runProgram } from "../helpers/pulumiMocks";

const SCOPE = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
const NAMES = {
  rule: "acme-prod-on-change",
  queue: "acme-prod-on-change-buffer",
  deadLetterQueue: "acme-prod-on-change-dlq",
  pipe: "acme-prod-on-change-batches",
  batchMachine: "acme-prod-on-change-batch",
  runSlotsTable: "acme-prod-on-change-run-slots",
  notificationTopic: "acme-prod-notifications",
};

async function build(extra: Record<string, unknown> = {}): Promise<Map<string, RecordedResource>> {
  const run: ProgramRun = await runProgram({
    stack: "dev",
    program: async () => {
      const syncMachine = { name: pulumi.output("acme-prod"), arn: pulumi.output("arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod") };
      const notificationTopic = { arn: pulumi.output("arn:aws:sns:eu-west-1:123456789012:acme-prod-notifications") };
      new OnChangeBatches("changes", {
        scope: SCOPE,
        names: NAMES,
        sourceBucket: "acme-dev",
        syncMachine: syncMachine as never,
        notificationTopic: notificationTopic as never,
        request: { source: { bucket: "acme-dev", prefix: "site/" }, destination: { bucket: "acme-prod" }, mode: "mirror", maxDeletes: "10%" },
        dashboardName: "acme-prod-on-change",
        region: "eu-west-1",
        ...extra,
      });
      return {};
    },
  });
  const component = run.resources.find((r) => r.name === "changes");
  assert.equal(component?.type, "bucketsync:index:OnChangeBatches");
  return new Map(run.resources.filter((r) => r.parent === component?.urn).map((r) => [r.name, r]));
}

const policy = (resource: RecordedResource | undefined, property = "policy") =>
  JSON.parse(String(resource?.inputs[property])) as { Statement: Array<{ Sid?: string; Action: string | string[]; Resource: string | string[]; Principal?: unknown; Condition?: unknown }> };

describe("OnChangeBatches", () => {
  let children: Map<string, RecordedResource>;
  before(async () => {
    children = await build();
  });

  it("sends the rule's events to the buffer queue, which parks what it cannot deliver in the dead-letter queue", () => {
    const rule = children.get("changes-rule")?.inputs;
    assert.equal(rule?.name, NAMES.rule);
    const pattern = JSON.parse(String(rule?.eventPattern));
    assert.deepEqual(pattern["detail-type"], ["Object Created", "Object Deleted"]);
    assert.deepEqual(pattern.detail.reason, [{ "anything-but": ["Lifecycle Expiration"] }]);
    assert.equal(pattern.detail.object, undefined, "keys outside the prefix reach the batch, which counts them");
    const target = children.get("changes-target")?.inputs as Record<string, any>;
    const buffer = children.get("changes-buffer");
    const dlq = children.get("changes-dlq");
    assert.equal(target.arn, buffer?.outputs.arn);
    assert.deepEqual(target.deadLetterConfig, { arn: dlq?.outputs.arn });
    assert.deepEqual(JSON.parse(String(buffer?.inputs.redrivePolicy)), { deadLetterTargetArn: dlq?.outputs.arn, maxReceiveCount: MAX_RECEIVES });
    assert.equal(buffer?.inputs.sqsManagedSseEnabled, true);
    const accepts = policy(children.get("changes-buffer-policy")).Statement;
    assert.deepEqual(accepts.map((s) => [s.Principal, s.Action, s.Resource, s.Condition]), [
      [{ Service: "events.amazonaws.com" }, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:acme-prod-on-change-buffer", { ArnEquals: { "aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/acme-prod-on-change" } }],
    ]);
  });

  it("batches the queue with a pipe that starts the batch machine asynchronously, with the window and size asked", async () => {
    const pipe = children.get("changes-pipe")?.inputs as Record<string, any>;
    assert.equal(pipe.source, children.get("changes-buffer")?.outputs.arn);
    assert.equal(pipe.target, children.get("changes-batch-machine")?.outputs.arn);
    assert.deepEqual(pipe.sourceParameters.sqsQueueParameters, { batchSize: 1000, maximumBatchingWindowInSeconds: 60 });
    assert.deepEqual(pipe.targetParameters.stepFunctionStateMachineParameters, { invocationType: "FIRE_AND_FORGET" });
    assert.equal(pipe.targetParameters.inputTemplate, ON_CHANGE_RECORD_TEMPLATE);
    const tuned = await build({ batchWindowSeconds: 0, maxBatchKeys: 10_000 });
    assert.deepEqual((tuned.get("changes-pipe")?.inputs as Record<string, any>).sourceParameters.sqsQueueParameters, { batchSize: 10_000, maximumBatchingWindowInSeconds: 0 }, "0 stays 0");
    const trust = policy(children.get("changes-pipe-role"), "assumeRolePolicy").Statement;
    assert.deepEqual(trust.map((s) => s.Principal), [{ Service: "pipes.amazonaws.com" }]);
    assert.deepEqual(policy(children.get("changes-pipe-policy")).Statement.map((s) => [s.Action, s.Resource]), [
      [["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "arn:aws:sqs:eu-west-1:123456789012:acme-prod-on-change-buffer"],
      ["states:StartExecution", "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod-on-change-batch"],
    ]);
  });

  it("runs each batch as one sync run, at most maxConcurrentRuns at once, under a role allowed exactly that", async () => {
    const machine = children.get("changes-batch-machine")?.inputs;
    assert.equal(machine?.type, "STANDARD", "only a Standard workflow can wait for the run it starts");
    const definition = JSON.parse(String(machine?.definition)) as StateMachineDefinition;
    const take = definition.States["Take run slot"] as unknown as { Resource: string; Parameters: Record<string, any> };
    assert.equal(take.Resource, "arn:aws:states:::dynamodb:updateItem");
    assert.equal(take.Parameters.TableName, NAMES.runSlotsTable);
    assert.equal(take.Parameters.ExpressionAttributeValues[":max"].N, "1");
    const hold = definition.States["Hold batch"] as unknown as { Parameters: { request: Record<string, unknown> } };
    assert.equal(hold.Parameters.request.maxDeletes, 100, "a count, never the stack's share");
    assert.equal(hold.Parameters.request["changes.$"], "$");
    const table = children.get("changes-run-slots")?.inputs;
    assert.equal(table?.billingMode, "PAY_PER_REQUEST");
    assert.deepEqual(policy(children.get("changes-batch-policy")).Statement.map((s) => [s.Sid, s.Action, s.Resource]), [
      ["CountRunSlots", "dynamodb:UpdateItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/acme-prod-on-change-run-slots"],
      ["StartSyncRun", "states:StartExecution", "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod"],
      ["FollowSyncRun", ["states:DescribeExecution", "states:StopExecution"], "arn:aws:states:eu-west-1:123456789012:execution:acme-prod:*"],
      ["LearnThatRunsEnd", ["events:PutTargets", "events:PutRule", "events:DescribeRule"], "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"],
      ["ReturnFailedBatches", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:acme-prod-on-change-dlq"],
      ["AnnounceFailedBatches", "sns:Publish", "arn:aws:sns:eu-west-1:123456789012:acme-prod-notifications"],
    ]);
    const three = await build({ maxConcurrentRuns: 3 });
    assert.match(String(three.get("changes-batch-machine")?.inputs.definition), /":max":\{"N":"3"\}/);
  });

  it("alarms on any message in the dead-letter queue, and draws the chain's throughput", () => {
    const alarm = children.get("changes-dlq-alarm")?.inputs;
    assert.equal(alarm?.namespace, "AWS/SQS");
    assert.equal(alarm?.metricName, "ApproximateNumberOfMessagesVisible");
    assert.deepEqual(alarm?.dimensions, { QueueName: NAMES.deadLetterQueue });
    assert.equal(alarm?.threshold, 0);
    assert.equal(alarm?.comparisonOperator, "GreaterThanThreshold");
    assert.deepEqual(alarm?.alarmActions, ["arn:aws:sns:eu-west-1:123456789012:acme-prod-notifications"]);
    const failed = children.get("changes-failed-batches-alarm")?.inputs;
    assert.equal(failed?.metricName, "ExecutionsFailed");
    assert.deepEqual(failed?.dimensions, { StateMachineArn: children.get("changes-batch-machine")?.outputs.arn });
    const body = String(children.get("changes-dashboard")?.inputs.dashboardBody);
    for (const metric of ["NumberOfMessagesSent", "NumberOfMessagesDeleted", "ExecutionsStarted", "ExecutionsFailed"]) assert.ok(body.includes(metric), metric);
  });
});
