import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";

/** The stack output naming a stack's bucket; a sync machine in another stack reads it. */
export const BUCKET_NAME_OUTPUT = "bucketName";
/** The stack output naming a stack's AWS account; a sync machine in another account reads it. */
export const ACCOUNT_ID_OUTPUT = "accountId";
/** The stack output naming the KMS key of a stack's bucket (SSE-KMS); absent for SSE-S3. */
export const KMS_KEY_ARN_OUTPUT = "kmsKeyArn";

/** Where the sync machine's source bucket is. */
export interface SourceBucket {
  /** Known at preview: given by name, or read from the deployed source stack. */
  bucket: pulumi.Output<string>;
  /** The bucket's account: `sourceAccountId`, else the source stack's `accountId` output, else this stack's. */
  accountId: string;
  /** The bucket's KMS key: `sourceKmsKeyArn`, else the source stack's `kmsKeyArn` output. */
  kmsKeyArn?: string;
}

/**
 * The source bucket: given directly (`sourceBucket`), or read from the source stack's
 * `bucketName` output through a StackReference (`sourceStack`), with its account.
 *
 * Both keep the IAM documents that name the source known at `pulumi preview`: an explicit name
 * always, a StackReference once the source stack has been deployed (preview reads its outputs).
 * Before that first deployment, `requireOutput` fails and names the missing output; give the name
 * directly to preview the sync machine without a deployed source stack.
 *
 * The account (and the bucket's KMS key) are plain values (they decide which resources and
 * statements exist): the source stack's outputs are awaited. A source stack deployed before it exported `accountId` counts as this account until it
 * is deployed again.
 */
export async function sourceBucket(
  config: Pick<StackConfig, "sourceStack" | "sourceBucket" | "sourceAccountId" | "sourceKmsKeyArn">,
  stackAccountId: string,
  opts?: pulumi.CustomResourceOptions,
): Promise<SourceBucket> {
  if (config.sourceBucket) {
    return {
      bucket: pulumi.output(config.sourceBucket),
      accountId: config.sourceAccountId ?? stackAccountId,
      kmsKeyArn: config.sourceKmsKeyArn,
    };
  }
  if (!config.sourceStack) throw new Error("sourceBucket: the config names neither sourceBucket nor sourceStack");
  const stack = new pulumi.StackReference("source-stack", { name: config.sourceStack }, opts);
  const text = async (output: string): Promise<string | undefined> => {
    const value = (await stack.getOutputDetails(output)).value as unknown;
    return typeof value === "string" && value ? value : undefined;
  };
  const [exportedAccount, exportedKey] = await Promise.all([text(ACCOUNT_ID_OUTPUT), text(KMS_KEY_ARN_OUTPUT)]);
  return {
    bucket: stack.requireOutput(BUCKET_NAME_OUTPUT).apply((name) => String(name)),
    accountId: config.sourceAccountId ?? exportedAccount ?? stackAccountId,
    kmsKeyArn: config.sourceKmsKeyArn ?? exportedKey,
  };
}
