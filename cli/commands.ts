/**
 * The subcommands, one line each: the name a user types and what it does in a sentence (the
 * top-level help and each subcommand's own). Which module registers each is in cli/index.ts, which
 * loads a subcommand's module only when that subcommand runs or its help is asked for.
 */
export const SUBCOMMANDS = {
  sync: "sync a source into a destination by running the deployed state machine on this machine",
  restore: "bring a location back as it was at a time, from a versioned backup, through the same state machine",
  "s3-server": "run the embedded S3-compatible server on 127.0.0.1 until interrupted",
  demo: "sync a generated dev bucket into prod on an embedded S3 server, and prove the copy faithful",
  "check-policy": "check IAM policy documents for wildcard S3 access, with the rules of the policy pack",
  preview:
    "show what `pulumi preview --policy-pack policy-pack` would create for a stack, offline (run in a checkout: reads Pulumi.yaml from the current directory)",
  diagram: "draw the sync machine a stack would deploy (run in a checkout: reads Pulumi.yaml from the current directory)",
  watch:
    "run a stack's on-change chain (buffer, batches, run slots, sync runs) on an embedded S3 server, and watch a burst of writes go through it (run in a checkout)",
} as const;

export type SubcommandName = keyof typeof SUBCOMMANDS;
