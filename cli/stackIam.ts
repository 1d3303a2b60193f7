/**
 * The IAM of a stack, for `bucket-sync sync --enforce-iam --stack <name>`: the roles the stack's
 * program deploys (infra/stackRoles.ts), scoped to the buckets its config names, in the local
 * account the demo (`npm start`) uses. The stack's config is read as the offline preview reads it:
 * Pulumi.yaml defaults, then Pulumi.<stack>.yaml, validated by infra/config.ts.
 */
import type { IamEnforcement } from "../local-stepfunctions/iam";
import { REPORT_PREFIX } from "../model/settings";

/** The account local runs and the demo name their buckets and roles in. */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** What `--enforce-iam` runs under, and the buckets the stack's roles were granted. */
export interface StackIam {
  iam: IamEnforcement;
  stack: string;
  buckets: { source: string; destination: string; reports: string };
}

/**
 * The environment variable that makes every `bucket-sync sync` enforce the IAM of a stack syncing
 * exactly its locations (see {@link locationsIam}), as the suite runs its CLI specs: `1` turns it
 * on. `--enforce-iam` names a stack instead and says so on stderr; this prints nothing.
 */
export const ENFORCE_IAM_ENV = "BUCKET_SYNC_ENFORCE_IAM";

/**
 * The enforcement of the roles a stack would deploy to sync exactly these locations: `source`
 * into `destination`, reports (and run records) at `reports`, in `mode`, in the local account.
 * Reports in a local directory are written by this process, not by a role: their bucket is the
 * records' placeholder.
 */
export async function locationsIam(args: {
  source: { bucket: string; prefix?: string };
  destination: { bucket: string; prefix?: string };
  reports: { bucket: string; prefix: string } | { directory: string };
  mode?: string;
}): Promise<IamEnforcement> {
  // `require`, not `import()`: loaded lazily, and in-process under tsx's CommonJS hook too (specs).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { stackRoles } = require("../infra/stackRoles") as typeof import("../infra/stackRoles");
  const { IamEnforcement } = require("../local-stepfunctions/iam") as typeof import("../local-stepfunctions/iam");
  const { LOCAL_RECORDS_BUCKET } = require("./localSync") as typeof import("./localSync");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const reports = "bucket" in args.reports ? args.reports : { bucket: LOCAL_RECORDS_BUCKET, prefix: REPORT_PREFIX.default };
  const mode = args.mode === "mirror" || args.mode === "two-way" ? args.mode : "backup";
  const roles = stackRoles({
    nameStem: "bucket-sync",
    scope: { partition: "aws", region: "us-east-1", accountId: LOCAL_ACCOUNT_ID },
    source: { bucket: args.source.bucket, prefix: args.source.prefix ?? "" },
    destination: { bucket: args.destination.bucket, prefix: args.destination.prefix ?? "" },
    reportsBucket: reports.bucket,
    reportPrefix: reports.prefix,
    mode,
  });
  return IamEnforcement.create({ roles, region: "us-east-1" });
}

/**
 * The enforcement of a restore from `backup` into `target` as the restore role runs it: every
 * handler acts as that one role (infra/iamDocuments.ts `restoreRolePolicy`, the document the
 * stack deploys with `restoreTarget`), the machine as a local stack's machine role.
 */
export async function restoreIam(args: {
  backup: { bucket: string; prefix?: string };
  target: { bucket: string; prefix?: string };
  reports: { bucket: string; prefix: string } | { directory: string };
}): Promise<IamEnforcement> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { stackRoles } = require("../infra/stackRoles") as typeof import("../infra/stackRoles");
  const { restoreRolePolicy } = require("../infra/iamDocuments") as typeof import("../infra/iamDocuments");
  const { IamEnforcement } = require("../local-stepfunctions/iam") as typeof import("../local-stepfunctions/iam");
  const { LOCAL_RECORDS_BUCKET } = require("./localSync") as typeof import("./localSync");
  const { HANDLER_NAMES } = require("../model/contract") as typeof import("../model/contract");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const reports = "bucket" in args.reports ? args.reports : { bucket: LOCAL_RECORDS_BUCKET, prefix: REPORT_PREFIX.default };
  const roles = stackRoles({
    nameStem: "bucket-sync",
    scope: { partition: "aws", region: "us-east-1", accountId: LOCAL_ACCOUNT_ID },
    source: { bucket: args.backup.bucket, prefix: args.backup.prefix ?? "" },
    destination: { bucket: args.target.bucket, prefix: args.target.prefix ?? "" },
    reportsBucket: reports.bucket,
    reportPrefix: reports.prefix,
  });
  const restoreRole = {
    arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/bucket-sync-restore`,
    policy: restoreRolePolicy({
      backup: { bucketArn: `arn:aws:s3:::${args.backup.bucket}`, prefix: args.backup.prefix ?? "" },
      target: { bucketArn: `arn:aws:s3:::${args.target.bucket}`, prefix: args.target.prefix ?? "" },
    }),
  };
  const handlers = Object.fromEntries(HANDLER_NAMES.map((h) => [h, restoreRole])) as typeof roles.handlers;
  return IamEnforcement.create({ roles: { ...roles, handlers }, region: "us-east-1" });
}

/** Loads the stack's config and builds the enforcement of its roles. Fails naming the problem. */
export async function loadStackIam(stack: string): Promise<StackIam> {
  const [{ stackConfig, projectName, MOCK_ORGANIZATION }, { parseStackConfig }, names, { stackRoles }, { IamEnforcement }] = await Promise.all([
    import("../offline-pulumi/program"),
    import("../infra/config"),
    import("../infra/names"),
    import("../infra/stackRoles"),
    import("../local-stepfunctions/iam"),
  ]).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "MODULE_NOT_FOUND" && err.code !== "ERR_MODULE_NOT_FOUND") throw err;
    // The stack files and the Pulumi SDK that reads them come with the project's sources.
    throw new Error(`--enforce-iam reads the stack's Pulumi.${stack}.yaml with the program's own config code: run it from the project checkout, after npm ci (${err.message.split("\n")[0]})`);
  });
  const project = projectName();
  const configOf = (name: string) => {
    let values: Record<string, string>;
    try {
      values = stackConfig(name);
    } catch (err) {
      throw new Error(`--stack ${name}: cannot read Pulumi.${name}.yaml (${(err as Error).message})`);
    }
    return parseStackConfig(values, { project, stack: name, organization: MOCK_ORGANIZATION });
  };
  const config = configOf(stack);
  if (!config.syncMachine) {
    throw new Error(`--stack ${stack}: the stack has no sync machine (syncMachine is false), so no roles run a sync; name the stack that syncs, e.g. --stack prod`);
  }
  const parts = (name: string, bucketNamePrefix?: string) => ({ project, stack: name, bucketNamePrefix, accountId: LOCAL_ACCOUNT_ID });
  let source = config.sourceBucket;
  if (!source) {
    const [org, sourceProject, sourceStack] = (config.sourceStack ?? "").split("/");
    if (org !== MOCK_ORGANIZATION || sourceProject !== project || !sourceStack) {
      throw new Error(`--stack ${stack}: its source stack ${config.sourceStack} is not a stack of this project; set sourceBucket to run its roles locally`);
    }
    source = names.bucketName(parts(sourceStack, configOf(sourceStack).bucketNamePrefix));
  }
  const destination = names.bucketName(parts(stack, config.bucketNamePrefix));
  const reports = names.reportsBucketName(parts(stack, config.bucketNamePrefix));
  const roles = stackRoles({
    nameStem: names.nameStem(project, stack),
    scope: { partition: "aws", region: config.region, accountId: LOCAL_ACCOUNT_ID },
    source: { bucket: source, prefix: config.sourcePrefix },
    destination: { bucket: destination, prefix: config.destinationPrefix },
    reportsBucket: reports,
    reportPrefix: REPORT_PREFIX.default,
    mode: config.mode,
    kmsKeyArn: config.kmsKeyArn,
    sourceKmsKeyArn: config.sourceKmsKeyArn,
  });
  const iam = await IamEnforcement.create({ roles, region: config.region });
  return { iam, stack, buckets: { source, destination, reports } };
}
