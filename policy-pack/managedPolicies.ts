/**
 * AWS managed policies known to grant wildcard S3 access: the one list the pack consults when a
 * role gets a policy by ARN (`aws.iam.RolePolicyAttachment`, `aws.iam.PolicyAttachment`,
 * `aws.iam.RolePolicyAttachmentsExclusive`, `aws.iam.Role.managedPolicyArns`).
 *
 * Each entry keeps the statements of the published default version that concern S3, so the pack
 * checks them with the same rules as a role's own documents and the violation says exactly what
 * the managed policy grants. Sources: the AWS Managed Policy Reference page given with each entry
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/), which shows the document
 * that `aws iam get-policy-version --policy-arn <arn> --version-id <version>` returns.
 *
 * `aws.lambda.CallbackFunction` without a `role` attaches AmazonS3FullAccess (among others), so a
 * program that forgets the role is caught here. A managed policy that is not listed is not
 * reported: its contents are not known to the pack.
 *
 * No Pulumi import: the CLI and the rule tests load this file too.
 */

export interface ManagedPolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow";
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource: string | readonly string[];
}

export interface ManagedPolicy {
  /** The policy name, e.g. `AmazonS3FullAccess`. */
  readonly name: string;
  /** The IAM path of the policy: `/` for most, `/job-function/` or `/service-role/` for some. */
  readonly path: string;
  /** The default version whose statements are recorded below. */
  readonly version: string;
  /** Where the document is published. */
  readonly source: string;
  /** Whether `document` is the whole published document or only its S3 statements. */
  readonly excerpt: boolean;
  readonly document: { readonly Version: "2012-10-17"; readonly Statement: readonly ManagedPolicyStatement[] };
}

const REFERENCE = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference";

export const WILDCARD_S3_MANAGED_POLICIES: readonly ManagedPolicy[] = [
  {
    name: "AmazonS3FullAccess",
    path: "/",
    version: "v2",
    source: `${REFERENCE}/AmazonS3FullAccess.html`,
    excerpt: false,
    document: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:*", "s3-object-lambda:*"], Resource: "*" }],
    },
  },
  {
    name: "AmazonS3ReadOnlyAccess",
    path: "/",
    version: "v3",
    source: `${REFERENCE}/AmazonS3ReadOnlyAccess.html`,
    excerpt: false,
    document: {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"],
          Resource: "*",
        },
      ],
    },
  },
  {
    name: "AdministratorAccess",
    path: "/",
    version: "v1",
    source: `${REFERENCE}/AdministratorAccess.html`,
    excerpt: false,
    document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
  },
  {
    name: "PowerUserAccess",
    path: "/",
    version: "v12",
    source: `${REFERENCE}/PowerUserAccess.html`,
    // The second statement grants only account:, iam: and organizations: reads.
    excerpt: true,
    document: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" }],
    },
  },
  {
    name: "ReadOnlyAccess",
    path: "/",
    version: "v87",
    source: `${REFERENCE}/ReadOnlyAccess.html`,
    // Its single statement lists read actions of every service on "*"; these are the S3 ones.
    excerpt: true,
    document: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:DescribeJob", "s3:Get*", "s3:List*"], Resource: "*" }],
    },
  },
  {
    name: "AWSLambdaExecute",
    path: "/",
    version: "v1",
    source: `${REFERENCE}/AWSLambdaExecute.html`,
    // The other statement grants logs:* on arn:aws:logs:*:*:*.
    excerpt: true,
    document: {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::*" }],
    },
  },
];

const AWS_MANAGED_ARN = /^arn:[^:]+:iam::aws:policy(\/.*\/|\/)([^/]+)$/;

/** Whether `arn` names an AWS managed policy (`arn:<partition>:iam::aws:policy/...`), listed or not. */
export function isAwsManagedPolicyArn(arn: string): boolean {
  return AWS_MANAGED_ARN.test(arn);
}

/** The listed managed policy `arn` names, in any partition; undefined for any other ARN. */
export function findManagedPolicy(arn: string): ManagedPolicy | undefined {
  const match = AWS_MANAGED_ARN.exec(arn);
  if (!match) return undefined;
  const [, path, name] = match;
  return WILDCARD_S3_MANAGED_POLICIES.find((p) => p.name === name && p.path === path);
}
