/**
 * Syncs what changes in the source bucket in batches, one run per batch rather than one per object:
 *
 * ```
 * S3 object event -> EventBridge rule (Created/Deleted, not lifecycle) -> SQS buffer queue
 *   -> EventBridge Pipe (batching window, batch size) -> on-change batch machine, one execution
 *   per batch (a run slot, then one sync machine run over the batch's keys)
 * ```
 *
 * All AWS-native, no function polls anything. The queue is the durable buffer: SQS keeps an event
 * until the pipe has handed it to a batch execution, and the pipe gathers events until the window
 * ends, the batch size is reached, or the batch would pass 256 KiB, the most a Step Functions
 * target takes ("Amazon EventBridge Pipes batching and concurrency",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html; "Amazon
 * SQS as a source", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html).
 * The pipe starts the Standard batch machine asynchronously (`FIRE_AND_FORGET`, the only way a pipe
 * starts a Standard workflow); the batch machine limits how many runs go at once
 * (infra/onChangeDefinition.ts says how and why).
 *
 * No event is lost: a message the pipe cannot deliver returns to the queue and, after
 * MAX_RECEIVES attempts, moves to the dead-letter queue; the rule parks events it could not
 * deliver there too; a batch whose run fails returns its events there; and an alarm fires on any
 * message in it. The stack's scheduled full run is the safety net under all of it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SyncRequest } from "../model/contract";
import { ON_CHANGE_RECORD_TEMPLATE } from "../model/onChange";
import {
  onChangeBatchMachinePolicy,
  onChangeBufferQueuePolicy,
  onChangeDeadLetterQueuePolicy,
  onChangePipePolicy,
  pipesTrustPolicy,
  stateMachineTrustPolicy,
} from "./iamDocuments";
import { arns, type AwsScope } from "./names";
import { buildOnChangeDefinition } from "./onChangeDefinition";
import { onChangeEventPattern } from "./triggers";

export { ON_CHANGE_RECORD_TEMPLATE };

/** A message the pipe could not hand over this many times moves to the dead-letter queue. */
export const MAX_RECEIVES = 5;
/** The SQS maximum: failed events wait 14 days for someone to redrive them. */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;
/**
 * How long a buffered event may wait: the pipe reads it within a window, but a pipe stopped by
 * hand must not lose its backlog before someone notices (the SQS maximum).
 */
const BUFFER_RETENTION_SECONDS = 14 * 24 * 60 * 60;
/** The managed rule through which a `.sync` integration learns that a run ended. */
const SYNC_INTEGRATION_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule";

export interface OnChangeBatchesArgs {
  scope: pulumi.Input<AwsScope>;
  /** Physical names, fixed so every policy can name what it grants before it exists. */
  names: {
    rule: string;
    queue: string;
    deadLetterQueue: string;
    pipe: string;
    batchMachine: string;
    runSlotsTable: string;
    /** The notification topic's name (the topic itself is `notificationTopic`). */
    notificationTopic: string;
  };
  /** The bucket whose changes are synced; it sends its events to EventBridge (see OnChangeSyncArgs). */
  sourceBucket: pulumi.Input<string>;
  /** Only keys under this prefix are synced; events for others are dropped and counted. @default "" */
  sourcePrefix?: string;
  /** The source bucket's account when it is not this one (its events arrive forwarded). @default this account */
  sourceAccountId?: string;
  /** The sync machine every batch run is an execution of. */
  syncMachine: aws.sfn.StateMachine;
  /** The stack's request; a batch run adds its batch and its delete limit. */
  request: pulumi.Input<SyncRequest>;
  /** Most objects a batch run deletes without approval. @default 100 */
  maxDeletes?: number;
  /** How long the pipe gathers events. @default 60 */
  batchWindowSeconds?: number;
  /** Most events in one batch. @default 1000 */
  maxBatchKeys?: number;
  /** Most batch runs at once. @default 1 */
  maxConcurrentRuns?: number;
  /** Failed batches and the dead-letter alarm are announced here. */
  notificationTopic: aws.sns.Topic;
  /** Names the dashboard. */
  dashboardName: string;
  region: string;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The on-change chain: rule, buffer queue, pipe, batch machine, run slots, dead-letter queue, alarm and dashboard. */
export class OnChangeBatches extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly pipe: aws.pipes.Pipe;
  readonly batchMachine: aws.sfn.StateMachine;
  readonly runSlots: aws.dynamodb.Table;
  readonly deadLetterAlarm: aws.cloudwatch.MetricAlarm;
  readonly failedBatchesAlarm: aws.cloudwatch.MetricAlarm;
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: OnChangeBatchesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:OnChangeBatches", name, args, opts);
    const scope = pulumi.output(args.scope);
    const n = args.names;
    const tags = args.tags;

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      { name: n.deadLetterQueue, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS, sqsManagedSseEnabled: true, tags },
      { parent: this },
    );
    this.queue = new aws.sqs.Queue(
      `${name}-buffer`,
      {
        name: n.queue,
        messageRetentionSeconds: BUFFER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
        // Starting an execution takes well under this; a message in flight longer is redelivered.
        visibilityTimeoutSeconds: 300,
        redrivePolicy: this.deadLetterQueue.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES })),
        tags,
      },
      { parent: this },
    );
    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        name: n.rule,
        description: "Buffers each object event of the source bucket for the on-change batches.",
        eventPattern: pulumi
          .output(args.sourceBucket)
          // No prefix here: events outside the source prefix reach the batch, which drops and
          // counts them (its report says how many), rather than vanishing uncounted in the rule.
          .apply((bucket) => JSON.stringify(onChangeEventPattern(bucket, "", args.sourceAccountId))),
        tags,
      },
      { parent: this },
    );
    const bufferPolicy = new aws.sqs.QueuePolicy(
      `${name}-buffer-policy`,
      {
        queueUrl: this.queue.url,
        policy: scope.apply((s) => JSON.stringify(onChangeBufferQueuePolicy({ queueArn: arns.sqsQueue(s, n.queue), ruleArn: arns.eventRule(s, n.rule) }))),
      },
      { parent: this },
    );
    const deadLetterPolicy = new aws.sqs.QueuePolicy(
      `${name}-dlq-policy`,
      {
        queueUrl: this.deadLetterQueue.url,
        policy: scope.apply((s) =>
          JSON.stringify(onChangeDeadLetterQueuePolicy({ queueArn: arns.sqsQueue(s, n.deadLetterQueue), ruleArn: arns.eventRule(s, n.rule) })),
        ),
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        arn: this.queue.arn,
        // The whole event goes into the queue; the pipe picks the fields a run needs.
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [bufferPolicy, deadLetterPolicy] },
    );

    this.runSlots = new aws.dynamodb.Table(
      `${name}-run-slots`,
      {
        name: n.runSlotsTable,
        billingMode: "PAY_PER_REQUEST",
        hashKey: "id",
        attributes: [{ name: "id", type: "S" }],
        serverSideEncryption: { enabled: true },
        tags,
      },
      { parent: this },
    );

    const batchRole = new aws.iam.Role(
      `${name}-batch-role`,
      {
        name: n.batchMachine,
        description: "Lets the on-change batch machine take a run slot, run the sync machine on a batch, and return failed batches.",
        assumeRolePolicy: scope.apply((s) => JSON.stringify(stateMachineTrustPolicy(s.accountId))),
        tags,
      },
      { parent: this },
    );
    const batchPolicy = new aws.iam.RolePolicy(
      `${name}-batch-policy`,
      {
        role: batchRole.id,
        policy: pulumi.all([scope, args.syncMachine.name]).apply(([s, machine]) =>
          JSON.stringify(
            onChangeBatchMachinePolicy({
              runSlotsTableArn: arns.dynamoTable(s, n.runSlotsTable),
              syncMachineArn: arns.stateMachine(s, machine),
              syncExecutionsArn: arns.executions(s, machine),
              managedRuleArn: arns.eventRule(s, SYNC_INTEGRATION_RULE),
              deadLetterQueueArn: arns.sqsQueue(s, n.deadLetterQueue),
              notificationTopicArn: arns.snsTopic(s, n.notificationTopic),
            }),
          ),
        ),
      },
      { parent: this },
    );
    this.batchMachine = new aws.sfn.StateMachine(
      `${name}-batch-machine`,
      {
        name: n.batchMachine,
        type: "STANDARD",
        roleArn: batchRole.arn,
        definition: pulumi
          .all([args.syncMachine.arn, args.request, this.deadLetterQueue.url, args.notificationTopic.arn])
          .apply(([syncMachineArn, request, deadLetterQueueUrl, notificationTopicArn]) =>
            JSON.stringify(
              buildOnChangeDefinition({
                syncMachineArn,
                request,
                maxDeletes: args.maxDeletes ?? 100,
                runSlotsTableName: n.runSlotsTable,
                maxConcurrentRuns: args.maxConcurrentRuns ?? 1,
                deadLetterQueueUrl,
                notificationTopicArn,
              }),
            ),
          ),
        tags,
      },
      { parent: this, dependsOn: [batchPolicy] },
    );

    const pipeRole = new aws.iam.Role(
      `${name}-pipe-role`,
      {
        name: n.pipe,
        description: "Lets the on-change pipe read the buffer queue and start one batch execution per batch.",
        assumeRolePolicy: scope.apply((s) => JSON.stringify(pipesTrustPolicy(s.accountId))),
        tags,
      },
      { parent: this },
    );
    const pipePolicy = new aws.iam.RolePolicy(
      `${name}-pipe-policy`,
      {
        role: pipeRole.id,
        policy: scope.apply((s) =>
          JSON.stringify(onChangePipePolicy({ queueArn: arns.sqsQueue(s, n.queue), batchMachineArn: arns.stateMachine(s, n.batchMachine) })),
        ),
      },
      { parent: this },
    );
    this.pipe = new aws.pipes.Pipe(
      `${name}-pipe`,
      {
        name: n.pipe,
        description: "Batches buffered object events: one batch execution per window or batch size.",
        roleArn: pipeRole.arn,
        source: this.queue.arn,
        sourceParameters: {
          sqsQueueParameters: {
            batchSize: args.maxBatchKeys ?? 1000,
            maximumBatchingWindowInSeconds: args.batchWindowSeconds ?? 60,
          },
        },
        target: this.batchMachine.arn,
        targetParameters: {
          stepFunctionStateMachineParameters: { invocationType: "FIRE_AND_FORGET" },
          inputTemplate: ON_CHANGE_RECORD_TEMPLATE,
        },
        tags,
      },
      { parent: this, dependsOn: [pipePolicy] },
    );

    // Any message in the dead-letter queue is an event no run synced yet: call someone.
    this.deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-dlq-alarm`,
      {
        name: `${n.deadLetterQueue}-not-empty`,
        alarmDescription: `On-change events wait in ${n.deadLetterQueue}: a batch failed or could not start. Fix the cause, then redrive the queue; the scheduled full run syncs them meanwhile.`,
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: n.deadLetterQueue },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [args.notificationTopic.arn],
        okActions: [args.notificationTopic.arn],
        tags,
      },
      { parent: this },
    );

    // A batch execution that fails outright (a batch too large to wrap, 256 KiB) could not put
    // its events in the dead-letter queue: they are in its input, and someone must look.
    this.failedBatchesAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-failed-batches-alarm`,
      {
        name: `${n.batchMachine}-executions-failed`,
        alarmDescription: `An on-change batch execution of ${n.batchMachine} failed: its events are in its input and, unless it says otherwise, in ${n.deadLetterQueue}. The scheduled full run syncs them meanwhile.`,
        namespace: "AWS/States",
        metricName: "ExecutionsFailed",
        dimensions: { StateMachineArn: this.batchMachine.arn },
        statistic: "Sum",
        period: 60,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [args.notificationTopic.arn],
        okActions: [args.notificationTopic.arn],
        tags,
      },
      { parent: this },
    );

    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi
          .all([scope, this.batchMachine.name])
          .apply(([s, machine]) => JSON.stringify(onChangeDashboard({ region: args.region, names: n, batchMachineArn: arns.stateMachine(s, machine) }))),
      },
      { parent: this },
    );
    this.dashboardUrl = pulumi.interpolate`https://${args.region}.console.aws.amazon.com/cloudwatch/home?region=${args.region}#dashboards:name=${this.dashboard.dashboardName}`;
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url, pipeArn: this.pipe.arn, dashboardUrl: this.dashboardUrl });
  }
}

/**
 * The on-change dashboard: events in and out of the buffer, its backlog, batch runs started,
 * succeeded and failed, and the dead-letter queue. Pure.
 */
export function onChangeDashboard(args: { region: string; names: OnChangeBatchesArgs["names"]; batchMachineArn: string }): Record<string, unknown> {
  const sqs = (metric: string, queue: string, label: string) => ["AWS/SQS", metric, "QueueName", queue, { label, stat: "Sum" }];
  const states = (metric: string, label: string) => ["AWS/States", metric, "StateMachineArn", args.batchMachineArn, { label, stat: "Sum" }];
  const widget = (title: string, x: number, metrics: unknown[]) => ({
    type: "metric",
    x,
    y: 0,
    width: 8,
    height: 6,
    properties: { title, region: args.region, view: "timeSeries", period: 60, metrics },
  });
  return {
    widgets: [
      widget("On-change events (per minute)", 0, [
        sqs("NumberOfMessagesSent", args.names.queue, "Buffered"),
        sqs("NumberOfMessagesDeleted", args.names.queue, "Handed to a batch"),
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", args.names.queue, { label: "Waiting", stat: "Maximum" }],
      ]),
      widget("Batch runs", 8, [
        states("ExecutionsStarted", "Started"),
        states("ExecutionsSucceeded", "Succeeded"),
        states("ExecutionsFailed", "Failed"),
      ]),
      widget("Dead-letter queue", 16, [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", args.names.deadLetterQueue, { label: "Events waiting", stat: "Maximum" }],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", args.names.queue, { label: "Oldest buffered event (s)", stat: "Maximum" }],
      ]),
    ],
  };
}
