/**
 * The Pulumi program (index.ts) for the real dev and prod stack configs, run under mocks: what it
 * creates where, how every bucket is hardened, what every IAM document allows, and that the
 * documents are known at preview time.
 */
import { strict as assert } from "node:assert";
import { HANDLER_NAMES, type HandlerName, type SyncRequest } from "../../model/contract";
import { allStates, type StateMachineDefinition } from "../../infra/asl";
import { buildDefinition } from "../../infra/definition";
import { TASK_TIMEOUT_MARGIN_SECONDS } from "../../infra/handlerSpecs";
import { startExecutionRequestTemplate, syncRequestJsonSchema } from "../../infra/syncRequest";
import { restApiRedeploymentHash } from "../../infra/triggers";
import { BUCKET_NAME_OUTPUT } from "../../infra/source";
import {
  containsUnknown,
  iamDocuments,
  MOCK_ACCOUNT_ID,
  resourcesOfType,
  runProgram,
  overlyBroadGrants,
  UNKNOWN,
  type IamDocument,
  type IamStatement,
  type ProgramRun,
  type RecordedResource,
} from "../helpers/pulumiMocks";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  notification: "aws:s3/bucketNotification:BucketNotification",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  stateMachine: "aws:sfn/stateMachine:StateMachine",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  schedule: "aws:scheduler/schedule:Schedule",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  queue: "aws:sqs/queue:Queue",
  keyPolicy: "aws:kms/keyPolicy:KeyPolicy",
  kmsKey: "aws:kms/key:Key",
  kmsGrant: "aws:kms/grant:Grant",
  restApi: "aws:apigateway/restApi:RestApi",
  apiResource: "aws:apigateway/resource:Resource",
  apiMethod: "aws:apigateway/method:Method",
  apiIntegration: "aws:apigateway/integration:Integration",
  apiModel: "aws:apigateway/model:Model",
  apiValidator: "aws:apigateway/requestValidator:RequestValidator",
  apiStage: "aws:apigateway/stage:Stage",
  busPolicy: "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
  busPermission: "aws:cloudwatch/eventPermission:EventPermission",
} as const;

const DEV_BUCKET = `bucket-sync-${MOCK_ACCOUNT_ID}-dev`;
const PROD_BUCKET = `bucket-sync-${MOCK_ACCOUNT_ID}-prod`;
/** The alias every trigger starts. */
const ALIAS_ARN = `arn:aws:states:eu-west-1:${MOCK_ACCOUNT_ID}:stateMachine:bucket-sync-prod:live`;

/** The sync machine (the stack's other state machine runs on-change batches). */
function syncMachineOf(run: ProgramRun): RecordedResource {
  const found = resourcesOfType(run, T.stateMachine).filter((m) => m.name === "sync-machine-state-machine");
  assert.equal(found.length, 1, "expected one sync machine");
  return found[0];
}

function only(run: ProgramRun, type: string): RecordedResource {
  const found = resourcesOfType(run, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
}

/** Resources registered with this parent (a component's children). */
function children(run: ProgramRun, parent: RecordedResource): RecordedResource[] {
  return run.resources.filter((r) => r.parent === parent.urn);
}

/** The parsed policy of the role policy whose name starts with the given prefix. */
function policyNamed(run: ProgramRun, name: string): IamDocument {
  const policy = resourcesOfType(run, T.rolePolicy).find((r) => r.name === name);
  assert.ok(policy, `no role policy named ${name}`);
  return JSON.parse(String(policy.inputs.policy)) as IamDocument;
}

function statement(document: IamDocument, sid: string): IamStatement {
  const found = document.Statement.find((s) => s.Sid === sid);
  assert.ok(found, `no statement ${sid} in ${JSON.stringify(document)}`);
  return found;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

describe("bucket-sync program", () => {
  let dev: ProgramRun;
  let prod: ProgramRun;

  before(async () => {
    dev = await runProgram({ stack: "dev" });
    prod = await runProgram({ stack: "prod" });
  });

  describe("dev stack", () => {
    it("creates only its hardened bucket: no sync machine, functions, roles or triggers", () => {
      assert.deepEqual(
        resourcesOfType(dev, T.bucket).map((b) => b.inputs.bucket),
        [DEV_BUCKET],
      );
      for (const type of [T.stateMachine, T.fn, T.role, T.schedule, T.rule, T.alarm, T.topic]) {
        assert.equal(resourcesOfType(dev, type).length, 0, `dev has a ${type}`);
      }
    });

    it("sends its bucket's events to EventBridge, as its config asks", () => {
      assert.equal(only(dev, T.notification).inputs.eventbridge, true);
    });

    it("does not protect its bucket (protectBuckets is off)", () => {
      assert.equal(only(dev, T.bucket).protect, false);
    });

    it("exports its bucket's name (which prod's StackReference reads), ARN and account", () => {
      assert.deepEqual(dev.outputs, { bucketName: DEV_BUCKET, bucketArn: `arn:aws:s3:::${DEV_BUCKET}`, accountId: MOCK_ACCOUNT_ID });
      assert.equal(dev.outputs[BUCKET_NAME_OUTPUT], DEV_BUCKET);
    });
  });

  describe("prod stack", () => {
    it("creates the sync machine: one function and role per handler, a state machine with its own role", () => {
      const functions = resourcesOfType(prod, T.fn);
      assert.deepEqual(
        functions.map((f) => f.inputs.name).sort(),
        HANDLER_NAMES.map((h) => `bucket-sync-prod-${h}`).sort(),
      );
      const machine = syncMachineOf(prod);
      assert.equal(machine.inputs.name, "bucket-sync-prod");
      assert.equal(machine.inputs.type, "STANDARD");
      // five function roles and the state machine's, the schedule's, and the on-change pipe's and batch machine's
      assert.equal(resourcesOfType(prod, T.role).length, HANDLER_NAMES.length + 4);
      const roleArns = new Set(functions.map((f) => f.inputs.role));
      assert.equal(roleArns.size, HANDLER_NAMES.length, "each function has a role of its own");
      for (const fn of functions) {
        const [roleUrn] = fn.propertyDependencies.role ?? [];
        assert.equal(prod.resources.find((r) => r.urn === roleUrn)?.outputs.arn, fn.inputs.role, `${fn.name}: role dependency`);
      }
    });

    it("reads the source bucket from the dev stack through a StackReference", () => {
      const reference = only(prod, "pulumi:pulumi:StackReference");
      assert.equal(reference.inputs.name, "organization/bucket-sync/dev");
      assert.equal(prod.outputs.sourceBucketName, DEV_BUCKET);
    });

    it("creates its own bucket and a reports bucket, both protected by config", () => {
      const buckets = resourcesOfType(prod, T.bucket);
      assert.deepEqual(buckets.map((b) => b.inputs.bucket).sort(), [PROD_BUCKET, `${PROD_BUCKET}-reports`]);
      for (const bucket of buckets) assert.equal(bucket.protect, true, `${bucket.name} is not protected`);
    });

    it("protects buckets because of protectBuckets, not because the stack is called prod", async () => {
      const unprotected = await runProgram({ stack: "prod", config: { protectBuckets: "false" } });
      for (const bucket of resourcesOfType(unprotected, T.bucket)) assert.equal(bucket.protect, false);
      const protectedDev = await runProgram({ stack: "dev", config: { protectBuckets: "true" } });
      assert.equal(only(protectedDev, T.bucket).protect, true);
    });

    it("logs the state machine to a log group with retention and traces it with X-Ray", () => {
      const machine = syncMachineOf(prod);
      const logging = machine.inputs.loggingConfiguration as Record<string, unknown>;
      const logGroup = resourcesOfType(prod, T.logGroup).find((g) => g.inputs.name === "/aws/vendedlogs/states/bucket-sync-prod");
      assert.ok(logGroup);
      assert.equal(logGroup.inputs.retentionInDays, 30);
      assert.equal(logging.logDestination, `${String(logGroup.outputs.arn)}:*`);
      assert.deepEqual(machine.inputs.tracingConfiguration, { enabled: true });
    });

    it("gives every function a log group with retention and active tracing", () => {
      for (const fn of resourcesOfType(prod, T.fn)) {
        const logGroupName = `/aws/lambda/${String(fn.inputs.name)}`;
        const logGroup = resourcesOfType(prod, T.logGroup).find((g) => g.inputs.name === logGroupName);
        assert.ok(logGroup, `no log group ${logGroupName}`);
        assert.equal(logGroup.inputs.retentionInDays, 30);
        assert.deepEqual(fn.inputs.loggingConfig, { logFormat: "JSON", logGroup: logGroupName });
        assert.deepEqual(fn.inputs.tracingConfig, { mode: "Active" });
      }
    });

    it("registers as the definition exactly buildDefinition(...) of the functions' published versions and the topic's ARN", () => {
      const functionArns = Object.fromEntries(
        resourcesOfType(prod, T.fn).map((f) => [String(f.inputs.name).replace("bucket-sync-prod-", ""), f.outputs.qualifiedArn]),
      ) as Record<HandlerName, string>;
      for (const fn of resourcesOfType(prod, T.fn)) {
        assert.equal(fn.inputs.publish, true, `${fn.name} publishes a version per change`);
        assert.match(String(fn.outputs.qualifiedArn), /:function:bucket-sync-prod-[a-z-]+:1$/);
      }
      const expected = buildDefinition({
        functionArns,
        notificationTopicArn: String(only(prod, T.topic).outputs.arn),
        maxConcurrency: 16,
        syncRangeTimeoutSeconds: 900,
      });
      assert.deepEqual(JSON.parse(String(syncMachineOf(prod).inputs.definition)), expected);
    });

    it("publishes a state machine version per change and points the live alias at it, all of it", () => {
      const machine = syncMachineOf(prod);
      assert.equal(machine.inputs.publish, true);
      const alias = only(prod, "aws:sfn/alias:Alias");
      assert.equal(alias.inputs.name, "live");
      assert.deepEqual(alias.inputs.routingConfigurations, [{ stateMachineVersionArn: machine.outputs.stateMachineVersionArn, weight: 100 }]);
      assert.equal(alias.outputs.arn, ALIAS_ARN);
    });

    it("gives every Lambda Task a timeout at least TASK_TIMEOUT_MARGIN_SECONDS above its function's", () => {
      const timeoutOf = new Map(resourcesOfType(prod, T.fn).map((f) => [String(f.outputs.qualifiedArn), Number(f.inputs.timeout)]));
      const definition = JSON.parse(String(syncMachineOf(prod).inputs.definition)) as StateMachineDefinition;
      const tasks = allStates(definition).flatMap(({ name, state }) => (state.Type === "Task" ? [{ name, state }] : []));
      const invokes = tasks.filter((t) => String(t.state.Resource).endsWith(":lambda:invoke"));
      assert.ok(invokes.length >= HANDLER_NAMES.length, `only ${invokes.length} Lambda Tasks`);
      for (const { name, state } of invokes) {
        const fnTimeout = timeoutOf.get(String((state.Parameters as Record<string, unknown>).FunctionName));
        assert.ok(fnTimeout, `${name}: calls a function the program did not build`);
        assert.ok(Number(state.TimeoutSeconds) >= fnTimeout + TASK_TIMEOUT_MARGIN_SECONDS, `${name}: Task ${state.TimeoutSeconds} s, function ${fnTimeout} s`);
      }
    });

    it("schedules syncs with the stack's request, retries, a dead-letter queue and a role of its own", () => {
      const schedule = only(prod, T.schedule);
      assert.equal(schedule.inputs.scheduleExpression, "cron(0 3 * * ? *)");
      assert.equal(schedule.inputs.scheduleExpressionTimezone, "Europe/Berlin");
      const target = schedule.inputs.target as Record<string, unknown>;
      assert.equal(target.arn, ALIAS_ARN, "the schedule starts the live alias");
      assert.deepEqual(target.retryPolicy, { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
      const dlq = resourcesOfType(prod, T.queue).find((q) => q.inputs.name === "bucket-sync-prod-schedule-dlq");
      assert.ok(dlq);
      assert.deepEqual(target.deadLetterConfig, { arn: dlq.outputs.arn });
      const request = JSON.parse(String(target.input)) as SyncRequest;
      assert.deepEqual(request.source, { bucket: DEV_BUCKET, prefix: "" });
      assert.deepEqual(request.destination, { bucket: PROD_BUCKET, prefix: "" });
      assert.equal(request.mode, "backup");

      const role = resourcesOfType(prod, T.role).find((r) => r.inputs.arn === target.roleArn || r.outputs.arn === target.roleArn);
      assert.ok(role, "the schedule's role is one of the program's roles");
      const policy = policyNamed(prod, "schedule-policy");
      assert.deepEqual(
        policy.Statement.map((s) => [s.Action, s.Resource]),
        [
          ["states:StartExecution", "arn:aws:states:eu-west-1:123456789012:stateMachine:bucket-sync-prod"],
          ["sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:bucket-sync-prod-schedule-dlq"],
        ],
      );
    });

    it("buffers the dev bucket's object events in a queue that a pipe batches into batch runs, never a run per event", () => {
      const rule = only(prod, T.rule);
      assert.deepEqual(JSON.parse(String(rule.inputs.eventPattern)), {
        source: ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        // Deletions by the dev bucket's own lifecycle rule are never buffered.
        detail: { bucket: { name: [DEV_BUCKET] }, reason: [{ "anything-but": ["Lifecycle Expiration"] }] },
      });
      const target = only(prod, T.target);
      const buffer = resourcesOfType(prod, T.queue).find((q) => q.inputs.name === "bucket-sync-prod-on-change-buffer");
      assert.ok(buffer, "the buffer queue");
      assert.equal(target.inputs.arn, buffer.outputs.arn, "the rule sends events to the queue, not to a state machine");
      const pipe = only(prod, "aws:pipes/pipe:Pipe");
      assert.equal(pipe.inputs.source, buffer.outputs.arn);
      assert.deepEqual((pipe.inputs.sourceParameters as Record<string, unknown>).sqsQueueParameters, { batchSize: 1000, maximumBatchingWindowInSeconds: 60 });
      const batchMachine = resourcesOfType(prod, T.stateMachine).find((m) => m.inputs.name === "bucket-sync-prod-on-change-batch");
      assert.ok(batchMachine);
      assert.equal(pipe.inputs.target, batchMachine.outputs.arn);
      assert.notEqual(pipe.inputs.target, syncMachineOf(prod).outputs.arn);
      const definition = JSON.parse(String(batchMachine.inputs.definition)) as StateMachineDefinition;
      const sync = definition.States["Sync batch"] as unknown as { Resource: string; Parameters: { StateMachineArn: string } };
      assert.equal(sync.Resource, "arn:aws:states:::states:startExecution.sync:2");
      assert.equal(sync.Parameters.StateMachineArn, syncMachineOf(prod).outputs.arn);
      const request = (definition.States["Hold batch"] as unknown as { Parameters: { request: Record<string, unknown> } }).Parameters.request;
      assert.equal(request.maxDeletes, 100, "onChangeMaxDeletes, a count");
      assert.equal(request.notifyOnSuccess, false);
      assert.equal((JSON.parse(String((only(prod, T.schedule).inputs.target as Record<string, unknown>).input)) as SyncRequest).maxDeletes, "10%");
    });

    it("takes the batch settings from config", async () => {
      const run = await runProgram({
        stack: "prod",
        config: { onChangeMaxDeletes: "5", onChangeBatchWindowSeconds: "120", onChangeMaxBatchKeys: "5000", onChangeMaxConcurrentRuns: "3" },
      });
      const pipe = only(run, "aws:pipes/pipe:Pipe");
      assert.deepEqual((pipe.inputs.sourceParameters as Record<string, unknown>).sqsQueueParameters, { batchSize: 5000, maximumBatchingWindowInSeconds: 120 });
      const batchMachine = resourcesOfType(run, T.stateMachine).find((m) => m.inputs.name === "bucket-sync-prod-on-change-batch");
      const text = String(batchMachine?.inputs.definition);
      assert.match(text, /"maxDeletes":5\b/);
      assert.match(text, /":max":\{"N":"3"\}/);
    });

    it("alarms on executions that fail, time out or abort, on backups that stop, and on both dead-letter queues, to the notification topic", () => {
      const topicArn = only(prod, T.topic).outputs.arn;
      const alarms = resourcesOfType(prod, T.alarm);
      assert.deepEqual(alarms.map((a) => a.inputs.name).sort(), [
        "bucket-sync-prod-dead-letters-1",
        "bucket-sync-prod-delete-approval-waiting",
        "bucket-sync-prod-executions-aborted",
        "bucket-sync-prod-executions-failed",
        "bucket-sync-prod-executions-timed-out",
        "bucket-sync-prod-full-run-overdue",
        // the on-change chain's batch machine and dead-letter queue, alarmed by its own component (infra/onChangeBatches.ts)
        "bucket-sync-prod-on-change-batch-executions-failed",
        "bucket-sync-prod-on-change-dlq-not-empty",
        "bucket-sync-prod-source-empty",
        "bucket-sync-prod-source-shrank",
      ]);
      for (const alarm of alarms) {
        assert.deepEqual(alarm.inputs.alarmActions, [topicArn]);
        if (alarm.inputs.namespace === "AWS/States" && !String(alarm.inputs.name).includes("on-change")) assert.deepEqual(alarm.inputs.dimensions, { StateMachineArn: syncMachineOf(prod).outputs.arn });
      }
      // prod runs nightly: twice a day's period
      assert.equal(alarms.find((a) => a.inputs.name === "bucket-sync-prod-full-run-overdue")?.inputs.period, 48 * 3600);
      const queues = alarms.filter((a) => a.inputs.namespace === "AWS/SQS").map((a) => (a.inputs.dimensions as { QueueName: string }).QueueName);
      // every queue but the on-change buffer (which holds events on purpose) is a dead-letter queue, alarmed
      const deadLetterQueues = resourcesOfType(prod, "aws:sqs/queue:Queue").map((q) => String(q.inputs.name)).filter((n) => !n.endsWith("-on-change-buffer"));
      assert.deepEqual(queues.sort(), deadLetterQueues.sort());
    });

    it("gives summarize the delete budget's ledger beside the reports, and lets it write that one object", () => {
      const summarize = resourcesOfType(prod, T.fn).find((f) => f.inputs.name === "bucket-sync-prod-summarize");
      const env = (summarize?.inputs.environment as { variables: Record<string, string> }).variables;
      assert.deepEqual(JSON.parse(env.BUCKET_SYNC_DELETE_BUDGET), {
        bucket: `${PROD_BUCKET}-reports`,
        key: "reports/delete-budget/ledger.json",
        perDay: "10%",
        sourcePrefix: "",
      });
      assert.equal(env.BUCKET_SYNC_METRICS_STACK, "bucket-sync-prod");
      const writes = policyNamed(prod, "sync-machine-summarize-policy").Statement.filter((s) => [s.Action].flat().includes("s3:PutObject"));
      assert.deepEqual(writes.map((s) => s.Resource), [`arn:aws:s3:::${PROD_BUCKET}-reports/reports/delete-budget/ledger.json`]);
    });

    it("draws a dashboard of the state machine and its functions", () => {
      const body = JSON.parse(String(resourcesOfType(prod, T.dashboard).find((d) => d.inputs.dashboardName === "bucket-sync-prod")?.inputs.dashboardBody)) as { widgets: unknown[] };
      const text = JSON.stringify(body);
      assert.ok(text.includes("AWS/States") && text.includes("AWS/Lambda"));
      assert.ok(body.widgets.length >= 5);
    });

    it("exports bucket names and ARNs, the state machine, its console URL and the start command", () => {
      const machineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:bucket-sync-prod";
      assert.equal(prod.outputs.bucketName, PROD_BUCKET);
      assert.equal(prod.outputs.reportsBucketName, `${PROD_BUCKET}-reports`);
      assert.equal(prod.outputs.stateMachineArn, machineArn);
      assert.equal(
        prod.outputs.stateMachineConsoleUrl,
        `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/${encodeURIComponent(machineArn)}`,
      );
      const command = String(prod.outputs.startExecutionCommand);
      const match = /^aws stepfunctions start-execution --region eu-west-1 --state-machine-arn '([^']+)' --input '([^']+)'$/.exec(command);
      assert.ok(match, command);
      assert.equal(match[1], `${machineArn}:live`, "the command starts the live alias, as the triggers do");
      assert.equal(prod.outputs.stateMachineAliasArn, `${machineArn}:live`);
      const request = JSON.parse(match[2]) as SyncRequest;
      assert.deepEqual(request.source, { bucket: DEV_BUCKET, prefix: "" });
    });
  });

  describe("buckets", () => {
    it("hardens every bucket: versioning, encryption, public access block, owner-enforced, TLS-only, noncurrent lifecycle", () => {
      for (const run of [dev, prod]) {
        for (const bucket of resourcesOfType(run, T.bucket)) {
          const component = run.resources.find((r) => r.urn === bucket.parent);
          assert.ok(component, `${bucket.name} has no component`);
          const siblings = children(run, component);
          const sibling = (type: string) => {
            const found = siblings.filter((s) => s.type === type);
            assert.equal(found.length, 1, `${bucket.name}: expected one ${type}`);
            return found[0].inputs;
          };
          assert.deepEqual(sibling(T.versioning).versioningConfiguration, { status: "Enabled" });
          const rule = (sibling(T.encryption).rules as Array<Record<string, unknown>>)[0];
          assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "AES256" });
          const block = sibling(T.publicAccessBlock);
          for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            assert.equal(block[flag], true, `${bucket.name}: ${flag}`);
          }
          assert.deepEqual(sibling(T.ownership).rule, { objectOwnership: "BucketOwnerEnforced" });
          const policy = JSON.parse(String(sibling(T.bucketPolicy).policy)) as IamDocument;
          const insecure = statement(policy, "DenyInsecureTransport");
          assert.equal(insecure.Effect, "Deny");
          assert.deepEqual(insecure.Condition, { Bool: { "aws:SecureTransport": "false" } });
          assert.deepEqual(insecure.Resource, [`arn:aws:s3:::${String(bucket.inputs.bucket)}`, `arn:aws:s3:::${String(bucket.inputs.bucket)}/*`]);
          const lifecycle = (sibling(T.lifecycle).rules as Array<Record<string, unknown>>)[0];
          assert.deepEqual(lifecycle.noncurrentVersionExpiration, { noncurrentDays: 30 });
          assert.equal(lifecycle.status, "Enabled");
        }
      }
    });

    it("encrypts with the configured KMS key, and lets the sync functions use it", async () => {
      const kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      const run = await runProgram({ stack: "prod", config: { kmsKeyArn } });
      for (const encryption of resourcesOfType(run, T.encryption)) {
        const rule = (encryption.inputs.rules as Array<Record<string, unknown>>)[0];
        assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn });
        assert.equal(rule.bucketKeyEnabled, true);
      }
      const kms = statement(policyNamed(run, "sync-machine-sync-range-policy"), "UseBucketKeys");
      assert.deepEqual(kms.Resource, [kmsKeyArn]);
    });

    it("lets sync-range decrypt an SSE-KMS source with sourceKmsKeyArn, only through S3, and no other function", async () => {
      const sourceKmsKeyArn = "arn:aws:kms:eu-west-1:210987654321:key/abcd1234-12ab-34cd-56ef-1234567890ab";
      const run = await runProgram({ stack: "prod", config: { sourceKmsKeyArn } });
      assert.deepEqual(statement(policyNamed(run, "sync-machine-sync-range-policy"), "DecryptSourceThroughS3"), {
        Sid: "DecryptSourceThroughS3",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: sourceKmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
      });
      for (const handler of HANDLER_NAMES.filter((h) => h !== "sync-range")) {
        assert.ok(!JSON.stringify(policyNamed(run, `sync-machine-${handler}-policy`)).includes(sourceKmsKeyArn), handler);
      }
      // two-way writes into the source, so it also encrypts with the source's key
      const twoWay = await runProgram({ stack: "prod", config: { sourceKmsKeyArn, mode: "two-way", onChangeSync: "false" } });
      assert.deepEqual(
        statement(policyNamed(twoWay, "sync-machine-sync-range-policy"), "UseSourceKeyThroughS3").Action,
        ["kms:Decrypt", "kms:GenerateDataKey"],
      );
      // without it, no KMS grant at all
      assert.ok(!JSON.stringify(policyNamed(prod, "sync-machine-sync-range-policy")).includes("kms:"));
    });

    it("expires reports after reportRetentionDays", () => {
      const reports = resourcesOfType(prod, T.bucket).find((b) => String(b.inputs.bucket).endsWith("-reports"));
      assert.ok(reports);
      const component = prod.resources.find((r) => r.urn === reports.parent);
      assert.ok(component);
      const lifecycle = children(prod, component).find((r) => r.type === T.lifecycle);
      assert.ok(lifecycle);
      assert.deepEqual((lifecycle.inputs.rules as Array<Record<string, unknown>>)[0].expiration, { days: 90 });
    });
  });

  describe("IAM documents", () => {
    it("never allow a wildcard action, nor an S3 action on a wildcard bucket or `*`", async () => {
      const mirror = await runProgram({ stack: "prod", config: { mode: "mirror" } });
      const twoWay = await runProgram({ stack: "prod", config: { mode: "two-way", onChangeSync: "false" } });
      for (const run of [dev, prod, mirror, twoWay]) {
        const documents = iamDocuments(run);
        assert.ok(documents.length > 0);
        for (const { resource, property, document } of documents) {
          assert.ok(document, `${resource.name}.${property} is not known`);
          assert.deepEqual(overlyBroadGrants(document), [], `${resource.name}.${property}`);
        }
      }
    });

    it("let only states.amazonaws.com, for this account, assume the state machine's role", () => {
      const machine = syncMachineOf(prod);
      const role = resourcesOfType(prod, T.role).find((r) => r.outputs.arn === machine.inputs.roleArn);
      assert.ok(role);
      const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as IamDocument;
      assert.equal(trust.Statement.length, 1);
      assert.deepEqual(trust.Statement[0], {
        Effect: "Allow",
        Principal: { Service: "states.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
      });
    });

    it("let only lambda.amazonaws.com assume the function roles", () => {
      for (const fn of resourcesOfType(prod, T.fn)) {
        const role = resourcesOfType(prod, T.role).find((r) => r.outputs.arn === fn.inputs.role);
        assert.ok(role, `${fn.name} has no role of the program`);
        const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as IamDocument;
        assert.deepEqual(
          trust.Statement.map((s) => s.Principal),
          [{ Service: "lambda.amazonaws.com" }],
        );
      }
    });

    it("let the state machine invoke exactly its functions, publish to its topic and run, stop and redrive its own map runs", () => {
      const policy = policyNamed(prod, "sync-machine-policy");
      assert.deepEqual(
        [...asList(statement(policy, "InvokeSyncFunctions").Resource)].sort(),
        // Every published version of each function: a run started before a deploy still invokes its own.
        resourcesOfType(prod, T.fn).map((f) => `${f.outputs.arn}:*`).sort(),
      );
      assert.equal(statement(policy, "PublishNotifications").Resource, only(prod, T.topic).outputs.arn);
      assert.equal(statement(policy, "StartDistributedMapChildren").Resource, syncMachineOf(prod).outputs.arn);
      // As "IAM policies for using Distributed Map states" documents: parent and child executions.
      assert.deepEqual(statement(policy, "ManageDistributedMapExecutions"), {
        Sid: "ManageDistributedMapExecutions",
        Effect: "Allow",
        Action: ["states:DescribeExecution", "states:StopExecution"],
        Resource: [
          "arn:aws:states:eu-west-1:123456789012:execution:bucket-sync-prod:*",
          "arn:aws:states:eu-west-1:123456789012:execution:bucket-sync-prod/*",
        ],
      });
      assert.deepEqual(statement(policy, "RedriveDistributedMapRuns").Action, "states:RedriveExecution");
      assert.equal(statement(policy, "RedriveDistributedMapRuns").Resource, "arn:aws:states:eu-west-1:123456789012:execution:bucket-sync-prod/*");
    });

    it("scope sync-range to the two buckets' prefixes, with deletes only in mirror mode", async () => {
      const prefixes = { sourcePrefix: "data/", destinationPrefix: "backup/dev/", onChangeSync: "false" };
      const backup = policyNamed(await runProgram({ stack: "prod", config: prefixes }), "sync-machine-sync-range-policy");
      assert.deepEqual(statement(backup, "ListSourcePrefix"), {
        Sid: "ListSourcePrefix",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: `arn:aws:s3:::${DEV_BUCKET}`,
        Condition: { StringLike: { "s3:prefix": ["data/", "data/*"] } },
      });
      assert.equal(statement(backup, "ReadSourceObjects").Resource, `arn:aws:s3:::${DEV_BUCKET}/data/*`);
      assert.equal(statement(backup, "WriteDestinationObjects").Resource, `arn:aws:s3:::${PROD_BUCKET}/backup/dev/*`);
      assert.ok(!JSON.stringify(backup).includes("s3:DeleteObject"));

      const mirror = policyNamed(
        await runProgram({ stack: "prod", config: { ...prefixes, mode: "mirror" } }),
        "sync-machine-sync-range-policy",
      );
      assert.ok(asList(statement(mirror, "WriteAndDeleteDestinationObjects").Action).includes("s3:DeleteObject"));
    });

    it("are all fully known in a preview, so the policy pack can check them", async () => {
      const preview = await runProgram({ stack: "prod", preview: true });
      const documents = iamDocuments(preview);
      assert.ok(documents.length >= 10);
      for (const { resource, property, text } of documents) {
        assert.ok(!containsUnknown(text), `${resource.name}.${property} is unknown at preview`);
      }
      // ...while what AWS computes is unknown, as in a real preview.
      assert.equal(syncMachineOf(preview).inputs.definition, UNKNOWN);
      assert.equal(preview.outputs.stateMachineArn, UNKNOWN);
    });

    it("stay known at preview with an explicit source bucket instead of a StackReference", async () => {
      const preview = await runProgram({
        stack: "prod",
        preview: true,
        config: { sourceStack: undefined, sourceBucket: "legacy-data-bucket" },
      });
      assert.equal(resourcesOfType(preview, "pulumi:pulumi:StackReference").length, 0);
      const policy = iamDocuments(preview).find((d) => d.resource.name === "sync-machine-sync-range-policy");
      assert.ok(policy?.document);
      assert.equal(statement(policy.document, "ReadSourceObjects").Resource, "arn:aws:s3:::legacy-data-bucket/*");
    });
  });

  describe("REST trigger (apiTrigger)", () => {
    let api: ProgramRun;
    const MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:bucket-sync-prod";

    before(async () => {
      api = await runProgram({ stack: "prod", config: { apiTrigger: "true" } });
    });

    it("is a REST API with POST /syncs, AWS_IAM authorization and a validated SyncRequest body", () => {
      const restApi = only(api, T.restApi);
      assert.equal(restApi.inputs.name, "bucket-sync-prod-api");
      const resource = only(api, T.apiResource);
      assert.equal(resource.inputs.pathPart, "syncs");
      assert.equal(resource.inputs.parentId, restApi.outputs.rootResourceId);
      const method = only(api, T.apiMethod);
      assert.equal(method.inputs.httpMethod, "POST");
      assert.equal(method.inputs.authorization, "AWS_IAM");
      const validator = only(api, T.apiValidator);
      assert.equal(validator.inputs.validateRequestBody, true);
      assert.equal(method.inputs.requestValidatorId, validator.outputs.id ?? `${validator.name}-id`);
      const model = only(api, T.apiModel);
      assert.deepEqual(method.inputs.requestModels, { "application/json": model.inputs.name });
      // The stack's ceiling as a gate: the same ceiling validate-input is given.
      const validateInput = api.resources.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "bucket-sync-prod-validate-input");
      const ceiling = JSON.parse((validateInput?.inputs.environment as { variables: Record<string, string> }).variables.BUCKET_SYNC_REQUEST_CEILING);
      assert.deepEqual(JSON.parse(String(model.inputs.schema)), syncRequestJsonSchema(ceiling));
      assert.deepEqual((JSON.parse(String(model.inputs.schema)) as { properties: { mode: unknown } }).properties.mode, { type: "string", enum: ["backup"] });
    });

    it("integrates straight with Step Functions StartExecution for this machine, through a role allowed only that", () => {
      const integration = only(api, T.apiIntegration);
      assert.equal(integration.inputs.type, "AWS");
      assert.equal(integration.inputs.integrationHttpMethod, "POST");
      assert.equal(integration.inputs.uri, "arn:aws:apigateway:eu-west-1:states:action/StartExecution");
      assert.equal(integration.inputs.passthroughBehavior, "NEVER");
      assert.deepEqual(integration.inputs.requestTemplates, { "application/json": startExecutionRequestTemplate(`${MACHINE}:live`) });
      const role = resourcesOfType(api, T.role).find((r) => r.outputs.arn === integration.inputs.credentials);
      assert.ok(role, "the integration's credentials are a role of the program");
      assert.equal(role.inputs.name, "bucket-sync-prod-api");
      assert.deepEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement, [
        {
          Effect: "Allow",
          Principal: { Service: "apigateway.amazonaws.com" },
          Action: "sts:AssumeRole",
          // API Gateway sets no aws:SourceAccount for an integration's credentials role.
        },
      ]);
      assert.deepEqual(policyNamed(api, "api-policy").Statement, [
        { Sid: "StartSync", Effect: "Allow", Action: "states:StartExecution", Resource: MACHINE },
      ]);
      // No Lambda in between: the functions are the sync machine's five.
      assert.equal(resourcesOfType(api, T.fn).length, HANDLER_NAMES.length);
    });

    it("redeploys whenever any resource that defines the API changes: the trigger hashes the inputs of every one of them", async () => {
      const definingTypes = [T.apiResource, T.apiModel, T.apiValidator, T.apiMethod, T.apiIntegration, "aws:apigateway/methodResponse:MethodResponse", "aws:apigateway/integrationResponse:IntegrationResponse"];
      const defining = api.resources.filter((r) => definingTypes.includes(r.type));
      assert.equal(defining.length, 5 + 3 * 2, defining.map((r) => r.name).join(", "));
      const recorded = Object.fromEntries(defining.map((r) => [r.name, r.inputs]));
      const deployment = only(api, "aws:apigateway/deployment:Deployment");
      const trigger = (deployment.inputs.triggers as { redeployment: string }).redeployment;
      assert.equal(trigger, restApiRedeploymentHash(recorded), "the trigger is the hash of exactly what the defining resources were given");
      // Any one changed input anywhere (a validator flag, a response's pattern, the credentials, the model) gives another trigger.
      for (const resource of defining) {
        for (const key of Object.keys(resource.inputs)) {
          const changed = { ...recorded, [resource.name]: { ...resource.inputs, [key]: `${JSON.stringify(resource.inputs[key])}-changed` } };
          assert.notEqual(restApiRedeploymentHash(changed), trigger, `${resource.name}.${key}`);
        }
      }
      // The stage serves that deployment.
      assert.equal(only(api, T.apiStage).inputs.deployment, deployment.outputs.id);
    });

    it("exports its URL", () => {
      const id = String(only(api, T.restApi).outputs.id);
      assert.equal(api.outputs.apiUrl, `https://${id}.execute-api.eu-west-1.amazonaws.com/v1/syncs`);
      assert.equal(only(api, T.apiStage).inputs.stageName, "v1");
    });

    it("is absent unless apiTrigger is true", () => {
      for (const type of [T.restApi, T.apiMethod, T.apiIntegration]) assert.equal(resourcesOfType(prod, type).length, 0);
      assert.equal(prod.outputs.apiUrl, undefined);
    });
  });

  describe("dev and prod in different accounts", () => {
    const PROD_ACCOUNT = "210987654321";
    const DEV_ACCOUNT = MOCK_ACCOUNT_ID;
    const KEY = `arn:aws:kms:eu-west-1:${DEV_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const role = (handler: string) => `arn:aws:iam::${PROD_ACCOUNT}:role/bucket-sync-prod-${handler}`;
    let crossDev: ProgramRun;

    before(async () => {
      crossDev = await runProgram({ stack: "dev", config: { backupAccountId: PROD_ACCOUNT, kmsKeyArn: KEY } });
    });

    const bucketPolicy = (run: ProgramRun) => JSON.parse(String(only(run, T.bucketPolicy).inputs.policy)) as IamDocument;

    const PROD_ROOT = `arn:aws:iam::${PROD_ACCOUNT}:root`;
    /** Prod's account, narrowed to these roles by their ARNs. */
    const asRoles = (...handlers: string[]) => ({
      Principal: { AWS: PROD_ROOT },
      Condition: { ArnEquals: { "aws:PrincipalArn": handlers.length === 1 ? role(handlers[0]) : handlers.map(role) } },
    });

    it("dev: the bucket policy lets prod's sync roles list the bucket and read its objects, and nothing more: prod's root on condition of each role's ARN", () => {
      const grants = bucketPolicy(crossDev).Statement.filter((s) => s.Effect === "Allow");
      assert.deepEqual(grants, [
        { Sid: "BackupValidateInputListsBucket", Effect: "Allow", ...asRoles("validate-input"), Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${DEV_BUCKET}` },
        { Sid: "BackupPlanPartitionsListsBucket", Effect: "Allow", ...asRoles("plan-partitions"), Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${DEV_BUCKET}` },
        { Sid: "BackupSyncRangeListsBucket", Effect: "Allow", ...asRoles("sync-range"), Action: ["s3:ListBucket"], Resource: `arn:aws:s3:::${DEV_BUCKET}` },
        {
          Sid: "BackupSyncRangeReadsObjects",
          Effect: "Allow",
          ...asRoles("sync-range"),
          Action: ["s3:GetObject", "s3:GetObjectTagging"],
          Resource: `arn:aws:s3:::${DEV_BUCKET}/*`,
        },
      ]);
      // The TLS guard stays.
      assert.deepEqual(bucketPolicy(crossDev).Statement.filter((s) => s.Effect === "Deny").map((s) => s.Sid), ["DenyInsecureTransport", "DenyTlsBelow1_2"]);
    });

    it("dev: deploys before prod: no grant names a principal that must already exist, only prod's account root", () => {
      const principals = [
        ...bucketPolicy(crossDev).Statement.filter((s) => s.Effect === "Allow").map((s) => (s.Principal as { AWS: string }).AWS),
        String(only(crossDev, T.kmsGrant).inputs.granteePrincipal),
      ];
      assert.deepEqual([...new Set(principals)], [PROD_ROOT]);
      assert.doesNotMatch(JSON.stringify(bucketPolicy(crossDev).Statement.map((s) => s.Principal)), /:role\//);
    });

    it("dev: grants exactly the roles prod creates, under the names prod gives them; prod replaces them under the same names (delete before replace), which the ARN conditions match again", async () => {
      const prodRun = await runProgram({ stack: "prod", config: { sourceStack: undefined, sourceBucket: DEV_BUCKET, sourceAccountId: DEV_ACCOUNT } });
      // the functions' roles (the on-change chain's pipe and batch machine have roles of their own)
      const prodRoles = resourcesOfType(prodRun, T.role).filter((r) => HANDLER_NAMES.some((h) => r.inputs.name === `bucket-sync-prod-${h}`));
      const prodRoleNames = new Set(prodRoles.map((r) => String(r.inputs.name)));
      for (const statement of bucketPolicy(crossDev).Statement.filter((s) => s.Effect === "Allow")) {
        const arn = String(statement.Condition!.ArnEquals["aws:PrincipalArn"]);
        assert.ok(prodRoleNames.has(arn.split("/").pop()!), `${arn} is not a role prod creates`);
      }
      assert.equal(prodRoles.length, HANDLER_NAMES.length);
      for (const fnRole of prodRoles) assert.equal(fnRole.deleteBeforeReplace, true, `${fnRole.name} would fail with EntityAlreadyExists on replacement`);
    });

    it("dev: never re-policies a key it did not create: a grant lets prod's account decrypt, only for this bucket's S3 encryption context", () => {
      assert.equal(resourcesOfType(crossDev, T.keyPolicy).length, 0);
      assert.equal(resourcesOfType(crossDev, T.kmsKey).length, 0);
      const grant = only(crossDev, T.kmsGrant);
      assert.equal(grant.inputs.keyId, KEY);
      assert.equal(grant.inputs.granteePrincipal, PROD_ROOT);
      assert.deepEqual(grant.inputs.operations, ["Decrypt"]);
      assert.deepEqual(grant.inputs.constraints, [{ encryptionContextEquals: { "aws:s3:arn": `arn:aws:s3:::${DEV_BUCKET}` } }]);
      // That context is the bucket's ARN only with an S3 Bucket Key, which the bucket uses.
      const encryption = only(crossDev, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
      assert.equal((encryption.inputs.rules as Array<{ bucketKeyEnabled: boolean }>)[0].bucketKeyEnabled, true);
    });

    it("dev: exports the key-policy statement the key's owner may add instead of the grant", () => {
      assert.deepEqual(JSON.parse(String(crossDev.outputs.backupKeyPolicyStatement)), {
        Sid: "BackupRolesDecryptThroughS3",
        Effect: "Allow",
        Principal: { AWS: PROD_ROOT },
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: { ArnEquals: { "aws:PrincipalArn": role("sync-range") }, StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
      });
    });

    it("dev with createKmsKey: the stack's own key encrypts the bucket, and its policy keeps IAM in charge and lets prod's reader decrypt, only through S3", async () => {
      const run = await runProgram({ stack: "dev", config: { backupAccountId: PROD_ACCOUNT, createKmsKey: "true" } });
      const key = only(run, T.kmsKey);
      assert.equal(key.inputs.enableKeyRotation, true);
      const document = JSON.parse(String(key.inputs.policy)) as IamDocument;
      assert.deepEqual(statement(document, "EnableIamPoliciesOfTheKeyAccount").Principal, { AWS: `arn:aws:iam::${DEV_ACCOUNT}:root` });
      assert.deepEqual(statement(document, "BackupRolesDecryptThroughS3"), JSON.parse(String(crossDev.outputs.backupKeyPolicyStatement)));
      assert.equal(resourcesOfType(run, T.kmsGrant).length, 0);
      const encryption = only(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
      const rule = (encryption.inputs.rules as Array<{ applyServerSideEncryptionByDefault: { kmsMasterKeyId: string } }>)[0];
      assert.equal(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId, key.outputs.arn);
      assert.equal(run.outputs.kmsKeyArn, key.outputs.arn);
      // Without a backup account, the key's policy is the default statement alone.
      const alone = only(await runProgram({ stack: "dev", config: { createKmsKey: "true" } }), T.kmsKey);
      assert.deepEqual(JSON.parse(String(alone.inputs.policy)).Statement.map((s: { Sid: string }) => s.Sid), ["EnableIamPoliciesOfTheKeyAccount"]);
    });

    it("dev: forwards the bucket's object events, lifecycle expirations left out, to prod's default bus through a role of its own", () => {
      const rule = only(crossDev, T.rule);
      assert.deepEqual(JSON.parse(String(rule.inputs.eventPattern)), {
        source: ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        detail: { bucket: { name: [DEV_BUCKET] }, reason: [{ "anything-but": ["Lifecycle Expiration"] }] },
      });
      const target = only(crossDev, T.target);
      assert.equal(target.inputs.arn, `arn:aws:events:eu-west-1:${PROD_ACCOUNT}:event-bus/default`);
      const forwardingRole = only(crossDev, T.role);
      assert.equal(target.inputs.roleArn, forwardingRole.outputs.arn);
      assert.deepEqual(JSON.parse(String(forwardingRole.inputs.assumeRolePolicy)).Statement[0].Principal, { Service: "events.amazonaws.com" });
      assert.deepEqual(policyNamed(crossDev, "event-forwarding-policy").Statement, [
        { Sid: "PutEventsOnBackupBus", Effect: "Allow", Action: "events:PutEvents", Resource: `arn:aws:events:eu-west-1:${PROD_ACCOUNT}:event-bus/default` },
      ]);
    });

    it("dev: without backupAccountId none of it", async () => {
      assert.deepEqual(bucketPolicy(dev).Statement.filter((s) => s.Effect === "Allow"), []);
      for (const type of [T.keyPolicy, T.kmsGrant, T.kmsKey, T.rule, T.target, T.role]) assert.equal(resourcesOfType(dev, type).length, 0, type);
      assert.equal(dev.outputs.backupKeyPolicyStatement, undefined);
    });

    it("dev: refuses backupAccountId equal to its own account, naming the key and the fix, before declaring anything", async () => {
      await assert.rejects(runProgram({ stack: "dev", config: { backupAccountId: DEV_ACCOUNT, kmsKeyArn: KEY } }), (err: Error) => {
        assert.match(err.message, /bucket-sync:backupAccountId: is this stack's own account \(123456789012\).*remove backupAccountId/s);
        return true;
      });
    });

    it("prod: a source in another account (sourceAccountId) gets one permission statement on the default bus, beside the bus's others, and the on-change rule matches its events", async () => {
      const run = await runProgram({ stack: "prod", config: { sourceStack: undefined, sourceBucket: DEV_BUCKET, sourceAccountId: "111122223333" } });
      assert.equal(resourcesOfType(run, T.busPolicy).length, 0, "a whole bus policy would replace every other statement");
      const permission = only(run, T.busPermission);
      assert.deepEqual(
        { bus: permission.inputs.eventBusName, principal: permission.inputs.principal, action: permission.inputs.action, sid: permission.inputs.statementId },
        { bus: "default", principal: "111122223333", action: "events:PutEvents", sid: "bucket-sync-prod-from-111122223333" },
      );
      assert.deepEqual(JSON.parse(String(only(run, T.rule).inputs.eventPattern)).account, ["111122223333"]);
      assert.equal(run.outputs.sourceAccountId, "111122223333");
    });

    it("prod: takes the source account from the dev stack's accountId output", async () => {
      const run = await runProgram({
        stack: "prod",
        stackOutputs: { "organization/bucket-sync/dev": { bucketName: DEV_BUCKET, accountId: "111122223333" } },
      });
      assert.equal(resourcesOfType(run, T.busPermission).length, 1);
      assert.deepEqual(JSON.parse(String(only(run, T.rule).inputs.eventPattern)).account, ["111122223333"]);
    });

    it("dev exports its bucket's KMS key, and prod decrypts with it through S3 unless sourceKmsKeyArn says otherwise", async () => {
      assert.equal(crossDev.outputs.kmsKeyArn, KEY);
      const outputs = { "organization/bucket-sync/dev": { bucketName: DEV_BUCKET, accountId: "111122223333", kmsKeyArn: KEY } };
      const fromDev = await runProgram({ stack: "prod", stackOutputs: outputs });
      assert.equal(statement(policyNamed(fromDev, "sync-machine-sync-range-policy"), "DecryptSourceThroughS3").Resource, KEY);
      const other = `arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab`;
      const configured = await runProgram({ stack: "prod", stackOutputs: outputs, config: { sourceKmsKeyArn: other } });
      assert.equal(statement(policyNamed(configured, "sync-machine-sync-range-policy"), "DecryptSourceThroughS3").Resource, other);
    });

    it("prod: warns that two-way cannot write into a source in another account", async () => {
      const run = await runProgram({
        stack: "prod",
        config: { sourceStack: undefined, sourceBucket: DEV_BUCKET, sourceAccountId: "111122223333", mode: "two-way", onChangeSync: "false" },
      });
      assert.ok(run.warnings.some((w) => /^bucket-sync:mode two-way writes into the source bucket, which is in another account/.test(w)), run.warnings.join("\n"));
      assert.deepEqual(
        (await runProgram({ stack: "prod", config: { mode: "two-way", onChangeSync: "false" } })).warnings,
        [],
        "not in one account",
      );
    });

    it("prod: a source in its own account leaves the bus and the rule as they were", () => {
      assert.equal(resourcesOfType(prod, T.busPolicy).length + resourcesOfType(prod, T.busPermission).length, 0);
      assert.equal(JSON.parse(String(only(prod, T.rule).inputs.eventPattern)).account, undefined);
      assert.equal(prod.outputs.sourceAccountId, MOCK_ACCOUNT_ID);
    });

    it("prod: names each function role after its function, so the source account can grant it", () => {
      for (const handler of HANDLER_NAMES) {
        const fn = resourcesOfType(prod, T.fn).find((f) => f.inputs.name === `bucket-sync-prod-${handler}`);
        const fnRole = resourcesOfType(prod, T.role).find((r) => r.outputs.arn === fn?.inputs.role);
        assert.equal(fnRole?.inputs.name, `bucket-sync-prod-${handler}`);
      }
    });
  });

  describe("configuration", () => {
    it("fails a bad value with a message that names the key", async () => {
      await assert.rejects(runProgram({ stack: "prod", config: { mode: "sideways" } }), (err: Error) => {
        assert.match(err.message, /bucket-sync:mode: must be one of backup, mirror, two-way \(got "sideways"\)/);
        return true;
      });
    });

    it("fails when the source stack has not exported its bucket name, naming the output", async () => {
      await assert.rejects(runProgram({ stack: "prod", stackOutputs: {} }), /bucketName/);
    });

    it("warns when a stack that can ask for delete approval has no notification subscribers", async () => {
      assert.deepEqual(prod.warnings, []);
      assert.deepEqual(dev.warnings, []);
      const mirror = await runProgram({ stack: "prod", config: { mode: "mirror" } });
      assert.equal(mirror.warnings.length, 1);
      assert.match(mirror.warnings[0], /^bucket-sync:notificationEmails is empty, but bucket-sync:mode mirror can ask for delete approval/);
      const subscribed = await runProgram({ stack: "prod", config: { mode: "mirror", notificationEmails: '["ops@example.com"]' } });
      assert.equal(subscribed.warnings.length, 1, subscribed.warnings.join("\n"));
      assert.doesNotMatch(subscribed.warnings[0], /is empty/);
    });

    it("warns that email subscriptions stay pending until confirmed, and what a delete approval does meanwhile", async () => {
      const mirror = await runProgram({ stack: "prod", config: { mode: "mirror", notificationEmails: '["ops@example.com","oncall@example.com"]' } });
      assert.equal(resourcesOfType(mirror, T.subscription).length, 2);
      assert.deepEqual(mirror.warnings.length, 1);
      assert.match(mirror.warnings[0], /^bucket-sync:notificationEmails: each address \(ops@example.com, oncall@example.com\) gets a confirmation mail from SNS and receives nothing .* until it follows the link; until then the subscription is PendingConfirmation\./);
      assert.match(mirror.warnings[0], /delete-approval request published meanwhile reaches nobody: the run waits up to 24 h, then fails .* nothing deleted/);
      assert.match(mirror.warnings[0], /aws sns list-subscriptions-by-topic/);
      const backup = await runProgram({ stack: "prod", config: { notificationEmails: '["ops@example.com"]' } });
      assert.equal(backup.warnings.length, 1);
      assert.doesNotMatch(backup.warnings[0], /delete-approval/, "a backup never asks");
    });

    it("runs the program again and again in one process, each run with its own config", async () => {
      const backup = await runProgram({ stack: "prod", config: { handlerPackaging: "bundle" } });
      const noSchedule = await runProgram({ stack: "prod", config: { schedule: "" } });
      assert.equal(resourcesOfType(backup, T.schedule).length, 1);
      assert.equal(resourcesOfType(noSchedule, T.schedule).length, 0);
      assert.equal(resourcesOfType(await runProgram({ stack: "dev" }), T.stateMachine).length, 0);
    });
  });
});
