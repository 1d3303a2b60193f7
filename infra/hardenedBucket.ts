import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { historyGuardStatement, tlsOnlyBucketPolicy, type PolicyStatement } from "./iamDocuments";
import { arns } from "./names";

export interface HardenedBucketArgs {
  /**
   * The bucket's physical name. Fixed (no random suffix) so IAM documents naming the bucket are
   * known at preview time.
   */
  bucketName: pulumi.Input<string>;
  /** Partition of the bucket ARN. @default "aws" */
  partition?: pulumi.Input<string>;
  /** KMS key for default encryption (SSE-KMS with an S3 Bucket Key). @default SSE-S3 (AES256) */
  kmsKeyArn?: pulumi.Input<string | undefined>;
  /** Days a noncurrent object version is kept. @default 30 */
  noncurrentVersionRetentionDays?: pulumi.Input<number>;
  /**
   * Days a current object is kept; for buckets of generated files such as reports.
   * @default kept until deleted
   */
  expirationDays?: pulumi.Input<number>;
  /**
   * Send the bucket's events to EventBridge (for on-change syncs in another stack). A plain
   * boolean: it decides whether the bucket has a notification configuration at all.
   * @default false
   */
  eventBridgeNotifications?: boolean;
  /**
   * Grants the bucket policy adds beside its TLS guard, such as another account's sync roles
   * (infra/crossAccount.ts). @default none
   */
  grants?: pulumi.Input<PolicyStatement[]>;
  /** `protect` the bucket (a resource option, hence plain) so Pulumi refuses to delete or replace it. @default false */
  protect?: boolean;
  /**
   * The bucket holds a backup: tagged `bucket-sync:backup` so the policy pack holds it to the
   * history rules (retention, and the history guard below). A plain boolean. @default false
   */
  backup?: boolean;
  /**
   * S3 Object Lock default retention for new object versions: GOVERNANCE (a principal with
   * s3:BypassGovernanceRetention may still delete early) or COMPLIANCE (nobody, the root user
   * included, until the days pass). Object Lock needs versioning, and once on it can never be
   * turned off nor versioning suspended. AWS now enables it on an existing bucket too
   * (PutObjectLockConfiguration, "Enable Object Lock on an existing S3 bucket",
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html), so adding
   * it to a deployed stack does not replace the bucket; the retention applies to versions written
   * from then on, not to those already there. @default none
   */
  objectLock?: pulumi.Input<{ mode: "GOVERNANCE" | "COMPLIANCE"; days: number } | undefined>;
  /**
   * The only role that may shorten the history: the bucket policy denies every other principal
   * the HISTORY_ACTIONS (see iamDocuments.ts `historyGuardStatement`). Deploy later changes to the
   * bucket's lifecycle or policy as this role. @default no guard
   */
  breakGlassRoleArn?: pulumi.Input<string | undefined>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The tag that marks a bucket holding a backup, for the policy pack's history rule. */
export const BACKUP_TAG = "bucket-sync:backup";

/**
 * An S3 bucket with the hardening every bucket of this project gets: versioning, default
 * encryption, all public access blocked, ACLs disabled (BucketOwnerEnforced), a TLS-only bucket
 * policy, and a lifecycle rule that expires noncurrent versions and abandoned multipart uploads.
 */
export class HardenedBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  /** The bucket's name; known at preview (it is the configured name). */
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: HardenedBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:HardenedBucket", name, args, opts);

    const tags = args.backup
      ? pulumi.output(args.tags ?? {}).apply((given) => ({ ...given, [BACKUP_TAG]: "true" }))
      : args.tags;
    this.bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: args.bucketName, forceDestroy: false, tags },
      { parent: this, protect: args.protect ?? false },
    );
    const bucket = this.bucket.bucket;

    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent: this },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        rules: [
          {
            applyServerSideEncryptionByDefault: pulumi
              .output(args.kmsKeyArn)
              .apply((kmsMasterKeyId) =>
                kmsMasterKeyId ? { sseAlgorithm: "aws:kms", kmsMasterKeyId } : { sseAlgorithm: "AES256" },
              ),
            bucketKeyEnabled: pulumi.output(args.kmsKeyArn).apply((key) => Boolean(key)),
          },
        ],
      },
      { parent: this },
    );
    // The policy names the bucket by its configured name, not `bucket.arn`, so it is known at preview.
    const bucketArn = pulumi
      .all([args.partition ?? "aws", args.bucketName])
      .apply(([partition, bucketName]) => arns.bucket(partition, bucketName));
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket,
        policy: pulumi.all([bucketArn, args.grants ?? [], args.breakGlassRoleArn]).apply(([arn, grants, breakGlass]) => {
          const policy = tlsOnlyBucketPolicy(arn);
          const guard = breakGlass ? [historyGuardStatement(arn, breakGlass)] : [];
          return JSON.stringify({ ...policy, Statement: [...policy.Statement, ...guard, ...grants] });
        }),
      },
      // After the public access block: S3 judges a policy against the block in force. Once named
      // for its TLS guard alone; the alias keeps existing stacks from replacing it.
      { parent: this, dependsOn: [publicAccessBlock, ownership], aliases: [{ name: `${name}-tls-only` }] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionRetentionDays ?? 30 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            expiration: pulumi
              .output(args.expirationDays)
              .apply((days) => (days === undefined ? { expiredObjectDeleteMarker: true } : { days })),
          },
        ],
      },
      // Lifecycle rules on noncurrent versions need versioning first.
      { parent: this, dependsOn: [versioning] },
    );
    if (args.objectLock !== undefined) {
      new aws.s3.BucketObjectLockConfiguration(
        `${name}-object-lock`,
        {
          bucket,
          objectLockEnabled: "Enabled",
          rule: pulumi.output(args.objectLock).apply((lock) => (lock ? { defaultRetention: { mode: lock.mode, days: lock.days } } : undefined)),
        },
        // Object Lock needs versioning on first.
        { parent: this, dependsOn: [versioning] },
      );
    }
    if (args.eventBridgeNotifications) {
      new aws.s3.BucketNotification(`${name}-notifications`, { bucket, eventbridge: true }, { parent: this });
    }

    this.bucketName = bucket;
    this.bucketArn = this.bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
