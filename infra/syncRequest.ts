/**
 * The execution input the triggers send: the stack's sync settings as a `SyncRequest`
 * (model/contract.ts), with the bucket names filled in. Pure.
 */
import type { SyncRequest } from "../model/contract";
import type { StackConfig } from "./config";

/** The config keys that are SyncRequest fields, by the same names. */
export type SyncSettings = Pick<
  StackConfig,
  | "sourcePrefix"
  | "destinationPrefix"
  | "mode"
  | "conflictPolicy"
  | "dryRun"
  | "maxDeletes"
  | "concurrency"
  | "partitions"
  | "minKeysPerPartition"
  | "storageClass"
  | "timeBudgetSeconds"
>;

/** The request a scheduled or on-demand run starts with. */
export function buildSyncRequest(
  settings: SyncSettings,
  buckets: { sourceBucket: string; destinationBucket: string },
): SyncRequest {
  return {
    source: { bucket: buckets.sourceBucket, prefix: settings.sourcePrefix },
    destination: { bucket: buckets.destinationBucket, prefix: settings.destinationPrefix },
    mode: settings.mode,
    ...(settings.mode === "two-way" ? { conflictPolicy: settings.conflictPolicy } : {}),
    dryRun: settings.dryRun,
    maxDeletes: settings.maxDeletes,
    concurrency: settings.concurrency,
    partitions: settings.partitions,
    minKeysPerPartition: settings.minKeysPerPartition,
    ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
    timeBudgetSeconds: settings.timeBudgetSeconds,
  };
}

/** The EventBridge input-transformer variable that carries the changed key. */
export const CHANGED_KEY_VARIABLE = "key";

/**
 * The input template of the on-change rule: the request restricted to the changed key. The
 * placeholder stands outside quotes, so EventBridge inserts the key as a JSON string (escaped).
 */
export function onChangeInputTemplate(request: SyncRequest): string {
  const marker = "__CHANGED_KEY__";
  const text = JSON.stringify({ ...request, keys: [marker], keysEncoding: "s3-event" });
  return text.replace(JSON.stringify(marker), `<${CHANGED_KEY_VARIABLE}>`);
}

/** Quotes a string for a POSIX shell. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The exact command that starts a run on demand, as the stack exports it. */
export function startExecutionCommand(args: { region: string; stateMachineArn: string; request: SyncRequest }): string {
  return [
    "aws stepfunctions start-execution",
    `--region ${args.region}`,
    `--state-machine-arn ${shellQuote(args.stateMachineArn)}`,
    `--input ${shellQuote(JSON.stringify(args.request))}`,
  ].join(" ");
}
