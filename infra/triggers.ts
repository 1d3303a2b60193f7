/**
 * What starts a sync besides a person: a schedule, and a change in the source bucket. (On demand,
 * the stack exports the exact `aws stepfunctions start-execution` command.) Each trigger has its
 * own role, allowed only `states:StartExecution` on this one state machine, and a dead-letter
 * queue for starts that failed after retries.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SyncRequest } from "../model/contract";
import {
  eventsTrustPolicy,
  onChangeDeadLetterQueuePolicy,
  onChangePolicy,
  schedulePolicy,
  schedulerTrustPolicy,
} from "./iamDocuments";
import { arns, type AwsScope } from "./names";
import { CHANGED_KEY_VARIABLE, onChangeInputTemplate } from "./syncRequest";

/** Failed deliveries are kept this long for someone to look at (the SQS maximum, 14 days). */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** What every trigger that starts the sync machine needs. */
export interface StartTriggerArgs {
  /** The dead-letter queue's physical name (fixed, so policies can name it). */
  deadLetterQueueName: string;
  scope: pulumi.Input<AwsScope>;
  /** The state machine to start; its (fixed) name scopes the role. */
  stateMachine: aws.sfn.StateMachine;
  /** The execution input of every run this trigger starts. */
  request: pulumi.Input<SyncRequest>;
  /** Retries of a failed StartExecution. @default 3 */
  maximumRetryAttempts?: pulumi.Input<number>;
  /** A start still failing after this long goes to the dead-letter queue. @default 3600 */
  maximumEventAgeInSeconds?: pulumi.Input<number>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface SyncScheduleArgs extends StartTriggerArgs {
  /** The schedule's physical name. */
  scheduleName: string;
  /** `rate(...)`, `cron(...)` or `at(...)`. */
  scheduleExpression: pulumi.Input<string>;
  /** Time zone of a cron expression. @default "UTC" */
  timezone?: pulumi.Input<string>;
}

/** The dead-letter queue of a trigger: encrypted, keeping failed starts for 14 days. */
function deadLetterQueue(name: string, args: StartTriggerArgs, parent: pulumi.Resource): aws.sqs.Queue {
  return new aws.sqs.Queue(
    `${name}-dlq`,
    {
      name: args.deadLetterQueueName,
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
      tags: args.tags,
    },
    { parent },
  );
}

/** How a trigger retries a failed StartExecution before giving up to the dead-letter queue. */
function retryPolicy(args: StartTriggerArgs) {
  return {
    maximumRetryAttempts: args.maximumRetryAttempts ?? 3,
    maximumEventAgeInSeconds: args.maximumEventAgeInSeconds ?? 3600,
  };
}

/** An EventBridge Scheduler schedule that starts the sync machine with the stack's request. */
export class SyncSchedule extends pulumi.ComponentResource {
  readonly schedule: aws.scheduler.Schedule;
  readonly role: aws.iam.Role;
  readonly deadLetterQueue: aws.sqs.Queue;

  constructor(name: string, args: SyncScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:SyncSchedule", name, args, opts);
    const scope = pulumi.output(args.scope);

    this.deadLetterQueue = deadLetterQueue(name, args, this);
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Lets the ${args.scheduleName} schedule start its state machine.`,
        assumeRolePolicy: scope.apply((s) => JSON.stringify(schedulerTrustPolicy(s.accountId))),
        tags: args.tags,
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi.all([scope, args.stateMachine.name]).apply(([s, machine]) =>
          JSON.stringify(
            schedulePolicy({
              stateMachineArn: arns.stateMachine(s, machine),
              deadLetterQueueArn: arns.sqsQueue(s, args.deadLetterQueueName),
            }),
          ),
        ),
      },
      { parent: this },
    );
    this.schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        name: args.scheduleName,
        description: "Starts a sync with the stack's configured request.",
        scheduleExpression: args.scheduleExpression,
        scheduleExpressionTimezone: args.timezone ?? "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: args.stateMachine.arn,
          roleArn: this.role.arn,
          input: pulumi.output(args.request).apply((request) => JSON.stringify(request)),
          retryPolicy: retryPolicy(args),
          deadLetterConfig: { arn: this.deadLetterQueue.arn },
        },
      },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({ scheduleArn: this.schedule.arn, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}

export interface OnChangeSyncArgs extends StartTriggerArgs {
  /** The EventBridge rule's physical name (fixed, so the queue policy can name it). */
  ruleName: string;
  /**
   * The bucket whose changes start syncs. It must send its events to EventBridge (the source
   * stack's `eventBridgeNotifications`) on the default bus of this account and region.
   */
  sourceBucket: pulumi.Input<string>;
  /** Only keys under this prefix start a sync. @default "" */
  sourcePrefix?: string;
}

/**
 * Syncs each changed key as soon as S3 reports it: an EventBridge rule on the source bucket's
 * Object Created / Object Deleted events starts the sync machine with the stack's request
 * restricted to that key (an input transformer fills in `keys`).
 */
export class OnChangeSync extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;
  readonly target: aws.cloudwatch.EventTarget;
  readonly role: aws.iam.Role;
  readonly deadLetterQueue: aws.sqs.Queue;

  constructor(name: string, args: OnChangeSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:OnChangeSync", name, args, opts);
    const scope = pulumi.output(args.scope);
    const sourcePrefix = args.sourcePrefix ?? "";

    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        name: args.ruleName,
        description: "Starts a sync of each object that changes in the source bucket.",
        eventPattern: pulumi.output(args.sourceBucket).apply((bucket) =>
          JSON.stringify({
            source: ["aws.s3"],
            "detail-type": ["Object Created", "Object Deleted"],
            detail: {
              bucket: { name: [bucket] },
              ...(sourcePrefix ? { object: { key: [{ prefix: sourcePrefix }] } } : {}),
            },
          }),
        ),
        tags: args.tags,
      },
      { parent: this },
    );
    this.deadLetterQueue = deadLetterQueue(name, args, this);
    const queuePolicy = new aws.sqs.QueuePolicy(
      `${name}-dlq-policy`,
      {
        queueUrl: this.deadLetterQueue.url,
        policy: scope.apply((s) =>
          JSON.stringify(
            onChangeDeadLetterQueuePolicy({
              queueArn: arns.sqsQueue(s, args.deadLetterQueueName),
              ruleArn: arns.eventRule(s, args.ruleName),
            }),
          ),
        ),
      },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Lets the ${args.ruleName} rule start its state machine.`,
        assumeRolePolicy: scope.apply((s) => JSON.stringify(eventsTrustPolicy(s.accountId))),
        tags: args.tags,
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([scope, args.stateMachine.name])
          .apply(([s, machine]) => JSON.stringify(onChangePolicy({ stateMachineArn: arns.stateMachine(s, machine) }))),
      },
      { parent: this },
    );
    this.target = new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        arn: args.stateMachine.arn,
        roleArn: this.role.arn,
        inputTransformer: {
          inputPaths: { [CHANGED_KEY_VARIABLE]: "$.detail.object.key" },
          inputTemplate: pulumi.output(args.request).apply(onChangeInputTemplate),
        },
        retryPolicy: retryPolicy(args),
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [policy, queuePolicy] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
