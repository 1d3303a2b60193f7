/**
 * The `bucket-sync` policy pack: `pulumi preview --policy-pack policy-pack`.
 *
 * Constructing a PolicyPack starts the gRPC server the Pulumi CLI talks to (and exits the process
 * if a second one is constructed), so this file does nothing else and tests never import it; they
 * import `./policies`.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("bucket-sync", {
  policies,
  description: "No IAM role may use wildcard S3 access: every S3 action and every bucket is named.",
  enforcementLevel: "mandatory",
  provider: "aws",
  tags: ["iam", "s3", "least-privilege"],
});
