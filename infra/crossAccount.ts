/**
 * Dev and prod in different AWS accounts. The source side (dev, `backupAccountId`) grants the
 * backup stack's sync roles what they read and forwards its bucket's events to the backup
 * account; the backup side (prod, a source in another account) lets those events onto its default
 * bus. Same-account stacks create none of this.
 *
 * The backup roles are named by ARN, deterministic from the project and the backup stack's name
 * (infra/names.ts `functionRoleName`), never the account root or `*`. AWS checks that a principal
 * in a bucket or key policy exists when the policy is set, so the backup stack is deployed first
 * (README, "Dev and prod in different accounts").
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HANDLER_NAMES, type HandlerName } from "../model/contract";
import {
  backupKeyPolicy,
  backupReadStatements,
  eventForwardingPolicy,
  eventsTrustPolicy,
  sourceAccountBusPolicy,
  type PolicyStatement,
} from "./iamDocuments";
import { HANDLER_SPECS, sourceReadsOf } from "./handlerSpecs";
import { arns, functionRoleName, nameStem, type AwsScope } from "./names";
import { onChangeEventPattern } from "./triggers";

/** The backup stack whose sync roles read this stack's bucket. */
export interface BackupStack {
  project: string;
  /** Its stack name (`backupStack`). */
  stack: string;
  accountId: string;
}

/** The ARN of each sync role of the backup stack, by handler. */
export function backupRoleArns(partition: string, backup: BackupStack): Record<HandlerName, string> {
  const stem = nameStem(backup.project, backup.stack);
  return Object.fromEntries(
    HANDLER_NAMES.map((h) => [h, arns.role(partition, backup.accountId, functionRoleName(stem, h))]),
  ) as Record<HandlerName, string>;
}

/** The bucket-policy statements that let the backup stack's roles read the bucket. */
export function backupBucketGrants(partition: string, bucketName: string, backup: BackupStack): PolicyStatement[] {
  return backupReadStatements({ bucketArn: arns.bucket(partition, bucketName), roleArns: backupRoleArns(partition, backup), reads: sourceReadsOf() });
}

export interface BackupKeyAccessArgs {
  /** The bucket's KMS key (in this stack's account). */
  kmsKeyArn: string;
  scope: AwsScope;
  backup: BackupStack;
}

/**
 * The policy of the bucket's KMS key when another account backs it up: this account keeps
 * governing the key with IAM (the AWS default statement), and the backup roles that read objects
 * may decrypt, only through S3. The stack manages the key's whole policy from then on.
 */
export class BackupKeyAccess extends pulumi.ComponentResource {
  readonly keyPolicy: aws.kms.KeyPolicy;

  constructor(name: string, args: BackupKeyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:BackupKeyAccess", name, args, opts);
    const keyAccount = args.kmsKeyArn.split(":")[4];
    if (keyAccount !== args.scope.accountId) {
      throw new pulumi.RunError(
        `kmsKeyArn ${args.kmsKeyArn} is in account ${keyAccount}, not this stack's (${args.scope.accountId}): ` +
          "only the key's own account can grant the backup account's roles on it",
      );
    }
    const roleArns = backupRoleArns(args.scope.partition, args.backup);
    const readers = HANDLER_NAMES.filter((h) => HANDLER_SPECS[h].sourceReads.objects.length > 0).map((h) => roleArns[h]);
    this.keyPolicy = new aws.kms.KeyPolicy(
      `${name}-key-policy`,
      {
        keyId: args.kmsKeyArn,
        policy: JSON.stringify(
          backupKeyPolicy({
            partition: args.scope.partition,
            region: args.scope.region,
            keyAccountId: args.scope.accountId,
            decryptRoleArns: readers,
          }),
        ),
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

export interface EventForwardingArgs {
  /** The rule's and its role's physical name. */
  name: string;
  scope: AwsScope;
  /** The bucket whose object events are forwarded. */
  bucketName: pulumi.Input<string>;
  /** The account whose default bus (same region) receives them. */
  backupAccountId: string;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Forwards the bucket's object events (the on-change rule's own pattern: created and deleted,
 * lifecycle expirations left out) to the backup account's default event bus, through a role of
 * its own allowed only `events:PutEvents` on that bus ("Sending and receiving events between AWS
 * accounts", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html).
 */
export class EventForwarding extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;
  readonly role: aws.iam.Role;
  readonly target: aws.cloudwatch.EventTarget;

  constructor(name: string, args: EventForwardingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:EventForwarding", name, args, opts);
    const busArn = arns.defaultEventBus({ ...args.scope, accountId: args.backupAccountId });

    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        name: args.name,
        description: `Forwards the bucket's object events to account ${args.backupAccountId}, whose sync machine backs it up.`,
        eventPattern: pulumi.output(args.bucketName).apply((bucket) => JSON.stringify(onChangeEventPattern(bucket, ""))),
        tags: args.tags,
      },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.name,
        description: `Lets the ${args.name} rule put events on account ${args.backupAccountId}'s default bus.`,
        assumeRolePolicy: JSON.stringify(eventsTrustPolicy(args.scope.accountId)),
        tags: args.tags,
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: JSON.stringify(eventForwardingPolicy({ busArn })) },
      { parent: this },
    );
    this.target = new aws.cloudwatch.EventTarget(
      `${name}-target`,
      { rule: this.rule.name, arn: busArn, roleArn: this.role.arn },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn });
  }
}

export interface SourceAccountEventsArgs {
  scope: AwsScope;
  /** The source bucket's account, which forwards its S3 events here. */
  sourceAccountId: string;
}

/**
 * The default event bus's policy, admitting the source account's S3 events. A bus has one policy;
 * the stack manages it.
 */
export class SourceAccountEvents extends pulumi.ComponentResource {
  readonly busPolicy: aws.cloudwatch.EventBusPolicy;

  constructor(name: string, args: SourceAccountEventsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:SourceAccountEvents", name, args, opts);
    this.busPolicy = new aws.cloudwatch.EventBusPolicy(
      `${name}-bus-policy`,
      {
        eventBusName: "default",
        policy: JSON.stringify(
          sourceAccountBusPolicy({
            busArn: arns.defaultEventBus(args.scope),
            partition: args.scope.partition,
            sourceAccountId: args.sourceAccountId,
          }),
        ),
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
