import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";

/** The stack output naming a stack's bucket; a sync machine in another stack reads it. */
export const BUCKET_NAME_OUTPUT = "bucketName";

/**
 * The source bucket's name: given directly (`sourceBucket`), or read from the source stack's
 * `bucketName` output through a StackReference (`sourceStack`).
 *
 * Both keep the IAM documents that name the source known at `pulumi preview`: an explicit name
 * always, a StackReference once the source stack has been deployed (preview reads its outputs).
 * Before that first deployment, `requireOutput` fails and names the missing output; give the name
 * directly to preview the sync machine without a deployed source stack.
 */
export function sourceBucketName(
  config: Pick<StackConfig, "sourceStack" | "sourceBucket">,
  opts?: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  if (config.sourceBucket) return pulumi.output(config.sourceBucket);
  if (!config.sourceStack) throw new Error("sourceBucketName: the config names neither sourceBucket nor sourceStack");
  const stack = new pulumi.StackReference("source-stack", { name: config.sourceStack }, opts);
  return stack.requireOutput(BUCKET_NAME_OUTPUT).apply((name) => String(name));
}
