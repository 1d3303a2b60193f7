import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DELETE_LEDGER_KEY, HANDLER_ENV, HANDLER_NAMES, type HandlerName, type Location, type RequestCeiling, type SyncMode } from "../model/contract";
import { REPORT_PREFIX } from "../model/settings";
import type { HandlerPackaging } from "./config";
import { buildDefinition } from "./definition";
import { createHandlerFunction } from "./handlerPackaging";
import { HardenedBucket } from "./hardenedBucket";
import { HANDLER_SPECS, type HandlerEnvKey } from "./handlerSpecs";
import { handlerPolicyArgs } from "./stackRoles";
import {
  lambdaTrustPolicy,
  stateMachinePolicy,
  stateMachineTrustPolicy,
  type PolicyDocument,
} from "./iamDocuments";
import {
  arns,
  functionLogGroupName,
  functionNames,
  functionRoleName,
  stateMachineLogGroupName,
  stateMachineName,
  type AwsScope,
} from "./names";

/** The state machine alias every trigger starts. */
export const STATE_MACHINE_ALIAS = "live";

export interface SyncMachineArgs {
  /** `<project>-<stack>`: the stem of every physical name (functions, state machine, log groups). */
  nameStem: string;
  /** Partition, region and account, for the ARNs the IAM documents name. */
  scope: pulumi.Input<AwsScope>;
  /** What the functions read (the source bucket; known at preview when it is given by name). */
  source: pulumi.Input<Required<Location>>;
  /** What the functions write (this stack's bucket). */
  destination: pulumi.Input<Required<Location>>;
  /**
   * The mode the stack syncs in. The roles grant what it needs and no more: s3:DeleteObject only
   * for `mirror`, writes into the source only for `two-way`; a request asking for more fails
   * with AccessDenied. @default "backup"
   */
  mode?: SyncMode;
  /**
   * What a request may ask: the stack's configuration. validate-input reads it from its
   * environment and refuses a request that would widen it, however the run was started.
   */
  requestCeiling: pulumi.Input<RequestCeiling>;
  /**
   * Most deletes all runs together may make in a rolling 24 hours, as written (`"10%"`, `"500"`);
   * summarize keeps the ledger in the reports bucket. @default "10%"
   */
  maxDeletesPerDay?: string;
  /** The run metrics' `Stack` dimension (infra/observability.ts alarms on them). @default nameStem */
  metricsStack?: string;
  /** Where the functions come from (a plain value: it decides the resource types). @default "bundle" */
  handlerPackaging?: HandlerPackaging;
  /** Results, failures and delete-approval requests go here. */
  notificationTopic: aws.sns.Topic;
  /** Name of the bucket write-report stores reports in; the component creates it. */
  reportsBucketName: pulumi.Input<string>;
  /** Key prefix of reports in that bucket. @default REPORT_PREFIX.default (model/settings.ts) */
  reportPrefix?: string;
  /** Days a report is kept. @default 90 */
  reportRetentionDays?: pulumi.Input<number>;
  /** KMS key of this stack's buckets (SSE-KMS); the functions may use it. @default SSE-S3 */
  kmsKeyArn?: pulumi.Input<string | undefined>;
  /**
   * KMS key of the source bucket (SSE-KMS), when not `kmsKeyArn`: sync-range may decrypt with it
   * through S3 only (`kms:ViaService`). @default none
   */
  sourceKmsKeyArn?: pulumi.Input<string | undefined>;
  /** Days a noncurrent report version is kept. @default 30 */
  noncurrentVersionRetentionDays?: pulumi.Input<number>;
  /** `protect` the reports bucket. @default false */
  protectBuckets?: boolean;
  /** Retention of every log group the component creates. @default 30 */
  logRetentionDays?: pulumi.Input<number>;
  /** Most partitions synced at once by each Distributed Map. @default 16 */
  maxConcurrency?: number;
  /** Timeout of the sync-range function and Task. @default 900 */
  syncRangeTimeoutSeconds?: number;
  /** State machine log level. @default "ERROR" */
  logLevel?: pulumi.Input<"ALL" | "ERROR" | "FATAL" | "OFF">;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The sync machine: a Lambda function per handler, each with its own least-privilege role and
 * log group, a reports bucket, and the Step Functions state machine (STANDARD, logged, traced)
 * that runs them, with a role trusted by `states.amazonaws.com` for this account only.
 */
export class SyncMachine extends pulumi.ComponentResource {
  readonly functions: Record<HandlerName, aws.lambda.Function>;
  readonly functionRoles: Record<HandlerName, aws.iam.Role>;
  readonly reportsBucket: HardenedBucket;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly stateMachine: aws.sfn.StateMachine;
  /** The alias every trigger starts: it points at the version this deployment published. */
  readonly alias: aws.sfn.Alias;
  readonly stateMachineArn: pulumi.Output<string>;
  /** The ARN runs are started with (the alias's). */
  readonly startArn: pulumi.Output<string>;
  readonly stateMachineName: pulumi.Output<string>;

  constructor(name: string, args: SyncMachineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:SyncMachine", name, args, opts);

    const scope = pulumi.output(args.scope);
    const machineName = stateMachineName(args.nameStem);
    const fnNames = functionNames(args.nameStem, HANDLER_NAMES);
    const reportPrefix = args.reportPrefix ?? REPORT_PREFIX.default;
    const logRetentionDays = args.logRetentionDays ?? 30;
    const syncRangeTimeoutSeconds = args.syncRangeTimeoutSeconds ?? 900;

    this.reportsBucket = new HardenedBucket(
      `${name}-reports`,
      {
        bucketName: args.reportsBucketName,
        partition: scope.partition,
        kmsKeyArn: args.kmsKeyArn,
        noncurrentVersionRetentionDays: args.noncurrentVersionRetentionDays,
        expirationDays: args.reportRetentionDays ?? 90,
        protect: args.protectBuckets,
        tags: args.tags,
      },
      { parent: this },
    );

    // What each HANDLER_ENV variable is in this stack; a handler's entry in HANDLER_SPECS says
    // which of them its function is given. (No custom endpoint: on AWS the SDK finds S3 itself.)
    const environmentValues: Partial<Record<HandlerEnvKey, pulumi.Input<string>>> = {
      reportBucket: this.reportsBucket.bucketName,
      reportPrefix,
      requestCeiling: pulumi.output(args.requestCeiling).apply((ceiling) => JSON.stringify(ceiling)),
      deleteBudget: pulumi
        .all([this.reportsBucket.bucketName, args.source])
        .apply(([bucket, source]) =>
          JSON.stringify({ bucket, key: `${reportPrefix}${DELETE_LEDGER_KEY}`, perDay: args.maxDeletesPerDay ?? "10%", sourcePrefix: source.prefix }),
        ),
      metricsStack: args.metricsStack ?? args.nameStem,
    };
    const environmentOf = (handler: HandlerName): Record<string, pulumi.Input<string>> =>
      Object.fromEntries(
        HANDLER_SPECS[handler].environment.map((k) => {
          const value = environmentValues[k];
          if (value === undefined) throw new Error(`SyncMachine: the ${handler} handler needs ${HANDLER_ENV[k]}, which a deployed stack does not set`);
          return [HANDLER_ENV[k], value];
        }),
      );

    const functions = {} as Record<HandlerName, aws.lambda.Function>;
    const functionRoles = {} as Record<HandlerName, aws.iam.Role>;
    for (const handler of HANDLER_NAMES) {
      const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-${handler}-logs`,
        { name: functionLogGroupName(fnNames[handler]), retentionInDays: logRetentionDays, tags: args.tags },
        { parent: this },
      );
      const role = new aws.iam.Role(
        `${name}-${handler}-role`,
        {
          // A fixed name: a source bucket in another account grants this role by its ARN.
          name: functionRoleName(args.nameStem, handler),
          description: `Runs the ${handler} handler of ${machineName}.`,
          assumeRolePolicy: JSON.stringify(lambdaTrustPolicy()),
          tags: args.tags,
        },
        // The name is fixed, and IAM refuses a second role of the same name, so Pulumi's default
        // (create the replacement, then delete the old one) would fail with EntityAlreadyExists.
        // Deleting first is safe: nothing runs under the role in between but the functions it is
        // replaced with, and the source account grants it by ARN condition (aws:PrincipalArn),
        // which matches the new role as it did the old one. A random name suffix would avoid the
        // gap, but then the source account could not name the role before it exists.
        { parent: this, deleteBeforeReplace: true },
      );
      const policy = new aws.iam.RolePolicy(
        `${name}-${handler}-policy`,
        {
          role: role.id,
          policy: pulumi
            .all([scope, args.source, args.destination, args.reportsBucketName, args.kmsKeyArn, args.sourceKmsKeyArn])
            .apply(([s, source, destination, reportsBucket, kmsKeyArn, sourceKmsKeyArn]) =>
              json(
                HANDLER_SPECS[handler].policy(
                  handlerPolicyArgs(
                    { nameStem: args.nameStem, scope: s, source, destination, reportsBucket, reportPrefix, mode: args.mode, kmsKeyArn, sourceKmsKeyArn },
                    handler,
                  ),
                ),
              ),
            ),
        },
        { parent: this },
      );
      const spec = HANDLER_SPECS[handler];
      functions[handler] = createHandlerFunction(
        `${name}-${handler}`,
        {
          handler,
          packaging: args.handlerPackaging ?? "bundle",
          functionName: fnNames[handler],
          roleArn: role.arn,
          environment: environmentOf(handler),
          timeoutSeconds: spec.timeoutSeconds({ syncRangeTimeoutSeconds }),
          memorySizeMb: spec.memorySizeMb,
          logGroupName: logGroup.name,
          description: spec.description,
        },
        // The role's permissions must exist before the first invocation can need them.
        { parent: this, dependsOn: [policy, logGroup] },
      );
      functionRoles[handler] = role;
    }
    this.functions = functions;
    this.functionRoles = functionRoles;

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: stateMachineLogGroupName(args.nameStem), retentionInDays: logRetentionDays, tags: args.tags },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Runs the ${machineName} state machine.`,
        assumeRolePolicy: scope.apply((s) => json(stateMachineTrustPolicy(s.accountId))),
        tags: args.tags,
      },
      { parent: this },
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi.all([scope, args.notificationTopic.name, args.reportsBucketName, args.kmsKeyArn]).apply(([s, topicName, reportsBucket, kmsKeyArn]) =>
          json(
            stateMachinePolicy({
              // The definition invokes published versions (`function:<name>:<version>`), and runs
              // started before a deploy still invoke the versions they started with.
              functionArns: HANDLER_NAMES.map((h) => `${arns.lambdaFunction(s, fnNames[h])}:*`),
              notificationTopicArn: arns.snsTopic(s, topicName),
              stateMachineArn: arns.stateMachine(s, machineName),
              executionsArn: arns.executions(s, machineName),
              childExecutionsArn: arns.childExecutions(s, machineName),
              reports: { bucketArn: arns.bucket(s.partition, reportsBucket), prefix: reportPrefix },
              kmsKeyArns: kmsKeyArn ? [kmsKeyArn] : [],
            }),
          ),
        ),
      },
      { parent: this },
    );

    // The definition invokes the versions this deployment published (qualifiedArn), which also
    // orders the state machine after them. A deploy during a run (a 24-hour delete approval, a
    // copy spread over many calls) publishes new versions and a new state machine version; the
    // run goes on with the definition it started with, and so with the code it started with:
    // Step Functions keeps a started execution on its definition, and Lambda versions are
    // immutable ("Lambda function versions",
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html).
    const functionArns = pulumi.all(
      Object.fromEntries(HANDLER_NAMES.map((h) => [h, functions[h].qualifiedArn])) as Record<HandlerName, pulumi.Output<string>>,
    );
    this.stateMachine = new aws.sfn.StateMachine(
      `${name}-state-machine`,
      {
        name: machineName,
        type: "STANDARD",
        roleArn: this.role.arn,
        definition: pulumi.all([functionArns, args.notificationTopic.arn]).apply(([fns, topicArn]) =>
          JSON.stringify(
            buildDefinition({
              functionArns: fns as Record<HandlerName, string>,
              notificationTopicArn: topicArn,
              maxConcurrency: args.maxConcurrency,
              syncRangeTimeoutSeconds,
            }),
          ),
        ),
        loggingConfiguration: {
          logDestination: pulumi.interpolate`${this.logGroup.arn}:*`,
          includeExecutionData: true,
          level: args.logLevel ?? "ERROR",
        },
        tracingConfiguration: { enabled: true },
        // Each change publishes a version; the alias below moves to it.
        publish: true,
        tags: args.tags,
      },
      // Step Functions checks at creation that the role may deliver logs.
      { parent: this, dependsOn: [rolePolicy] },
    );
    // The triggers start the alias: an execution started through it is tied to the version it
    // pointed to at start ("How Step Functions associates executions with a version or alias",
    // https://docs.aws.amazon.com/step-functions/latest/dg/execution-alias-version-associate.html).
    // Starting through an alias is authorized on the state machine's own ARN ("Authorization for
    // versions and aliases", https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html),
    // so the triggers' policies name the machine.
    this.alias = new aws.sfn.Alias(
      `${name}-live`,
      {
        name: STATE_MACHINE_ALIAS,
        description: "What the schedule, the on-change rule and the REST API start.",
        routingConfigurations: [{ stateMachineVersionArn: this.stateMachine.stateMachineVersionArn, weight: 100 }],
      },
      { parent: this },
    );

    this.stateMachineArn = this.stateMachine.arn;
    this.startArn = this.alias.arn;
    this.stateMachineName = this.stateMachine.name;
    this.registerOutputs({
      stateMachineArn: this.stateMachineArn,
      startArn: this.startArn,
      stateMachineName: this.stateMachineName,
      reportsBucketName: this.reportsBucket.bucketName,
    });
  }
}

function json(document: PolicyDocument): string {
  return JSON.stringify(document);
}
