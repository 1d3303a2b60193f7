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
import { DELETE_LEDGER_KEY, type HandlerName, type SyncMode } from "../model/contract";

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

/**
 * API Gateway assumes the REST trigger's role (its integration's credentials). Without a
 * condition: API Gateway sets no `aws:SourceAccount` (nor `aws:SourceArn`) when it assumes an
 * integration's credentials role, so such a condition fails every call ("API Gateway does not have
 * permission to assume the provided role"); see SERVICE_ASSUME_ROLE_KEYS in
 * local-stepfunctions/iamRequests.ts for the services and keys. The guard instead is
 * `iam:PassRole`: only whoever may pass this role can make it an integration's credentials.
 */
export function apiGatewayTrustPolicy(): PolicyDocument {
  return document({
    Effect: "Allow",
    Principal: { Service: "apigateway.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
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

/**
 * The KMS calls SSE-KMS needs: reads Decrypt; writes GenerateDataKey (and Decrypt for multipart).
 * A role that only reads gets Decrypt alone.
 */
function kmsStatement(sid: string, keyArns: readonly string[], actions: readonly string[] = ["kms:Decrypt", "kms:GenerateDataKey"]): PolicyStatement[] {
  if (keyArns.length === 0) return [];
  return [{ Sid: sid, Effect: "Allow", Action: [...actions], Resource: [...new Set(keyArns)] }];
}

/**
 * The service name S3 presents to KMS in a region: `kms:ViaService` limits a KMS grant to requests
 * S3 makes on the caller's behalf ("kms:ViaService", AWS KMS developer guide,
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
 */
export function s3ViaService(region: string, partition = "aws"): string {
  return `s3.${region}.amazonaws.com${partition === "aws-cn" ? ".cn" : ""}`;
}

/** The region and partition of a KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`). */
function kmsKeyLocation(keyArn: string): { partition: string; region: string } {
  const [, partition = "aws", , region = ""] = keyArn.split(":");
  return { partition, region };
}

/**
 * Decrypting (and, when the function writes into the source, encrypting) with the source bucket's
 * key, only through S3 in the key's region: a source object under SSE-KMS cannot be read or
 * copied without kms:Decrypt on its key, and the condition keeps the role from calling KMS itself.
 */
function sourceKmsStatement(keyArn: string | undefined, write: boolean): PolicyStatement[] {
  if (!keyArn) return [];
  const { partition, region } = kmsKeyLocation(keyArn);
  return [
    {
      Sid: write ? "UseSourceKeyThroughS3" : "DecryptSourceThroughS3",
      Effect: "Allow",
      Action: write ? ["kms:Decrypt", "kms:GenerateDataKey"] : "kms:Decrypt",
      Resource: keyArn,
      Condition: { StringEquals: { "kms:ViaService": s3ViaService(region, partition) } },
    },
  ];
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
  /** The source bucket's own KMS key, when it has one that `kmsKeyArns` does not hold. */
  sourceKmsKeyArn?: string;
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

/**
 * The run plans beside the reports: `<reportPrefix><execution>/plan.json` (see
 * handlers/engine/runRecords.ts).
 */
export function runPlanArn(reports: BucketScope): string {
  return `${objectArn(reports)}/plan.json`;
}

/**
 * plan-partitions: samples both listings to choose range boundaries (a key only the destination
 * holds is work too, in mirror), each under its own prefix only, as sync-range lists them; then
 * writes the run's plan beside the reports.
 */
export function planPartitionsPolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    listPrefixStatement("ListSourcePrefix", args.source),
    listPrefixStatement("ListDestinationPrefix", args.destination),
    { Sid: "WriteRunPlans", Effect: "Allow", Action: "s3:PutObject", Resource: runPlanArn(args.reports) },
    // One PutObject of the plan: SSE-KMS needs a data key, never a decrypt.
    ...kmsStatement("EncryptRunPlans", args.kmsKeyArns, ["kms:GenerateDataKey"]),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

export const READ_OBJECT = ["s3:GetObject", "s3:GetObjectTagging"];
/** Writes, with what a multipart copy continued over calls needs: ListParts and AbortMultipartUpload. */
const WRITE_OBJECT = ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

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
    {
      // Before a multipart copy, uploads an abandoned run left open on the same key are aborted.
      Sid: "FindAbandonedUploads",
      Effect: "Allow",
      Action: "s3:ListBucketMultipartUploads",
      Resource: twoWay ? [...new Set([args.destination.bucketArn, args.source.bucketArn])] : args.destination.bucketArn,
    },
    // The call that finishes a partition writes its result beside the run's report.
    { Sid: "WriteRunRecords", Effect: "Allow", Action: "s3:PutObject", Resource: objectArn(args.reports) },
    ...kmsStatement("UseBucketKeys", args.kmsKeyArns),
    ...sourceKmsStatement(args.sourceKmsKeyArn, twoWay),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/** summarize: lists and reads the run's partition results beside the reports, then adds them up. */
export function summarizePolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    listPrefixStatement("ListRunRecords", args.reports),
    { Sid: "ReadRunRecords", Effect: "Allow", Action: "s3:GetObject", Resource: objectArn(args.reports) },
    // The delete budget across runs: its one ledger object, rewritten with conditional writes
    // (so, under SSE-KMS, summarize encrypts as well as decrypts).
    { Sid: "SpendDeleteBudget", Effect: "Allow", Action: "s3:PutObject", Resource: `${args.reports.bucketArn}/${args.reports.prefix}${DELETE_LEDGER_KEY}` },
    ...kmsStatement("UseReportsBucketKey", args.kmsKeyArns),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

/**
 * write-report: writes the JSON and HTML report and presigns a GET of the HTML one; lists and reads
 * the run's change chunks and merges them into the change log (a multipart upload when it is
 * large, aborted if it fails: CreateMultipartUpload, UploadPart and CompleteMultipartUpload are
 * s3:PutObject, https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
 */
export function writeReportPolicy(args: HandlerPolicyArgs): PolicyDocument {
  return document(
    {
      Sid: "WriteReports",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
      Resource: objectArn(args.reports),
    },
    listPrefixStatement("ListChangeChunks", args.reports),
    ...kmsStatement("UseReportsBucketKey", args.kmsKeyArns),
    lambdaLogsStatement(args.logGroupStreamsArn),
    xrayStatement(LAMBDA_XRAY_ACTIONS),
  );
}

// ---------------------------------------------------------------------------------------------
// Grants no local run exercises

/**
 * The one list of grants that the enforced local runs (local-stepfunctions/iam.ts) never use, each
 * with the reason it is granted all the same: AWS itself sends these requests as the role, outside
 * the handler's code or the definition's Tasks. tests/integration/iam-enforcement.test.ts fails
 * when a role has a grant no run exercises and this list does not name, or names one a run does.
 * Keyed by role: a handler name, or `state-machine`.
 */
export const GRANTS_NOT_EXERCISED_LOCALLY: Readonly<Record<string, Readonly<Record<string, string>>>> = (() => {
  const lambdaRuntime = {
    "logs:CreateLogStream": "The Lambda service writes the function's logs as its role (the function's log group).",
    "logs:PutLogEvents": "The Lambda service writes the function's logs as its role (the function's log group).",
    "xray:PutTraceSegments": "Lambda's active tracing sends the function's trace segments as its role.",
    "xray:PutTelemetryRecords": "Lambda's active tracing sends the function's telemetry as its role.",
  };
  return {
    "validate-input": lambdaRuntime,
    "plan-partitions": lambdaRuntime,
    "sync-range": {
      ...lambdaRuntime,
      "s3:ListMultipartUploadParts":
        "Only a multipart copy that a later call resumes (the call's time budget ran out mid-copy) lists its parts; tests/e2e/large-copy.test.ts runs one, enforced.",
    },
    summarize: {
      ...lambdaRuntime,
      "s3:PutObject":
        "Writes only the delete budget's ledger (maxDeletesPerDay), which these enforced runs do not configure; tests/integration/delete-budget.test.ts runs the ledger's conditional writes on the embedded server.",
      "kms:GenerateDataKey": "Encrypts the delete budget's ledger when the reports bucket is under SSE-KMS (see s3:PutObject).",
    },
    "write-report": {
      ...lambdaRuntime,
      "s3:AbortMultipartUpload":
        "Aborts the multipart upload of a change log too large for one PUT when writing it fails; these runs write small change logs in one PUT.",
    },
    "state-machine": {
      "states:DescribeExecution": "Step Functions watches a Distributed Map's child executions as the machine's role.",
      "states:StopExecution": "Step Functions stops a failed Map Run's child executions as the machine's role.",
      "states:RedriveExecution": "A redrive of the parent execution redrives its Map Runs' children as the machine's role.",
      "logs:CreateLogDelivery": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:GetLogDelivery": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:UpdateLogDelivery": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:DeleteLogDelivery": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:ListLogDeliveries": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:PutResourcePolicy": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:DescribeResourcePolicies": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "logs:DescribeLogGroups": "Step Functions sets up the machine's log delivery when the machine is created or updated.",
      "xray:PutTraceSegments": "Step Functions tracing sends the execution's segments as the machine's role.",
      "xray:PutTelemetryRecords": "Step Functions tracing sends telemetry as the machine's role.",
      "xray:GetSamplingRules": "Step Functions tracing reads the sampling rules as the machine's role.",
      "xray:GetSamplingTargets": "Step Functions tracing reads the sampling targets as the machine's role.",
    },
  };
})();

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
  /** Where plan-partitions writes run plans (the reports bucket and prefix), which the copy Map reads. */
  reports: BucketScope;
  /** KMS keys the reports bucket encrypts with (the plan's reader decrypts with them). */
  kmsKeyArns: readonly string[];
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
 *
 * The copy Map reads the run's plan through its ItemReader with the state machine's own role:
 * `s3:GetObject` on the plan objects ("IAM policies for datasets", ItemReader, AWS Step Functions
 * developer guide: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html),
 * and kms:Decrypt when the reports bucket encrypts with a KMS key.
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
    { Sid: "ReadRunPlans", Effect: "Allow", Action: "s3:GetObject", Resource: runPlanArn(args.reports) },
    ...(args.kmsKeyArns.length > 0
      ? [{ Sid: "DecryptRunPlans", Effect: "Allow" as const, Action: "kms:Decrypt", Resource: [...new Set(args.kmsKeyArns)] }]
      : []),
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

/** The role of a trigger that only starts runs (the on-change rule, the REST API): start this state machine, nothing else. */
export function startSyncPolicy(args: { stateMachineArn: string }): PolicyDocument {
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

// ---------------------------------------------------------------------------------------------
// Dev and prod in different accounts

/** What a handler's role reads in the source bucket: S3 actions on the bucket and on its objects. */
export interface SourceReads {
  bucket: readonly string[];
  objects: readonly string[];
}

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/**
 * The backup account's principal in a resource policy: its root, narrowed to exact role ARNs by an
 * `aws:PrincipalArn` condition. Naming the roles themselves as principals would fail while they do
 * not exist yet (AWS checks a policy's principals when it is set) and would silently stop
 * matching once a role is recreated (the policy keeps the old role's unique principal ID); the
 * account root always exists, and the condition compares the caller's role ARN as a string, so the
 * source stack deploys before or after the backup stack and survives its roles being replaced
 * ("AWS JSON policy elements: Principal", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html;
 * `aws:PrincipalArn`, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
 */
export function backupPrincipal(roleArns: readonly string[]): Pick<PolicyStatement, "Principal" | "Condition"> {
  const accounts = [...new Set(roleArns.map((arn) => arn.split(":").slice(0, 5).join(":")))];
  if (roleArns.length === 0 || accounts.length !== 1) {
    throw new Error(`backupPrincipal: expected role ARNs of one account, got ${JSON.stringify(roleArns)}`);
  }
  const only = roleArns.length === 1 ? roleArns[0] : [...roleArns];
  return { Principal: { AWS: `${accounts[0]}:root` }, Condition: { ArnEquals: { "aws:PrincipalArn": only } } };
}

/**
 * The source bucket's policy statements for a backup stack in another account: each of its roles
 * may do exactly the reads its handler makes in the source (HANDLER_SPECS `sourceReads`), granted
 * to the backup account on condition of that role's ARN (see backupPrincipal).
 */
export function backupReadStatements(args: {
  bucketArn: string;
  roleArns: Record<HandlerName, string>;
  reads: Record<HandlerName, SourceReads>;
}): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const [handler, actions] of Object.entries(args.reads) as Array<[HandlerName, SourceReads]>) {
    const principal = backupPrincipal([args.roleArns[handler]]);
    if (actions.bucket.length > 0) {
      statements.push({ Sid: `Backup${pascal(handler)}ListsBucket`, Effect: "Allow", ...principal, Action: [...actions.bucket], Resource: args.bucketArn });
    }
    if (actions.objects.length > 0) {
      statements.push({ Sid: `Backup${pascal(handler)}ReadsObjects`, Effect: "Allow", ...principal, Action: [...actions.objects], Resource: `${args.bucketArn}/*` });
    }
  }
  return statements;
}

/**
 * The key-policy statement that lets the backup roles which read objects decrypt with the source
 * bucket's key, only through S3 in the key's region (`kms:ViaService`), named by account root and
 * `aws:PrincipalArn` (see backupPrincipal). Part of a stack-created key's policy (backupKeyPolicy),
 * and what the owner of a key given by `kmsKeyArn` adds when they prefer it to the stack's grant.
 * A key policy's `Resource: "*"` is the key itself.
 */
export function backupKeyStatement(args: { partition: string; region: string; decryptRoleArns: readonly string[] }): PolicyStatement {
  const principal = backupPrincipal(args.decryptRoleArns);
  return {
    Sid: "BackupRolesDecryptThroughS3",
    Effect: "Allow",
    Principal: principal.Principal,
    Action: "kms:Decrypt",
    Resource: "*",
    Condition: { ...principal.Condition, StringEquals: { "kms:ViaService": s3ViaService(args.region, args.partition) } },
  };
}

/**
 * The policy of a KMS key the stack creates (`createKmsKey`): the AWS default statement that lets
 * the key's own account govern it with IAM policies ("Default key policy",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html), and, when another
 * account backs the bucket up, backupKeyStatement.
 */
export function stackKeyPolicy(args: { partition: string; region: string; keyAccountId: string; decryptRoleArns?: readonly string[] }): PolicyDocument {
  return document(
    {
      Sid: "EnableIamPoliciesOfTheKeyAccount",
      Effect: "Allow",
      Principal: { AWS: `arn:${args.partition}:iam::${args.keyAccountId}:root` },
      Action: "kms:*",
      Resource: "*",
    },
    ...(args.decryptRoleArns?.length ? [backupKeyStatement({ ...args, decryptRoleArns: args.decryptRoleArns })] : []),
  );
}

/** The forwarding rule's role: put events on the backup account's default bus, nothing else. */
export function eventForwardingPolicy(args: { busArn: string }): PolicyDocument {
  return document({ Sid: "PutEventsOnBackupBus", Effect: "Allow", Action: "events:PutEvents", Resource: args.busArn });
}

// ---------------------------------------------------------------------------------------------
// On-change batches (infra/onChangeBatches.ts)

/** EventBridge Pipes assumes the on-change pipe's role, only for this account's pipes. */
export function pipesTrustPolicy(accountId: string): PolicyDocument {
  return serviceTrustPolicy("pipes.amazonaws.com", accountId);
}

/**
 * The buffer queue: the on-change rule (through EventBridge, by a queue policy, not a role) may
 * send the events it matches, and nothing else may.
 */
export function onChangeBufferQueuePolicy(args: { queueArn: string; ruleArn: string }): PolicyDocument {
  return document({
    Sid: "AcceptEventsOfTheRule",
    Effect: "Allow",
    Principal: { Service: "events.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: args.queueArn,
    Condition: { ArnEquals: { "aws:SourceArn": args.ruleArn } },
  });
}

/**
 * The pipe's role: read and delete the buffer queue's messages (what an SQS source needs,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html), and start
 * the batch machine.
 */
export function onChangePipePolicy(args: { queueArn: string; batchMachineArn: string }): PolicyDocument {
  return document(
    {
      Sid: "ReadBufferQueue",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      Resource: args.queueArn,
    },
    { Sid: "StartBatchRun", Effect: "Allow", Action: "states:StartExecution", Resource: args.batchMachineArn },
  );
}

// ---------------------------------------------------------------------------------------------
// Restore, and a history that cannot be cut short

/**
 * The actions that would shorten or destroy a backup's history: deleting versions for good,
 * changing the lifecycle (retention), suspending versioning, rewriting the bucket policy that
 * holds this very guard, and changing Object Lock. S3 action names from the Service Authorization
 * Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
export const HISTORY_ACTIONS = [
  "s3:DeleteObjectVersion",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutBucketPolicy",
  "s3:PutBucketObjectLockConfiguration",
] as const;

/** Sid of the statement that guards a backup's history; the policy pack looks for it. */
export const HISTORY_GUARD_SID = "DenyHistoryChangesButBreakGlass";

/**
 * Denies HISTORY_ACTIONS to every principal but the break-glass role (by `aws:PrincipalArn`, which
 * matches the role whatever session assumed it). An explicit Deny in the bucket policy wins over
 * any Allow, an account admin's included, so only that role can shorten the history. The stack's
 * own deployments change the lifecycle and the policy too: deploy a backup stack as the
 * break-glass role once this is on.
 */
export function historyGuardStatement(bucketArn: string, breakGlassRoleArn: string): PolicyStatement {
  return {
    Sid: HISTORY_GUARD_SID,
    Effect: "Deny",
    Principal: "*",
    Action: [...HISTORY_ACTIONS],
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { ArnNotEquals: { "aws:PrincipalArn": breakGlassRoleArn } },
  };
}

/**
 * IAM in the backup's account decides who may assume the restore role: its trust names the
 * account, and that account's administrators grant sts:AssumeRole on it to the people and tools
 * who restore (`bucket-sync restore` runs under it).
 */
export function restoreTrustPolicy(partition: string, accountId: string): PolicyDocument {
  return document({
    Effect: "Allow",
    Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
    Action: "sts:AssumeRole",
  });
}

/** What a restore reads in the backup and writes in its one target. */
export interface RestorePolicyArgs {
  backup: BucketScope;
  target: BucketScope;
  /** KMS keys of the backup and the target (SSE-KMS). @default none */
  kmsKeyArns?: readonly string[];
}

/**
 * The restore role: reads the backup's versions (ListObjectVersions, GetObjectVersion and its
 * tags, the versioning and lifecycle that validate-input checks) and writes only the target
 * location: PutObject (copies, multipart parts and their tags), DeleteObject (`--delete`) and the
 * multipart bookkeeping, nothing outside the target prefix.
 */
export function restoreRolePolicy(args: RestorePolicyArgs): PolicyDocument {
  const { backup, target } = args;
  return document(
    {
      Sid: "ListBackupVersions",
      Effect: "Allow",
      Action: "s3:ListBucketVersions",
      Resource: backup.bucketArn,
      ...(backup.prefix ? { Condition: { StringLike: { "s3:prefix": [backup.prefix, `${backup.prefix}*`] } } } : {}),
    },
    // validate-input proves both sides exist with a one-key listing (checkBucketsExist).
    listPrefixStatement("ListBackup", backup),
    { Sid: "CheckBackupHistory", Effect: "Allow", Action: ["s3:GetBucketVersioning", "s3:GetLifecycleConfiguration"], Resource: backup.bucketArn },
    { Sid: "ReadBackupVersions", Effect: "Allow", Action: ["s3:GetObjectVersion", "s3:GetObjectVersionTagging"], Resource: objectArn(backup) },
    listPrefixStatement("ListTarget", target),
    { Sid: "ListTargetUploads", Effect: "Allow", Action: "s3:ListBucketMultipartUploads", Resource: target.bucketArn },
    {
      Sid: "WriteTarget",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: objectArn(target),
    },
    ...kmsStatement("UseBucketKeys", args.kmsKeyArns ?? []),
  );
}

/**
 * The batch machine's role: count run slots in its table, run the sync machine and wait for it
 * (`startExecution.sync:2` needs DescribeExecution and StopExecution on its executions and the
 * managed rule through which Step Functions learns that a run ended,
 * https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html), return a failed
 * batch to the dead-letter queue, and announce it.
 */
export function onChangeBatchMachinePolicy(args: {
  runSlotsTableArn: string;
  syncMachineArn: string;
  syncExecutionsArn: string;
  managedRuleArn: string;
  deadLetterQueueArn: string;
  notificationTopicArn: string;
}): PolicyDocument {
  return document(
    { Sid: "CountRunSlots", Effect: "Allow", Action: "dynamodb:UpdateItem", Resource: args.runSlotsTableArn },
    { Sid: "StartSyncRun", Effect: "Allow", Action: "states:StartExecution", Resource: args.syncMachineArn },
    { Sid: "FollowSyncRun", Effect: "Allow", Action: ["states:DescribeExecution", "states:StopExecution"], Resource: args.syncExecutionsArn },
    { Sid: "LearnThatRunsEnd", Effect: "Allow", Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"], Resource: args.managedRuleArn },
    { Sid: "ReturnFailedBatches", Effect: "Allow", Action: "sqs:SendMessage", Resource: args.deadLetterQueueArn },
    { Sid: "AnnounceFailedBatches", Effect: "Allow", Action: "sns:Publish", Resource: args.notificationTopicArn },
  );
}

/**
 * The target bucket's side of a cross-account restore (the dev stack): the backup account's
 * restore role, named by its ARN as the sync roles' reads are (never the account root, never
 * `*`), may list and write under one prefix. Added beside the bucket's other statements.
 */
export function restoreTargetStatements(args: { target: BucketScope; restoreRoleArn: string }): PolicyStatement[] {
  const principal = { AWS: args.restoreRoleArn };
  return [
    { ...listPrefixStatement("RestoreRoleLists", args.target), Principal: principal },
    { Sid: "RestoreRoleListsUploads", Effect: "Allow", Principal: principal, Action: "s3:ListBucketMultipartUploads", Resource: args.target.bucketArn },
    {
      Sid: "RestoreRoleWrites",
      Effect: "Allow",
      Principal: principal,
      Action: ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: objectArn(args.target),
    },
  ];
}
