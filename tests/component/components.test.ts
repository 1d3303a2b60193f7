/**
 * One ComponentResource at a time, built under Pulumi mocks (as awsx tests its components): each
 * spec constructs a single component with chosen args and asserts the resources it registered —
 * their types, names, parents and inputs — independent of the program and the stack configs.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { HardenedBucket, type HardenedBucketArgs } from "../../infra/hardenedBucket";
import { Notifications } from "../../infra/notifications";
import { OnChangeSync, SyncSchedule } from "../../infra/triggers";
import type { ProgramRun, RecordedResource } from "../../offline-pulumi/program";
import { runProgram } from "../helpers/pulumiMocks";

/** Builds what `build` constructs, alone, under mocks; returns every registered resource. */
async function build(construct: () => void): Promise<ProgramRun> {
  return runProgram({
    stack: "dev",
    program: async () => {
      construct();
      return {};
    },
  });
}

function byName(run: ProgramRun, name: string): RecordedResource {
  const found = run.resources.find((r) => r.name === name);
  assert.ok(found, `no resource named ${name}; have ${run.resources.map((r) => r.name).join(", ")}`);
  return found;
}

/** The children of the component named `name`, by name. */
function childrenOf(run: ProgramRun, name: string): Map<string, RecordedResource> {
  const component = byName(run, name);
  return new Map(run.resources.filter((r) => r.parent === component.urn).map((r) => [r.name, r]));
}

describe("HardenedBucket", () => {
  const bucket = (args: Partial<HardenedBucketArgs> = {}) => build(() => void new HardenedBucket("data", { bucketName: "acme-data", ...args }));

  it("is a bucketsync:index:HardenedBucket whose children are named <name>-<role> and parented to it", async () => {
    const run = await bucket();
    assert.equal(byName(run, "data").type, "bucketsync:index:HardenedBucket");
    assert.deepEqual(
      [...childrenOf(run, "data").keys()].sort(),
      ["data-bucket", "data-encryption", "data-lifecycle", "data-ownership", "data-policy", "data-public-access-block", "data-versioning"],
    );
  });

  it("blocks public access, enforces bucket ownership, versions, and encrypts with SSE-S3 by default", async () => {
    const children = childrenOf(await bucket(), "data");
    assert.deepEqual(children.get("data-bucket")?.inputs.bucket, "acme-data");
    assert.equal(children.get("data-bucket")?.inputs.forceDestroy, false);
    const block = children.get("data-public-access-block")?.inputs;
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(block?.[flag], true, flag);
    assert.deepEqual(children.get("data-ownership")?.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
    assert.deepEqual(children.get("data-versioning")?.inputs.versioningConfiguration, { status: "Enabled" });
    const [rule] = children.get("data-encryption")?.inputs.rules as Array<Record<string, unknown>>;
    assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "AES256" });
    assert.equal(rule.bucketKeyEnabled, false);
  });

  it("uses SSE-KMS with a bucket key when given a key, and keeps noncurrent versions as long as asked", async () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/abc";
    const children = childrenOf(await bucket({ kmsKeyArn: key, noncurrentVersionRetentionDays: 0, expirationDays: 90 }), "data");
    const [rule] = children.get("data-encryption")?.inputs.rules as Array<Record<string, unknown>>;
    assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: key });
    assert.equal(rule.bucketKeyEnabled, true);
    const [lifecycle] = children.get("data-lifecycle")?.inputs.rules as Array<Record<string, unknown>>;
    assert.deepEqual(lifecycle.noncurrentVersionExpiration, { noncurrentDays: 0 }, "0 stays 0 (`??`, not `||`)");
    assert.deepEqual(lifecycle.expiration, { days: 90 });
  });

  it("denies every request not made over TLS 1.2 or later, naming the bucket by its configured name in the partition given", async () => {
    const children = childrenOf(await bucket({ partition: "aws-cn" }), "data");
    const policy = JSON.parse(String(children.get("data-policy")?.inputs.policy)) as { Statement: Array<Record<string, unknown>> };
    assert.deepEqual(
      policy.Statement.map((s) => [s.Effect, s.Principal, s.Condition]),
      [
        ["Deny", "*", { Bool: { "aws:SecureTransport": "false" } }],
        ["Deny", "*", { NumericLessThan: { "s3:TlsVersion": "1.2" } }],
      ],
    );
    for (const statement of policy.Statement) {
      assert.deepEqual(statement.Resource, ["arn:aws-cn:s3:::acme-data", "arn:aws-cn:s3:::acme-data/*"]);
    }
  });

  it("protects the bucket only when asked, and sends events to EventBridge only when asked", async () => {
    const plain = await bucket();
    assert.equal(byName(plain, "data-bucket").protect, false);
    assert.ok(!childrenOf(plain, "data").has("data-notifications"));
    const asked = await bucket({ protect: true, eventBridgeNotifications: true });
    assert.equal(byName(asked, "data-bucket").protect, true);
    assert.equal(childrenOf(asked, "data").get("data-notifications")?.inputs.eventbridge, true);
  });
});

describe("Notifications", () => {
  it("creates the named topic and one email subscription per address, under the component", async () => {
    const run = await build(() => void new Notifications("alerts", { topicName: "acme-notifications", emails: ["a@example.com", "b@example.com"] }));
    assert.equal(byName(run, "alerts").type, "bucketsync:index:Notifications");
    const children = childrenOf(run, "alerts");
    assert.equal(children.get("alerts-topic")?.inputs.name, "acme-notifications");
    const subscriptions = [...children.values()].filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription");
    assert.deepEqual(subscriptions.map((s) => [s.inputs.protocol, s.inputs.endpoint]).sort(), [["email", "a@example.com"], ["email", "b@example.com"]]);
  });

  it("subscribes nobody by default", async () => {
    const run = await build(() => void new Notifications("alerts", { topicName: "t" }));
    assert.deepEqual([...childrenOf(run, "alerts").keys()], ["alerts-topic"]);
  });
});

describe("SyncSchedule", () => {
  const scope = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
  const schedule = (extra: Record<string, unknown> = {}) =>
    build(() => {
      const stateMachine = { name: pulumi.output("acme-prod"), arn: pulumi.output("arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod") };
      new SyncSchedule("nightly", {
        scope,
        stateMachine: stateMachine as never,
        startArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod:live",
        request: { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" } },
        scheduleName: "acme-prod-schedule",
        deadLetterQueueName: "acme-prod-schedule-dlq",
        scheduleExpression: "cron(0 3 * * ? *)",
        ...extra,
      } as never);
    });

  it("starts the machine with the request on the schedule, in UTC, retrying 3 times within an hour, then to its dead-letter queue", async () => {
    const run = await schedule();
    assert.equal(byName(run, "nightly").type, "bucketsync:index:SyncSchedule");
    const children = childrenOf(run, "nightly");
    const inputs = children.get("nightly-schedule")?.inputs as Record<string, any>;
    assert.equal(inputs.name, "acme-prod-schedule");
    assert.equal(inputs.scheduleExpression, "cron(0 3 * * ? *)");
    assert.equal(inputs.scheduleExpressionTimezone, "UTC");
    assert.deepEqual(inputs.flexibleTimeWindow, { mode: "OFF" });
    assert.equal(inputs.target.arn, "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod:live");
    assert.deepEqual(JSON.parse(inputs.target.input), { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" } });
    assert.deepEqual(inputs.target.retryPolicy, { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
    assert.equal(children.get("nightly-dlq")?.inputs.name, "acme-prod-schedule-dlq");
    assert.equal(children.get("nightly-dlq")?.inputs.sqsManagedSseEnabled, true);
  });

  it("lets its role start only this state machine and write only to its own dead-letter queue", async () => {
    const children = childrenOf(await schedule({ maximumRetryAttempts: 0 }), "nightly");
    const policy = JSON.parse(String(children.get("nightly-policy")?.inputs.policy)) as { Statement: Array<{ Action: unknown; Resource: unknown }> };
    const resources = policy.Statement.flatMap((s) => [s.Resource].flat());
    assert.deepEqual(resources.sort(), [
      "arn:aws:sqs:eu-west-1:123456789012:acme-prod-schedule-dlq",
      "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod",
    ]);
    const retry = (children.get("nightly-schedule")?.inputs as Record<string, any>).target.retryPolicy;
    assert.equal(retry.maximumRetryAttempts, 0, "0 stays 0");
    const trust = JSON.parse(String(children.get("nightly-role")?.inputs.assumeRolePolicy)) as { Statement: Array<{ Principal: unknown }> };
    assert.deepEqual(trust.Statement.map((s) => s.Principal), [{ Service: "scheduler.amazonaws.com" }]);
  });
});

describe("OnChangeSync", () => {
  const scope = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
  const request = { source: { bucket: "acme-dev", prefix: "site/" }, destination: { bucket: "acme-prod" } };
  const onChange = (extra: Record<string, unknown> = {}) =>
    build(() => {
      const stateMachine = { name: pulumi.output("acme-prod"), arn: pulumi.output("arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod") };
      new OnChangeSync("changes", {
        scope,
        stateMachine: stateMachine as never,
        startArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod:live",
        request,
        ruleName: "acme-prod-on-change",
        deadLetterQueueName: "acme-prod-on-change-dlq",
        sourceBucket: "acme-dev",
        ...extra,
      } as never);
    });

  it("matches created and deleted objects of the source bucket, under the prefix when one is given", async () => {
    const run = await onChange({ sourcePrefix: "site/" });
    assert.equal(byName(run, "changes").type, "bucketsync:index:OnChangeSync");
    const rule = childrenOf(run, "changes").get("changes-rule")?.inputs;
    assert.equal(rule?.name, "acme-prod-on-change");
    assert.deepEqual(JSON.parse(String(rule?.eventPattern)), {
      source: ["aws.s3"],
      "detail-type": ["Object Created", "Object Deleted"],
      detail: {
        bucket: { name: ["acme-dev"] },
        object: { key: [{ prefix: "site/" }] },
        reason: [{ "anything-but": ["Lifecycle Expiration"] }],
      },
    });
    const whole = childrenOf(await onChange(), "changes").get("changes-rule")?.inputs;
    assert.deepEqual(JSON.parse(String(whole?.eventPattern)).detail.object, undefined, "no prefix: every key");
  });

  it("starts the machine with the request restricted to the changed key (deleting at most 1), retrying, then to its dead-letter queue", async () => {
    const children = childrenOf(await onChange(), "changes");
    const target = children.get("changes-target")?.inputs as Record<string, any>;
    assert.equal(target.arn, "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod:live");
    assert.deepEqual(target.inputTransformer.inputPaths, { key: "$.detail.object.key" });
    const input = JSON.parse(String(target.inputTransformer.inputTemplate).replace("<key>", JSON.stringify("site/a b.html")));
    assert.deepEqual(input, { ...request, maxDeletes: 1, keys: ["site/a b.html"], keysEncoding: "s3-event" });
    assert.deepEqual(target.retryPolicy, { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
    const queuePolicy = JSON.parse(String(children.get("changes-dlq-policy")?.inputs.policy)) as { Statement: Array<Record<string, any>> };
    assert.deepEqual(
      queuePolicy.Statement.map((s) => [s.Effect, s.Resource, s.Condition?.ArnEquals?.["aws:SourceArn"]]),
      [["Allow", "arn:aws:sqs:eu-west-1:123456789012:acme-prod-on-change-dlq", "arn:aws:events:eu-west-1:123456789012:rule/acme-prod-on-change"]],
    );
  });
});
