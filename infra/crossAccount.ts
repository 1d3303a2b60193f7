/**
 * Dev and prod in different AWS accounts. The source side (dev, `backupAccountId`) grants the
 * backup stack's sync roles what they read and forwards its bucket's events to the backup
 * account; the backup side (prod, a source in another account) admits those events onto its
 * default bus. Same-account stacks create none of this.
 *
 * Everything here adds to what the accounts already have and replaces nothing the stacks do not
 * own: the bus gets one permission statement (not a whole bus policy), and a KMS key given by
 * `kmsKeyArn` gets a grant (not a new key policy); only a key the stack creates (`createKmsKey`)
 * has its policy written by the stack.
 *
 * The backup roles are named by the backup account's root with an `aws:PrincipalArn` condition on
 * their exact ARNs (infra/iamDocuments.ts `backupPrincipal`), deterministic from the project and
 * the backup stack's name (infra/names.ts `functionRoleName`): the stacks deploy in either order,
 * and a recreated role is matched again.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HANDLER_NAMES, type HandlerName } from "../model/contract";
import {
  backupKeyStatement,
  backupReadStatements,
  eventForwardingPolicy,
  eventsTrustPolicy,
  stackKeyPolicy,
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

/** The ARNs of the backup roles that read objects, and so decrypt them. */
export function backupDecryptRoleArns(partition: string, backup: BackupStack): string[] {
  const roleArns = backupRoleArns(partition, backup);
  return HANDLER_NAMES.filter((h) => HANDLER_SPECS[h].sourceReads.objects.length > 0).map((h) => roleArns[h]);
}

export interface StackKmsKeyArgs {
  /** What the key encrypts, for its description. */
  description: string;
  scope: AwsScope;
  /** Another account's stack that backs the bucket up: its reading roles may decrypt. @default none */
  backup?: BackupStack;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A KMS key the stack creates for its buckets (`createKmsKey`), so its policy is the stack's to
 * write: the account's default statement and, for a backup account, backupKeyStatement. Rotated
 * yearly; deleted after the longest waiting period (30 days) if the stack is destroyed.
 */
export class StackKmsKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: StackKmsKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:StackKmsKey", name, args, opts);
    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: args.description,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: JSON.stringify(
          stackKeyPolicy({
            partition: args.scope.partition,
            region: args.scope.region,
            keyAccountId: args.scope.accountId,
            decryptRoleArns: args.backup ? backupDecryptRoleArns(args.scope.partition, args.backup) : undefined,
          }),
        ),
        tags: args.tags,
      },
      { parent: this },
    );
    this.keyArn = this.key.arn;
    this.registerOutputs({ keyArn: this.keyArn });
  }
}

export interface BackupKeyGrantArgs {
  /** The bucket's KMS key, given by `kmsKeyArn`: its policy belongs to whoever created it. */
  kmsKeyArn: string;
  /** The bucket whose objects the grant lets the backup account decrypt. */
  bucketName: string;
  scope: AwsScope;
  backup: BackupStack;
}

/**
 * Lets the backup account decrypt the bucket's objects with a key the stack does not own, without
 * touching the key's policy: one KMS grant, added beside whatever grants and policy the key has.
 *
 * A grant cannot carry `kms:ViaService` or `aws:PrincipalArn`; it can carry an encryption-context
 * constraint ("Grant constraints",
 * https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html). S3 asks KMS with
 * the context `aws:s3:arn`, which is the bucket's ARN when the bucket uses an S3 Bucket Key, as
 * HardenedBucket's buckets do ("Encryption context",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context),
 * so the grant decrypts only through S3 and only this bucket. Its grantee is the backup account
 * (its root: it always exists, so the order of deploys does not matter); within that account only
 * the principals whose IAM policy allows kms:Decrypt on the key can use it, and the sync roles are
 * given it only for sync-range, only through S3 (`sourceKmsKeyArn`).
 *
 * The key's owner who prefers a key-policy statement to a grant adds `keyPolicyStatement`, the
 * stack's `backupKeyPolicyStatement` output.
 */
export class BackupKeyGrant extends pulumi.ComponentResource {
  readonly grant: aws.kms.Grant;
  /** The equivalent statement for the key's policy, for its owner. */
  readonly keyPolicyStatement: PolicyStatement;

  constructor(name: string, args: BackupKeyGrantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:BackupKeyGrant", name, args, opts);
    const partition = args.scope.partition;
    this.grant = new aws.kms.Grant(
      `${name}-grant`,
      {
        // Grant names allow letters, digits and `:/_-` (a bucket name may hold dots); at most 256.
        name: `${nameStem(args.backup.project, args.backup.stack)}-reads-${args.bucketName}`.replace(/[^A-Za-z0-9:/_-]/g, "-").slice(0, 256),
        keyId: args.kmsKeyArn,
        granteePrincipal: `arn:${partition}:iam::${args.backup.accountId}:root`,
        operations: ["Decrypt"],
        constraints: [{ encryptionContextEquals: { "aws:s3:arn": arns.bucket(partition, args.bucketName) } }],
      },
      { parent: this },
    );
    this.keyPolicyStatement = backupKeyStatement({
      partition,
      region: args.scope.region,
      decryptRoleArns: backupDecryptRoleArns(partition, args.backup),
    });
    this.registerOutputs({ grantId: this.grant.grantId });
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
      // A fixed name cannot exist twice: a replacement deletes the old role first.
      { parent: this, deleteBeforeReplace: true },
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
  /** The permission's statement id on the bus (unique per bus; infra/names.ts). */
  statementId: string;
}

/**
 * Admits the source account's events onto this account's default bus with one permission
 * statement (EventBridge PutPermission with a StatementId), added beside every other statement of
 * the bus's policy. A whole bus policy (aws.cloudwatch.EventBusPolicy) would replace the others,
 * and the two resources cannot be mixed on one bus
 * (https://www.pulumi.com/registry/packages/aws/api-docs/cloudwatch/eventpermission/). A
 * permission statement carries no `events:source` condition, so the account may put any event on
 * the bus; what starts a sync is decided by the on-change rule's pattern (S3 events of the source
 * bucket from that account), as before.
 */
export class SourceAccountEvents extends pulumi.ComponentResource {
  readonly permission: aws.cloudwatch.EventPermission;

  constructor(name: string, args: SourceAccountEventsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:SourceAccountEvents", name, args, opts);
    this.permission = new aws.cloudwatch.EventPermission(
      `${name}-permission`,
      { eventBusName: "default", principal: args.sourceAccountId, action: "events:PutEvents", statementId: args.statementId },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
