/**
 * The subcommands, one line each: the name a user types, what it does in a sentence (the
 * top-level help), and the module that registers it. `bucket-sync` loads a subcommand's module
 * only when that subcommand runs (or its help is asked for): `--version` and the top-level help
 * load none, and the state machine interpreter is loaded by `sync` and `demo` alone.
 */
import type { Command } from "commander";

export interface Subcommand {
  description: string;
  /** Registers the subcommand, its options and its action on the program. */
  load(): Promise<(program: Command) => void>;
}

export const SUBCOMMANDS: Record<string, Subcommand> = {
  sync: {
    description: "sync a source into a destination by running the deployed state machine on this machine",
    load: async () => (await import("./sync")).registerSync,
  },
  restore: {
    description: "bring a location back as it was at a time, from a versioned backup, through the same state machine",
    load: async () => (await import("./restore")).registerRestore,
  },
  "s3-server": {
    description: "run the embedded S3-compatible server on 127.0.0.1 until interrupted",
    load: async () => (await import("./s3Server")).registerS3Server,
  },
  demo: {
    description: "sync a generated dev bucket into prod on an embedded S3 server, and prove the copy faithful",
    load: async () => (await import("./demo")).registerDemo,
  },
  "check-policy": {
    description: "check IAM policy documents for wildcard S3 access, with the rules of the policy pack",
    load: async () => (await import("./checkPolicy")).registerCheckPolicy,
  },
  preview: {
    description: "show what `pulumi preview --policy-pack policy-pack` would create for a stack, offline (run in a checkout: reads Pulumi.yaml from the current directory)",
    load: async () => (await import("./preview")).registerPreview,
  },
  diagram: {
    description: "draw the sync machine a stack would deploy (run in a checkout: reads Pulumi.yaml from the current directory)",
    load: async () => (await import("./diagram")).registerDiagram,
  },
  watch: {
    description: "run a stack's on-change chain (buffer, batches, run slots, sync runs) on an embedded S3 server, and watch a burst of writes go through it",
    load: async () => (await import("./watch")).registerWatch,
  },
};
