/**
 * What starts a sync besides a person: a schedule, a change in the source bucket, and a signed
 * request to a REST API. (On demand, the stack exports the exact `aws stepfunctions
 * start-execution` command.) Each trigger has its
 * own role, allowed only `states:StartExecution` on this one state machine, and a dead-letter
 * queue for starts that failed after retries.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RequestCeiling, SyncRequest } from "../model/contract";
import { LIFECYCLE_EXPIRATION_REASON } from "../model/onChange";
import {
  apiGatewayTrustPolicy,
  eventsTrustPolicy,
  onChangeDeadLetterQueuePolicy,
  startSyncPolicy,
  schedulePolicy,
  schedulerTrustPolicy,
} from "./iamDocuments";
import { arns, type AwsScope } from "./names";
import { CHANGED_KEY_VARIABLE, onChangeInputTemplate, startExecutionRequestTemplate, syncRequestJsonSchema } from "./syncRequest";

/** Failed deliveries are kept this long for someone to look at (the SQS maximum, 14 days). */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** What every trigger that starts the sync machine needs. */
export interface StartTriggerArgs {
  /** The dead-letter queue's physical name (fixed, so policies can name it). */
  deadLetterQueueName: string;
  scope: pulumi.Input<AwsScope>;
  /** The state machine to start; its (fixed) name scopes the role. */
  stateMachine: aws.sfn.StateMachine;
  /** The ARN runs are started with: the machine's live alias (SyncMachine.startArn). */
  startArn: pulumi.Input<string>;
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

/**
 * The role a trigger's AWS service assumes to start the machine, with its one inline policy (which
 * the trigger's own resources depend on: the role is useless until the policy is attached).
 */
function startRole(
  name: string,
  parent: pulumi.Resource,
  args: { roleName?: string; description: string; trustPolicy: pulumi.Input<string>; policy: pulumi.Input<string>; tags?: pulumi.Input<Record<string, pulumi.Input<string>>> },
): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
  const role = new aws.iam.Role(
    `${name}-role`,
    {
      ...(args.roleName === undefined ? {} : { name: args.roleName }),
      description: args.description,
      assumeRolePolicy: args.trustPolicy,
      tags: args.tags,
    },
    { parent },
  );
  const policy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: args.policy }, { parent });
  return { role, policy };
}

/** The policy that allows starting exactly this state machine. */
function startSyncPolicyJson(scope: pulumi.Output<AwsScope>, stateMachine: { name: pulumi.Input<string> }): pulumi.Output<string> {
  return pulumi
    .all([scope, stateMachine.name])
    .apply(([s, machine]) => JSON.stringify(startSyncPolicy({ stateMachineArn: arns.stateMachine(s, machine) })));
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
    const { role, policy } = startRole(name, this, {
      description: `Lets the ${args.scheduleName} schedule start its state machine.`,
      trustPolicy: scope.apply((s) => JSON.stringify(schedulerTrustPolicy(s.accountId))),
      policy: pulumi.all([scope, args.stateMachine.name]).apply(([s, machine]) =>
        JSON.stringify(
          schedulePolicy({
            stateMachineArn: arns.stateMachine(s, machine),
            deadLetterQueueArn: arns.sqsQueue(s, args.deadLetterQueueName),
          }),
        ),
      ),
      tags: args.tags,
    });
    this.role = role;
    this.schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        name: args.scheduleName,
        description: "Starts a sync with the stack's configured request.",
        scheduleExpression: args.scheduleExpression,
        scheduleExpressionTimezone: args.timezone ?? "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: args.startArn,
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
   * stack's `eventBridgeNotifications`), on the default bus of this region, directly or forwarded
   * from its account (`sourceAccountId`).
   */
  sourceBucket: pulumi.Input<string>;
  /** Only keys under this prefix start a sync. @default "" */
  sourcePrefix?: string;
  /**
   * The source bucket's account when it is not this one: its events arrive forwarded onto this
   * account's default bus (infra/crossAccount.ts), and the rule matches only that account's.
   * @default this account
   */
  sourceAccountId?: string;
  /**
   * The delete limit of each run this rule starts, a count (see `onChangeInputTemplate`); it
   * replaces the request's `maxDeletes`. @default 1
   */
  maxDeletes?: pulumi.Input<number>;
}

export { LIFECYCLE_EXPIRATION_REASON };

/**
 * The S3 events that start an on-change sync: objects created or deleted in the bucket (under the
 * prefix), except deletions by S3 Lifecycle. S3 sets `reason` to "Lifecycle Expiration" on those
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html); the source bucket's
 * own noncurrent-version rule produces them all the time, and each would otherwise start a run
 * for a key whose current version did not change. Object Created events carry a reason too
 * (PutObject, CopyObject, ...), so `anything-but` keeps every one of them.
 */
export function onChangeEventPattern(bucket: string, sourcePrefix: string, sourceAccountId?: string): Record<string, unknown> {
  return {
    source: ["aws.s3"],
    // Events forwarded from another account keep that account in `account`.
    ...(sourceAccountId ? { account: [sourceAccountId] } : {}),
    "detail-type": ["Object Created", "Object Deleted"],
    detail: {
      bucket: { name: [bucket] },
      ...(sourcePrefix ? { object: { key: [{ prefix: sourcePrefix }] } } : {}),
      reason: [{ "anything-but": [LIFECYCLE_EXPIRATION_REASON] }],
    },
  };
}


/**
 * Syncs each changed key as soon as S3 reports it: an EventBridge rule on the source bucket's
 * Object Created / Object Deleted events (lifecycle expirations left out) starts the sync machine with the stack's request
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
        eventPattern: pulumi
          .output(args.sourceBucket)
          .apply((bucket) => JSON.stringify(onChangeEventPattern(bucket, sourcePrefix, args.sourceAccountId))),
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
    const { role, policy } = startRole(name, this, {
      description: `Lets the ${args.ruleName} rule start its state machine.`,
      trustPolicy: scope.apply((s) => JSON.stringify(eventsTrustPolicy(s.accountId))),
      policy: startSyncPolicyJson(scope, args.stateMachine),
      tags: args.tags,
    });
    this.role = role;
    this.target = new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        arn: args.startArn,
        roleArn: this.role.arn,
        inputTransformer: {
          inputPaths: { [CHANGED_KEY_VARIABLE]: "$.detail.object.key" },
          inputTemplate: pulumi
            .all([args.request, args.maxDeletes ?? 1])
            .apply(([request, maxDeletes]) => onChangeInputTemplate(request, maxDeletes)),
        },
        retryPolicy: retryPolicy(args),
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [policy, queuePolicy] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}

export interface RestApiTriggerArgs {
  /** The REST API's and its role's physical name. */
  name: string;
  scope: pulumi.Input<AwsScope>;
  /** The state machine the API starts; its (fixed) name scopes the role. */
  stateMachine: aws.sfn.StateMachine;
  /** The ARN runs are started with: the machine's live alias (SyncMachine.startArn). */
  startArn: pulumi.Input<string>;
  /**
   * The stack's ceiling: the model refuses a body that asks other buckets, a prefix outside the
   * stack's, or a setting over its policy (a gate at the door; validate-input enforces all of it).
   * @default none: the model checks only a SyncRequest's shape and bounds
   */
  ceiling?: pulumi.Input<RequestCeiling>;
  /** The stage in the URL. @default "v1" */
  stageName?: string;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The path the REST trigger takes requests on: `POST /syncs`. */
export const REST_TRIGGER_PATH = "syncs";

/**
 * Starts a sync from a signed HTTPS request: an API Gateway REST API whose `POST /syncs` takes a
 * SyncRequest as its JSON body. The method needs `AWS_IAM` authorization (a SigV4-signed request
 * from a principal allowed `execute-api:Invoke` on it); a request validator checks the body
 * against the SyncRequest model before anything runs; an AWS service integration calls Step
 * Functions `StartExecution` directly — no Lambda in between — with a role allowed only that
 * action on this one state machine. A valid request answers 200 with the `executionArn`.
 * ("Tutorial: Create a REST API as an Amazon Step Functions proxy", https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-api-gateway.html)
 */
export class RestApiTrigger extends pulumi.ComponentResource {
  readonly api: aws.apigateway.RestApi;
  readonly role: aws.iam.Role;
  readonly method: aws.apigateway.Method;
  readonly integration: aws.apigateway.Integration;
  readonly stage: aws.apigateway.Stage;
  /** `https://<api id>.execute-api.<region>.amazonaws.com/<stage>/syncs`. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: RestApiTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:RestApiTrigger", name, args, opts);
    const scope = pulumi.output(args.scope);
    const stageName = args.stageName ?? "v1";

    const { role, policy: rolePolicy } = startRole(name, this, {
      roleName: args.name,
      description: `Lets the ${args.name} REST API start its state machine.`,
      trustPolicy: JSON.stringify(apiGatewayTrustPolicy()),
      policy: startSyncPolicyJson(scope, args.stateMachine),
      tags: args.tags,
    });
    this.role = role;

    this.api = new aws.apigateway.RestApi(
      `${name}-api`,
      {
        name: args.name,
        description: "Starts a sync: POST /syncs with a SyncRequest, signed with SigV4.",
        endpointConfiguration: { types: "REGIONAL" },
        tags: args.tags,
      },
      { parent: this },
    );
    // Every resource that defines what a deployment serves, declared by its inputs first: the
    // deployment's trigger hashes exactly these (see restApiRedeploymentHash).
    const defining: Record<string, Record<string, pulumi.Input<unknown>>> = {};
    const define = <A extends object>(logicalName: string, inputs: A): A => {
      defining[logicalName] = inputs as Record<string, pulumi.Input<unknown>>;
      return inputs;
    };
    const resource = new aws.apigateway.Resource(
      `${name}-syncs`,
      define(`${name}-syncs`, { restApi: this.api.id, parentId: this.api.rootResourceId, pathPart: REST_TRIGGER_PATH }),
      { parent: this },
    );
    const model = new aws.apigateway.Model(
      `${name}-sync-request-model`,
      define(`${name}-sync-request-model`, {
        restApi: this.api.id,
        name: "SyncRequest",
        description: "The body of POST /syncs: a SyncRequest (handlers/contract.ts).",
        contentType: "application/json",
        schema: pulumi.output(args.ceiling).apply((ceiling) => JSON.stringify(syncRequestJsonSchema(ceiling))),
      }),
      { parent: this },
    );
    const validator = new aws.apigateway.RequestValidator(
      `${name}-validator`,
      define(`${name}-validator`, { restApi: this.api.id, name: "body", validateRequestBody: true, validateRequestParameters: false }),
      { parent: this },
    );
    this.method = new aws.apigateway.Method(
      `${name}-post`,
      define(`${name}-post`, {
        restApi: this.api.id,
        resourceId: resource.id,
        httpMethod: "POST",
        authorization: "AWS_IAM",
        requestValidatorId: validator.id,
        requestModels: { "application/json": model.name },
      }),
      { parent: this },
    );
    this.integration = new aws.apigateway.Integration(
      `${name}-start-execution`,
      define(`${name}-start-execution`, {
        restApi: this.api.id,
        resourceId: resource.id,
        httpMethod: this.method.httpMethod,
        type: "AWS",
        integrationHttpMethod: "POST",
        uri: scope.apply((s) => `arn:${s.partition}:apigateway:${s.region}:states:action/StartExecution`),
        credentials: this.role.arn,
        // Only JSON bodies reach Step Functions, and only through the template.
        passthroughBehavior: "NEVER",
        requestTemplates: {
          "application/json": pulumi.output(args.startArn).apply((startArn) => startExecutionRequestTemplate(startArn)),
        },
      }),
      { parent: this, dependsOn: [rolePolicy] },
    );
    // 200 with Step Functions' answer ({ executionArn, startDate }); its 4xx and 5xx pass through.
    const responses = [
      { statusCode: "200", selectionPattern: undefined },
      { statusCode: "400", selectionPattern: "4\\d{2}" },
      { statusCode: "500", selectionPattern: "5\\d{2}" },
    ].map(({ statusCode, selectionPattern }) => {
      const methodResponse = new aws.apigateway.MethodResponse(
        `${name}-response-${statusCode}`,
        define(`${name}-response-${statusCode}`, {
          restApi: this.api.id,
          resourceId: resource.id,
          httpMethod: this.method.httpMethod,
          statusCode,
          responseModels: { "application/json": "Empty" },
        }),
        { parent: this },
      );
      return new aws.apigateway.IntegrationResponse(
        `${name}-integration-response-${statusCode}`,
        define(`${name}-integration-response-${statusCode}`, {
          restApi: this.api.id,
          resourceId: resource.id,
          httpMethod: this.method.httpMethod,
          statusCode: methodResponse.statusCode,
          selectionPattern,
        }),
        { parent: this, dependsOn: [this.integration] },
      );
    });
    // A deployment is a snapshot: API Gateway serves what the API was when it was created, so a
    // change to any defining resource needs a new one ("Deploying a REST API",
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html; the
    // provider's `triggers`, https://www.pulumi.com/registry/packages/aws/api-docs/apigateway/deployment/).
    const deployment = new aws.apigateway.Deployment(
      `${name}-deployment`,
      {
        restApi: this.api.id,
        description: "The POST /syncs method, its validator, model, integration and responses.",
        triggers: { redeployment: pulumi.output(defining).apply((inputs) => restApiRedeploymentHash(inputs)) },
      },
      { parent: this, dependsOn: [this.method, this.integration, ...responses] },
    );
    this.stage = new aws.apigateway.Stage(
      `${name}-stage`,
      { restApi: this.api.id, deployment: deployment.id, stageName, tags: args.tags },
      { parent: this },
    );
    this.url = pulumi
      .all([scope, this.api.id, this.stage.stageName])
      .apply(([s, id, stage]) => `https://${id}.execute-api.${s.region}.${dnsSuffix(s.partition)}/${stage}/${REST_TRIGGER_PATH}`);
    this.registerOutputs({ url: this.url });
  }
}

/**
 * The REST API deployment's trigger: a SHA-256 over the inputs of every resource that defines the
 * API (keyed by logical name, keys sorted, absent values dropped), so any change to one of them
 * redeploys it, and nothing else does.
 */
export function restApiRedeploymentHash(inputs: Record<string, unknown>): string {
  return createHash("sha256").update(stableJson(inputs)).digest("hex");
}

/** JSON with object keys sorted at every level and undefined members dropped. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : stableJson(v))).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The DNS suffix of a partition's service endpoints. */
function dnsSuffix(partition: string): string {
  return partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}
