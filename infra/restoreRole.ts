import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { restoreRolePolicy, restoreTrustPolicy } from "./iamDocuments";
import { arns } from "./names";

export interface RestoreRoleArgs {
  /** The role's name; deterministic, so a dev stack in another account can name it in its bucket policy. */
  roleName: string;
  partition: string;
  /** This (the backup's) account: its IAM decides who may assume the role. */
  accountId: string;
  /** The backup bucket and prefix the role reads versions from. */
  backup: { bucketName: string; prefix: string };
  /** The one location the role may write (`restoreTarget`). */
  target: { bucketName: string; prefix: string };
  /** KMS keys of the backup and target buckets (SSE-KMS). @default none */
  kmsKeyArns?: string[];
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The role a restore runs under (`bucket-sync restore`, assumed by whoever this account lets):
 * the backup stays read-only for the sync roles, and this role reads the backup's versions and
 * writes only the configured target. Created only when a stack sets `restoreTarget`.
 */
export class RestoreRole extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: RestoreRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:RestoreRole", name, args, opts);
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        assumeRolePolicy: JSON.stringify(restoreTrustPolicy(args.partition, args.accountId)),
        tags: args.tags,
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: JSON.stringify(
          restoreRolePolicy({
            backup: { bucketArn: arns.bucket(args.partition, args.backup.bucketName), prefix: args.backup.prefix },
            target: { bucketArn: arns.bucket(args.partition, args.target.bucketName), prefix: args.target.prefix },
            kmsKeyArns: args.kmsKeyArns,
          }),
        ),
      },
      { parent: this },
    );
    this.roleArn = this.role.arn;
    this.registerOutputs({ roleArn: this.roleArn });
  }
}
