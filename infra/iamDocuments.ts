/**
 * Every IAM document of the program, built by named pure functions from plain ARNs and prefixes.
 *
 * Least privilege, visibly: each handler's role gets the S3 actions its code sends, on exactly the
 * bucket ARNs and key prefixes of its job, and nothing else. No statement allows a wildcard
 * action, and S3 resources are named buckets (`arn:aws:s3:::name`) or keys under a named bucket's
 * prefix (`arn:aws:s3:::name/prefix/*`). The only `"Resource": "*"` statements are for APIs that
 * have no resource-level permissions at all (X-Ray segments, the CloudWatch Logs delivery API
 * behind state-machine logging); their Sids say so.
 */
import type { HandlerName, SyncMode } from "../model/contract";

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | { Service?: string | string[]; AWS?: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** A bucket and the key prefix a role may touch in it (`""` is the whole bucket). */
export interface BucketScope {
  bucketArn: string;
  prefix: string;
}

function document(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** Keys under the scope's prefix: `arn:aws:s3:::bucket/prefix/*` (or `/*` for the whole bucket). */
export function objectArn(scope: BucketScope): string {
  return `${scope.bucketArn}/${scope.prefix}*`;
}

// ---------------------------------------------------------------------------------------------
// Trust policies

/** Lambda assumes the function roles. */
export function lambdaTrustPolicy(): PolicyDocument {
  return document({
    Effect: "Allow",
    Principal: { Service: "lambda.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
}

/**
 * Step Functions assumes the state machine's role, only on behalf of this account (confused-deputy
 * guard: `aws:SourceAccount`).
 */
export function stateMachineTrustPolicy(accountId: string): PolicyDocument {
  return serviceTrustPolicy("states.amazonaws.com", accountId);
}

/** EventBridge Scheduler assumes the schedule's role, only for this account's schedules. */
export function schedulerTrustPolicy(accountId: string): PolicyDocument {
  return serviceTrustPolicy("scheduler.amazonaws.com", accountId);
}

/** EventBridge assumes the on-change rule's role, only for this account's rules. */
export function eventsTrustPolicy(accountId: string): PolicyDocument {
  return serviceTrustPolicy("events.amazonaws.com", accountId);
}

function serviceTrustPolicy(service: string, accountId: string): PolicyDocument {
  return document({
    Effect: "Allow",
    Principal: { Service: service },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "aws:SourceAccount": accountId } },
  });
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/**
 * ListObjectsV2 under the scope's prefix. The `s3:prefix` condition keeps a role from listing the
 * rest of the bucket; it is left out for the whole bucket, where a listing sends no prefix.
 */
export function listPrefixStatement(sid: string, scope: BucketScope): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: "s3:ListBucket",
    Resource: scope.bucketArn,
    ...(scope.prefix ? { Condition: { StringLike: { "s3:prefix": [scope.prefix, `${scope.prefix}*`] } } } : {}),
  };
}

/** The KMS calls SSE-KMS reads (Decrypt) and writes (GenerateDataKey, Decrypt for multipart) need. */
function kmsStatement(sid: string, keyArns: readonly string[]): PolicyStatement[] {
  if (keyArns.length === 0) return [];
  return [{ Sid: sid, Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [...new Set(keyArns)] }];
}

/** Writing to the function's own log group (created by the program, so no CreateLogGroup). */
function lambdaLogsStatement(logGroupStreamsArn: string): PolicyStatement {
  return {
    Sid: "WriteOwnLogs",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: logGroupStreamsArn,
  };
}

/** X-Ray has no resource-level permissions: `*` is the only resource these actions accept. */
function xrayStatement(actions: string[]): PolicyStatement {
  return { Sid: "XRayTracesHaveNoResourceLevelPermissions", Effect: "Allow", Action: actions, Resource: "*" };
}

const LAMBDA_XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

// ---------------------------------------------------------------------------------------------
// Handler roles

/** What a handler's role is scoped to. */
export interface HandlerPolicyArgs {
  source: BucketScope;
  destination: BucketScope;
  /** Where write-report stores reports. */
  reports: BucketScope;
  /** The mode the stack is configured for: mirror adds deletes, two-way adds writes to the source. */
  mode: SyncMode;
  /** Keys of SSE-KMS buckets the handler reads or writes (empty for SSE-S3). */
  kmsKeyArns: readonly string[];
  /** `arn:...:log-group:/aws/lambda/<function>:*`. */
  logGroupStreamsArn: string;
}

/** validate-input: HeadBucket on both buckets (HeadBucket is authorized by s3:ListBucket, without a prefix). */
export function validateInputPolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    {
      Sid: "HeadSourceAndDestinationBuckets",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: [...new Set([args.source.bucketArn, args.destination.bucketArn])],
    },
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/** plan-partitions: samples the source listing to choose range boundaries. */
export function planPartitionsPolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    listPrefixStatement("ListSourcePrefix", args.source),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

const READ_OBJECT = ["s3:GetObject", "s3:GetObjectTagging"];
const WRITE_OBJECT = ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"];

/**
 * sync-range: lists and reads both sides (HeadObject is s3:GetObject), copies into the destination
 * (CopyObject / UploadPartCopy are s3:PutObject there and s3:GetObject on the source, tags travel
 * with the Tagging actions), deletes extra destination objects in `mirror`, and copies back into
 * the source in `two-way`.
 */
export function syncRangePolicy(args: HandlerPolicyArgs): PolicyDocument {
  const twoWay = args.mode === "two-way";
  const mirror = args.mode === "mirror";
  return document(
    listPrefixStatement("ListSourcePrefix", args.source),
    listPrefixStatement("ListDestinationPrefix", args.destination),
    {
      Sid: twoWay ? "ReadAndWriteSourceObjects" : "ReadSourceObjects",
      Effect: "Allow",
      Action: twoWay ? [...READ_OBJECT, ...WRITE_OBJECT] : READ_OBJECT,
      Resource: objectArn(args.source),
    },
    {
      Sid: mirror ? "WriteAndDeleteDestinationObjects" : "WriteDestinationObjects",
      Effect: "Allow",
      Action: [...READ_OBJECT, ...WRITE_OBJECT, ...(mirror ? ["s3:DeleteObject"] : [])],
      Resource: objectArn(args.destination),
    },
    // The call that finishes a partition writes its result beside the run's report.
    { Sid: "WriteRunRecords", Effect: "Allow", Action: "s3:PutObject", Resource: objectArn(args.reports) },
    ...kmsStatement("UseBucketKeys", args.kmsKeyArns),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/** summarize: lists and reads the run's partition results beside the reports, then adds them up. */
export function summarizePolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    listPrefixStatement("ListRunRecords", args.reports),
    { Sid: "ReadRunRecords", Effect: "Allow", Action: "s3:GetObject", Resource: objectArn(args.reports) },
    ...kmsStatement("UseReportsBucketKey", args.kmsKeyArns),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/** write-report: writes the JSON and HTML report and presigns a GET of the HTML one. */
export function writeReportPolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    { Sid: "WriteReports", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: objectArn(args.reports) },
    ...kmsStatement("UseReportsBucketKey", args.kmsKeyArns),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/** The policy builder of each handler's role. */
export const HANDLER_POLICIES: Record<HandlerName, (args: HandlerPolicyArgs) => PolicyDocument> = {
  "validate-input": validateInputPolicy,
  "plan-partitions": planPartitionsPolicy,
  "sync-range": syncRangePolicy,
  summarize: summarizePolicy,
  "write-report": writeReportPolicy,
};

// ---------------------------------------------------------------------------------------------
// State machine, triggers

export interface StateMachinePolicyArgs {
  functionArns: readonly string[];
  notificationTopicArn: string;
  /** The state machine's own ARN (its name is fixed, so this is known before it exists). */
  stateMachineArn: string;
  /** `arn:...:execution:<machine>:*`: its own executions, the parents of its Map Runs. */
  executionsArn: string;
  /** `arn:...:execution:<machine>/*`: the child executions of its Distributed Maps. */
  childExecutionsArn: string;
}

/**
 * The state machine's role: invoke exactly its functions, publish to its topic, run its own
 * Distributed Map children, trace and deliver logs.
 *
 * The Distributed Map statements follow "IAM policies for using Distributed Map states" (AWS Step
 * Functions developer guide, https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html):
 * `states:StartExecution` on the state machine; `states:DescribeExecution` and
 * `states:StopExecution` on its executions (`execution:<machine>:*`, and the Map Runs' children
 * `execution:<machine>/<map run label>:*`); and, for redriving a failed Map Run (which a redrive of
 * the parent execution does), `states:RedriveExecution` on `execution:<machine>/<map run label>:*`.
 */
export function stateMachinePolicy(args: StateMachinePolicyArgs): PolicyDocument {
  return document(
    { Sid: "InvokeSyncFunctions", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: [...args.functionArns] },
    { Sid: "PublishNotifications", Effect: "Allow", Action: "sns:Publish", Resource: args.notificationTopicArn },
    { Sid: "StartDistributedMapChildren", Effect: "Allow", Action: "states:StartExecution", Resource: args.stateMachineArn },
    {
      Sid: "ManageDistributedMapExecutions",
      Effect: "Allow",
      Action: ["states:DescribeExecution", "states:StopExecution"],
      Resource: [args.executionsArn, args.childExecutionsArn],
    },
    { Sid: "RedriveDistributedMapRuns", Effect: "Allow", Action: "states:RedriveExecution", Resource: args.childExecutionsArn },
    {
      // Step Functions configures log delivery through these APIs, none of which accepts a resource.
      Sid: "LogDeliveryHasNoResourceLevelPermissions",
      Effect: "Allow",
      Action: [
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
      ],
      Resource: "*",
    },
    xrayStatement(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]),
  );
}

/** The schedule's role: start this state machine, and park undeliverable runs in its queue. */
export function schedulePolicy(args: { stateMachineArn: string; deadLetterQueueArn: string }): PolicyDocument {
  return document(
    { Sid: "StartSync", Effect: "Allow", Action: "states:StartExecution", Resource: args.stateMachineArn },
    { Sid: "SendToDeadLetterQueue", Effect: "Allow", Action: "sqs:SendMessage", Resource: args.deadLetterQueueArn },
  );
}

/** The on-change rule's role: start this state machine, nothing else. */
export function onChangePolicy(args: { stateMachineArn: string }): PolicyDocument {
  return document({ Sid: "StartSync", Effect: "Allow", Action: "states:StartExecution", Resource: args.stateMachineArn });
}

/**
 * The on-change rule's dead-letter queue: EventBridge sends failed deliveries through a queue
 * policy (not the rule's role), for this rule only.
 */
export function onChangeDeadLetterQueuePolicy(args: { queueArn: string; ruleArn: string }): PolicyDocument {
  return document({
    Sid: "AcceptFailedDeliveriesOfTheRule",
    Effect: "Allow",
    Principal: { Service: "events.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: args.queueArn,
    Condition: { ArnEquals: { "aws:SourceArn": args.ruleArn } },
  });
}

// ---------------------------------------------------------------------------------------------
// Buckets

/**
 * Deny every request to the bucket that is not over TLS 1.2 or later. This is a Deny for any
 * principal and any S3 action on purpose: it guards, it grants nothing.
 */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  const resources = [bucketArn, `${bucketArn}/*`];
  return document(
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: resources,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
    {
      Sid: "DenyTlsBelow1_2",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: resources,
      Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
    },
  );
}
