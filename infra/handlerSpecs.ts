/**
 * Every Lambda handler of the sync machine, one table entry each: the registry that packaging
 * (infra/handlerPackaging.ts), the machine (infra/syncMachine.ts), the definition
 * (infra/definition.ts), IAM (infra/iamDocuments.ts), names (infra/names.ts) and the local
 * runner read. Adding a handler is its code (handlers/index.ts, its export in handlers/lambda.ts,
 * its name in model/contract.ts) plus one entry here; TypeScript refuses a name without one.
 *
 * The rule that ties the columns, "the Task outlives its function", holds by construction (the
 * definition takes every Lambda Task's timeout from `taskTimeoutSeconds`) and is asserted by the
 * specs on the built definition and on the deployed functions.
 */
import { HANDLER_ENV, HANDLER_NAMES, type HandlerName } from "../model/contract";
import {
  planPartitionsPolicy,
  summarizePolicy,
  syncRangePolicy,
  validateInputPolicy,
  writeReportPolicy,
  READ_OBJECT,
  type HandlerPolicyArgs,
  type PolicyDocument,
  type SourceReads,
} from "./iamDocuments";

/** A HANDLER_ENV variable, by its key (`reportBucket` is BUCKET_SYNC_REPORT_BUCKET). */
export type HandlerEnvKey = keyof typeof HANDLER_ENV;

/** What the stack decides about a handler's function (config), as the table's columns need it. */
export interface HandlerContext {
  /** `syncRangeTimeoutSeconds` from config. */
  syncRangeTimeoutSeconds: number;
}

export interface HandlerSpec {
  /** The export of handlers/lambda.ts that serves it (the bundle's handler is `index.<export>`). */
  readonly export: string;
  /** The function's description in the Lambda console. */
  readonly description: string;
  readonly memorySizeMb: number;
  /** The function's timeout, in seconds. */
  readonly timeoutSeconds: (context: HandlerContext) => number;
  /** Its role's policy: exactly the S3 actions its code sends, on the job's buckets and prefixes. */
  readonly policy: (args: HandlerPolicyArgs) => PolicyDocument;
  /**
   * What its role reads in the source bucket in a read-only mode (backup, mirror): the actions a
   * source bucket in another account must grant it in its bucket policy, since a cross-account
   * request needs both the caller's identity policy and the bucket's resource policy ("Bucket
   * owner granting cross-account bucket permissions",
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-walkthroughs-managing-access-example2.html).
   * A spec ties them to what `policy` grants on the source.
   */
  readonly sourceReads: SourceReads;
  /** The HANDLER_ENV variables its function is given. */
  readonly environment: readonly HandlerEnvKey[];
}

/**
 * How much longer a Task waits than its function may run. A synchronous Invoke also spends time
 * outside the function's own timeout (cold start: the Init phase is not part of it, up to 10 s;
 * the Invoke round trip; a throttled retry inside the SDK), so a Task timeout equal to the
 * function timeout can fail a call that is about to succeed. With the margin, the function's
 * own timeout always fires first and the Task sees Lambda's error, which its Retry handles.
 */
export const TASK_TIMEOUT_MARGIN_SECONDS = 30;

/**
 * Every function gets the reports' bucket and prefix: the bundle creates all handlers at module
 * load, and `createHandlers` reads HANDLER_ENV there (write-report is the one that writes).
 */
const REPORTS: readonly HandlerEnvKey[] = ["reportBucket", "reportPrefix"];

const fixed = (seconds: number) => () => seconds;

/** The handlers, keyed by name (the Lambda function role, Task state prefix and dispatch key). */
export const HANDLER_SPECS: Readonly<Record<HandlerName, HandlerSpec>> = {
  "validate-input": {
    export: "validateInput",
    description: "Checks a SyncRequest and fills in every default.",
    memorySizeMb: 256,
    timeoutSeconds: fixed(60),
    policy: validateInputPolicy,
    sourceReads: { bucket: ["s3:ListBucket"], objects: [] },
    // The stack's ceiling: a request that would widen it is refused however the run was started.
    environment: [...REPORTS, "requestCeiling"],
  },
  "plan-partitions": {
    export: "planPartitions",
    description: "Splits the key space into ranges.",
    // Its memory and CPU grow with the listing calls its budget allows (partitions asked), never
    // with the keys: bench:partitions measured up to 707 MB resident and 16 s of CPU at 10^8 keys
    // and 1,024 partitions. Lambda gives CPU in proportion to memory.
    memorySizeMb: 1024,
    timeoutSeconds: fixed(300),
    policy: planPartitionsPolicy,
    sourceReads: { bucket: ["s3:ListBucket"], objects: [] },
    environment: REPORTS,
  },
  "sync-range": {
    export: "syncRange",
    description: "Syncs one key range from a cursor, within a time budget.",
    memorySizeMb: 1024,
    timeoutSeconds: (context) => context.syncRangeTimeoutSeconds,
    policy: syncRangePolicy,
    sourceReads: { bucket: ["s3:ListBucket"], objects: READ_OBJECT },
    environment: REPORTS,
  },
  summarize: {
    export: "summarize",
    description: "Adds up partition results and decides on deletes.",
    memorySizeMb: 512,
    timeoutSeconds: fixed(120),
    policy: summarizePolicy,
    sourceReads: { bucket: [], objects: [] },
    // The delete budget across runs (its ledger beside the reports), and the approval metrics.
    environment: [...REPORTS, "deleteBudget", "metricsStack"],
  },
  "write-report": {
    export: "writeReport",
    description: "Writes the JSON and HTML sync report.",
    memorySizeMb: 512,
    timeoutSeconds: fixed(120),
    policy: writeReportPolicy,
    sourceReads: { bucket: [], objects: [] },
    // The run's counters go out as metrics with its report.
    environment: [...REPORTS, "metricsStack"],
  },
};

/** Each handler's reads in the source bucket, for the source account's bucket policy. */
export function sourceReadsOf(): Record<HandlerName, SourceReads> {
  return Object.fromEntries(HANDLER_NAMES.map((h) => [h, HANDLER_SPECS[h].sourceReads])) as Record<HandlerName, SourceReads>;
}

/** How long the Task that calls a handler waits: its function's timeout plus the margin. */
export function taskTimeoutSeconds(handler: HandlerName, context: HandlerContext): number {
  return HANDLER_SPECS[handler].timeoutSeconds(context) + TASK_TIMEOUT_MARGIN_SECONDS;
}

/** The longest handler name: function names add it to the stem (Lambda allows 64 characters). */
export const LONGEST_HANDLER_NAME = HANDLER_NAMES.reduce((a, b) => (b.length > a.length ? b : a));
