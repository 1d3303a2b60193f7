/**
 * Physical names and the ARNs they imply. Every name is a pure function of the project, the
 * stack, the config and the account, never a random suffix: the IAM documents that mention a
 * bucket, function, topic, queue or the state machine itself can then be written before any of
 * those exist, and are fully known at `pulumi preview` (the policy pack can only check what is
 * known). It also breaks the one real cycle: the state machine's role must allow
 * `states:StartExecution` on the state machine (the Distributed Map starts child executions),
 * and the state machine needs the role first.
 */
import type { HandlerName } from "../model/contract";
import { LONGEST_HANDLER_NAME } from "./handlerSpecs";

/** Where ARNs live. All three are known at preview (config and provider invokes). */
export interface AwsScope {
  /** `aws`, `aws-cn`, `aws-us-gov`. */
  partition: string;
  region: string;
  accountId: string;
}

/** What a stack's names are made of. */
export interface NameParts {
  project: string;
  stack: string;
  /** `bucketNamePrefix` from config; absent means `<project>-<accountId>`. */
  bucketNamePrefix?: string;
  accountId: string;
}

/** The longest name any handler adds to the stem, for length checks. */
const LONGEST_HANDLER_SUFFIX = `-${LONGEST_HANDLER_NAME}`;
/** The longest suffix a bucket name gets, for length checks. */
export const LONGEST_BUCKET_SUFFIX = "-reports";

/** `<project>-<stack>`: the stem of every non-bucket name (functions, state machine, topic, ...). */
export function nameStem(project: string, stack: string): string {
  return `${project}-${stack}`;
}

/** The stack's bucket (the source on dev, the destination on prod). */
export function bucketName(parts: NameParts): string {
  return `${bucketStem(parts)}-${parts.stack}`;
}

/** Where `write-report` stores reports; exists only in a stack with a sync machine. */
export function reportsBucketName(parts: NameParts): string {
  return `${bucketName(parts)}${LONGEST_BUCKET_SUFFIX}`;
}

function bucketStem(parts: NameParts): string {
  return parts.bucketNamePrefix || `${parts.project}-${parts.accountId}`;
}

/** One Lambda function per handler: `<stem>-<handler name>`. */
/** The restore role (`restoreTarget`): deterministic, so a dev stack in another account can name it. */
export function restoreRoleName(stem: string): string {
  return `${stem}-restore`;
}

export function functionName(stem: string, handler: HandlerName): string {
  return `${stem}-${handler}`;
}

/**
 * The role of a handler's function: named like the function (both allow 64 characters), so another
 * account can name it before it exists — the dev stack's bucket policy grants the backup stack's
 * roles by ARN (see infra/crossAccount.ts).
 */
export function functionRoleName(stem: string, handler: HandlerName): string {
  return functionName(stem, handler);
}

/** Longest function name this stem produces (Lambda allows 64 characters). */
export function longestFunctionName(stem: string): string {
  return `${stem}${LONGEST_HANDLER_SUFFIX}`;
}

/** The log group Lambda writes a function's logs to. */
export function functionLogGroupName(fnName: string): string {
  return `/aws/lambda/${fnName}`;
}

/** The state machine: named after the stack, so it can appear in its own role's policy. */
export function stateMachineName(stem: string): string {
  return stem;
}

/** `/aws/vendedlogs/` keeps the CloudWatch Logs resource policy small (AWS recommendation). */
export function stateMachineLogGroupName(stem: string): string {
  return `/aws/vendedlogs/states/${stateMachineName(stem)}`;
}

export function notificationTopicName(stem: string): string {
  return `${stem}-notifications`;
}

export function scheduleName(stem: string): string {
  return `${stem}-schedule`;
}

export function scheduleDeadLetterQueueName(stem: string): string {
  return `${stem}-schedule-dlq`;
}

export function onChangeRuleName(stem: string): string {
  return `${stem}-on-change`;
}

export function onChangeDeadLetterQueueName(stem: string): string {
  return `${stem}-on-change-dlq`;
}

/** The queue that buffers on-change events between the rule and the pipe. */
export function onChangeQueueName(stem: string): string {
  return `${stem}-on-change-buffer`;
}

/** The pipe that batches buffered events into runs (and its role). */
export function onChangePipeName(stem: string): string {
  return `${stem}-on-change-batches`;
}

/** The state machine that runs one batch (and its role). */
export function onChangeBatchMachineName(stem: string): string {
  return `${stem}-on-change-batch`;
}

/** The DynamoDB table that counts the on-change runs in progress. */
export function onChangeRunSlotsTableName(stem: string): string {
  return `${stem}-on-change-run-slots`;
}

/** The rule (and its role) that forwards the bucket's events to the backup account's default bus. */
export function eventForwardingName(stem: string): string {
  return `${stem}-forward-events`;
}

/** The statement that admits a source account's events onto the default bus (`[A-Za-z0-9_-]{1,64}`). */
export function sourceEventsStatementId(stem: string, sourceAccountId: string): string {
  return `${stem}-from-${sourceAccountId}`.slice(0, 64);
}

/** The REST API that starts syncs, and its role. */
export function restApiName(stem: string): string {
  return `${stem}-api`;
}

export function dashboardName(stem: string): string {
  return stem;
}

/** ARNs built from names, so documents that use them are known before the resources exist. */
export const arns = {
  bucket: (partition: string, bucket: string): string => `arn:${partition}:s3:::${bucket}`,
  lambdaFunction: (scope: AwsScope, fnName: string): string =>
    `arn:${scope.partition}:lambda:${scope.region}:${scope.accountId}:function:${fnName}`,
  /** A log group and every stream in it (the form `logs:PutLogEvents` is granted on). */
  logGroupStreams: (scope: AwsScope, logGroup: string): string =>
    `arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:${logGroup}:*`,
  stateMachine: (scope: AwsScope, machine: string): string =>
    `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:stateMachine:${machine}`,
  /** An alias of a state machine: `stateMachine:<machine>:<alias>`. */
  stateMachineAlias: (scope: AwsScope, machine: string, alias: string): string =>
    `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:stateMachine:${machine}:${alias}`,
  /** The machine's own (parent) executions: `execution:<machine>:<name>`. */
  executions: (scope: AwsScope, machine: string): string =>
    `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:execution:${machine}:*`,
  /** Executions a Distributed Map starts: `execution:<machine>/<map run label>:<id>`. */
  childExecutions: (scope: AwsScope, machine: string): string =>
    `arn:${scope.partition}:states:${scope.region}:${scope.accountId}:execution:${machine}/*`,
  snsTopic: (scope: AwsScope, topic: string): string =>
    `arn:${scope.partition}:sns:${scope.region}:${scope.accountId}:${topic}`,
  sqsQueue: (scope: AwsScope, queue: string): string =>
    `arn:${scope.partition}:sqs:${scope.region}:${scope.accountId}:${queue}`,
  dynamoTable: (scope: AwsScope, table: string): string =>
    `arn:${scope.partition}:dynamodb:${scope.region}:${scope.accountId}:table/${table}`,
  eventRule: (scope: AwsScope, rule: string): string =>
    `arn:${scope.partition}:events:${scope.region}:${scope.accountId}:rule/${rule}`,
  role: (partition: string, accountId: string, role: string): string => `arn:${partition}:iam::${accountId}:role/${role}`,
  /** An account's default event bus in a region. */
  defaultEventBus: (scope: AwsScope): string => `arn:${scope.partition}:events:${scope.region}:${scope.accountId}:event-bus/default`,
  schedule: (scope: AwsScope, schedule: string): string =>
    `arn:${scope.partition}:scheduler:${scope.region}:${scope.accountId}:schedule/default/${schedule}`,
};

/** Every function name, keyed by handler. */
export function functionNames(stem: string, handlers: readonly HandlerName[]): Record<HandlerName, string> {
  return Object.fromEntries(handlers.map((h) => [h, functionName(stem, h)])) as Record<HandlerName, string>;
}

/** The AWS console's host for a partition. */
export function consoleHost(partition: string): string {
  switch (partition) {
    case "aws-cn":
      return "console.amazonaws.cn";
    case "aws-us-gov":
      return "console.amazonaws-us-gov.com";
    default:
      return "console.aws.amazon.com";
  }
}

/** Link to the state machine in the Step Functions console. */
export function stateMachineConsoleUrl(scope: AwsScope, stateMachineArn: string): string {
  const host = `${scope.region}.${consoleHost(scope.partition)}`;
  return `https://${host}/states/home?region=${scope.region}#/statemachines/view/${encodeURIComponent(stateMachineArn)}`;
}
