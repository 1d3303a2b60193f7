/**
 * The stack configuration: one typed shape, one validation function, one thin reader.
 *
 * Config flows one way: `Pulumi.yaml` (schema, defaults) and `Pulumi.<stack>.yaml` (what differs)
 * -> `loadStackConfig()` -> component Args -> Lambda environment or execution input. Components
 * never read config. `parseStackConfig` is pure (plain strings in, a `StackConfig` or a
 * `ConfigError` out) so every rule is tested without Pulumi; each message names the key, the
 * value and what would be accepted, and all problems are reported at once.
 *
 * Defaults live only in Pulumi.yaml (the CLI applies them before the program runs); a key the
 * program cannot see is reported as missing rather than silently given a second default here.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { ConflictPolicy, SyncMode } from "../model/contract";
import {
  bucketName,
  configMessage,
  fromText,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  parseSetting,
  setting,
  SYNC_RANGE_SLACK_SECONDS,
  SCHEDULED_MODE,
  SYNC_SETTINGS,
  textType,
  wholeNumber,
  type Setting,
  type SettingText,
  type StorageClass,
} from "../model/settings";
import { LONGEST_BUCKET_SUFFIX, longestFunctionName, nameStem } from "./names";
import { ON_CHANGE_LIMITS } from "../model/onChange";

/** How the handlers reach Lambda (see infra/handlerPackaging.ts). */
export type HandlerPackaging = "bundle" | "callback";
export const HANDLER_PACKAGINGS: readonly HandlerPackaging[] = ["bundle", "callback"];

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A Distributed Map runs at most this many child executions at once. */
const DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000;

const NAME_PART = /^[a-z0-9][a-z0-9-]*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const STACK_NAME_PART = /^[A-Za-z0-9_.-]+$/;
const SCHEDULE = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** IAM would read these as wildcards or policy variables inside an ARN. */
const IAM_SPECIAL = /[*?$]/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** A key prefix that IAM documents can name: empty, or ending in `/`, without IAM's special characters. */
const keyPrefix = z.string().check((ctx) => {
  const value = ctx.value;
  if (value === "") return;
  const must = value.startsWith("/")
    ? "must not start with /"
    : !value.endsWith("/")
      ? 'must be empty or end with / (e.g. "backup/")'
      : IAM_SPECIAL.test(value)
        ? "must not contain *, ? or $ (IAM reads them as patterns)"
        : value.length > 512
          ? "must be at most 512 characters"
          : undefined;
  if (must) ctx.issues.push({ code: "custom", input: value, message: must });
});

const boolean = (fallback: boolean, description: string) => setting(z.boolean(), { default: fallback, description });

/** A KMS key by ARN (an alias cannot be granted). */
const kmsKeyArn = z.string().refine((v) => KMS_KEY_ARN.test(v), "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; aliases cannot be granted)");
/** An AWS account id. */
const accountId = z.string().refine((v) => ACCOUNT_ID.test(v), "must be a 12-digit AWS account id");

/**
 * Every key of this project's namespace, declared once, in Pulumi.yaml's order; a spec proves
 * Pulumi.yaml declares the same type, default and description for each. The sync settings are
 * model/settings.ts's own declarations: the engine validates an execution input with them.
 */
export const STACK_SETTINGS = {
  // Buckets (every stack)
  bucketNamePrefix: setting(
    z.string().refine((v) => NAME_PART.test(v), "must be lowercase letters, digits and hyphens, starting with a letter or digit"),
    {
      description:
        "Start of every bucket name: `<bucketNamePrefix>-<stack>` and `<bucketNamePrefix>-<stack>-reports`. Empty means `<project>-<account id>`. Names are fixed (no random suffix) so every IAM document is known at preview time.",
    },
  ),
  protectBuckets: boolean(false, "Mark the stack's buckets `protect`ed so `pulumi destroy` or a replacement cannot delete them."),
  kmsKeyArn: setting(
    kmsKeyArn,
    {
      description:
        "KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) for the buckets' default encryption (SSE-KMS); the sync functions get kms:Decrypt and kms:GenerateDataKey on it. Empty means SSE-S3.",
    },
  ),
  createKmsKey: boolean(
    false,
    "Create a KMS key for the stack's buckets (SSE-KMS, yearly rotation) whose key policy the stack owns: with backupAccountId, that policy also lets the backup stack's reading roles decrypt through S3. Leave kmsKeyArn empty when set; a key given by kmsKeyArn is never re-policied (the stack adds a grant instead).",
  ),
  noncurrentVersionRetentionDays: setting(wholeNumber(1, 36_500), {
    default: 30,
    description: "Days a replaced or deleted object version is kept before the lifecycle rule expires it.",
  }),
  eventBridgeNotifications: boolean(
    false,
    "Send this stack's bucket events to EventBridge (the default bus of this account and region), so another stack's `onChangeSync` can start a sync for each changed key.",
  ),

  backupAccountId: setting(accountId, {
    description:
      "The AWS account of the stack that backs this bucket up (prod), when it is not this stack's account. The bucket policy then lets that account's sync roles (its root, on condition aws:PrincipalArn is one of those roles) list the bucket and read its objects; a createKmsKey key's policy, or a grant on the kmsKeyArn key, lets them decrypt through S3; and with eventBridgeNotifications a rule forwards the bucket's object events to that account's default event bus. Empty means none of it; this stack's own account is refused.",
  }),
  backupStack: setting(
    z.string().refine((v) => NAME_PART.test(v), "must be a stack name: lowercase letters, digits and hyphens"),
    {
      default: "prod",
      description: "Name of the backup stack in backupAccountId; its sync roles are named `<project>-<backupStack>-<handler>`.",
    },
  ),
  restoreGrantPrefix: setting(keyPrefix, {
    description:
      "With backupAccountId: the prefix of this bucket (ending in /) that the backup stack's restore role `<project>-<backupStack>-restore` may list and write, named by its ARN in the bucket policy. Empty grants nothing.",
  }),

  // History (the backup bucket)
  objectLockMode: setting(z.enum(["GOVERNANCE", "COMPLIANCE"]), {
    description:
      "S3 Object Lock default retention on this stack's bucket: GOVERNANCE (s3:BypassGovernanceRetention may still delete early) or COMPLIANCE (nobody can, until objectLockRetentionDays pass). Once on, Object Lock cannot be turned off. Empty means none.",
  }),
  objectLockRetentionDays: setting(wholeNumber(1, 36_500), {
    default: 30,
    description: "Days each new object version is locked, with objectLockMode.",
  }),
  breakGlassRoleName: setting(
    z.string().refine((v) => ROLE_NAME.test(v), "must be an IAM role name (1-64 letters, digits and +=,.@_-)"),
    {
      description:
        "The role of this stack's account that alone may delete object versions, change the lifecycle, versioning, Object Lock or the policy of this stack's bucket: the bucket policy denies those to every other principal. Deploy later bucket changes as this role. Empty means no such guard.",
    },
  ),
  restoreTarget: setting(
    z.string().refine((v) => /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), "must be s3://bucket or s3://bucket/prefix/"),
    {
      description:
        "With syncMachine: create the restore role `<project>-<stack>-restore`, which reads this bucket's versions and may write only this location (s3://bucket/prefix/, usually the source bucket). Empty means no restore role.",
    },
  ),

  // Sync machine (the stack that receives the copies, e.g. prod)
  syncMachine: boolean(false, "Create the sync machine (functions, state machine, notifications, alarms, triggers) in this stack."),
  sourceStack: setting(
    z.string().refine((v) => {
      const parts = v.split("/");
      return parts.length <= 3 && parts.every((p) => STACK_NAME_PART.test(p));
    }, "must be a stack name (dev), project/stack or organization/project/stack"),
    {
      description:
        "Stack whose `bucketName` output is the source bucket: `dev` (same organization and project) or `org/project/stack`. Set exactly one of sourceStack and sourceBucket.",
    },
  ),
  sourceBucket: setting(bucketName, {
    description:
      "Source bucket name, given directly. Unlike sourceStack it needs no deployed stack, and the IAM documents that name it are known at preview time even before the source stack exists.",
  }),
  sourceAccountId: setting(accountId, {
    description:
      "The source bucket's AWS account. Empty means the source stack's `accountId` output (with sourceStack), or this stack's account (with sourceBucket). When it differs from this stack's account, the default event bus admits that account's S3 events and the on-change rule matches them; the source stack must set backupAccountId to grant the reads.",
  }),
  sourcePrefix: setting(keyPrefix, { default: "", description: "Key prefix to sync from (empty, or ending in `/`)." }),
  sourceKmsKeyArn: setting(kmsKeyArn, {
    description:
      "KMS key ARN of the source bucket's SSE-KMS encryption, when it is not this stack's kmsKeyArn (the dev stack's key). The sync functions get kms:Decrypt on it (two-way also kms:GenerateDataKey), only through S3 (kms:ViaService). The key's policy must allow them too when it is in another account. Empty means the source stack's `kmsKeyArn` output (with sourceStack), else none: an SSE-S3 source, or one under kmsKeyArn.",
  }),
  destinationPrefix: setting(keyPrefix, {
    default: "",
    description: "Key prefix to sync into, in this stack's bucket (empty, or ending in `/`).",
  }),
  mode: SCHEDULED_MODE,
  conflictPolicy: SYNC_SETTINGS.conflictPolicy,
  dryRun: SYNC_SETTINGS.dryRun,
  maxDeletes: SYNC_SETTINGS.maxDeletes,
  maxDeletesPerDay: setting(SYNC_SETTINGS.maxDeletes.schema, {
    default: "10%",
    description:
      'Most objects all mirror runs together may delete in a rolling 24 hours, a count ("500") or a share of the destination ("5%", of what the latest full run listed); deletes above it wait for approval. Kept in a ledger in the reports bucket, written with S3 conditional writes.',
  }),
  concurrency: SYNC_SETTINGS.concurrency,
  partitions: SYNC_SETTINGS.partitions,
  minKeysPerPartition: SYNC_SETTINGS.minKeysPerPartition,
  storageClass: SYNC_SETTINGS.storageClass,
  timeBudgetSeconds: SYNC_SETTINGS.timeBudgetSeconds,
  filters: SYNC_SETTINGS.filters,
  maxConcurrency: setting(wholeNumber(1, DISTRIBUTED_MAP_MAX_CONCURRENCY), {
    default: 16,
    description: "Parallelism: most key ranges (partitions) synced at once by each Distributed Map.",
  }),
  syncRangeTimeoutSeconds: setting(wholeNumber(SYNC_RANGE_SLACK_SECONDS + 1, LAMBDA_MAX_TIMEOUT_SECONDS), {
    default: LAMBDA_MAX_TIMEOUT_SECONDS,
    description: `Timeout of the sync-range function and of its Task (at most ${LAMBDA_MAX_TIMEOUT_SECONDS}, the Lambda limit).`,
  }),
  handlerPackaging: setting(z.enum(HANDLER_PACKAGINGS), {
    default: "bundle",
    description:
      "How the handlers are packaged: `bundle` (handlers/lambda.ts bundled by esbuild into one file) or `callback` (each handler serialized by aws.lambda.CallbackFunction).",
  }),
  schedule: setting(
    z
      .string()
      .refine(
        (v) => SCHEDULE.test(v),
        "must be an EventBridge Scheduler expression: rate(6 hours), cron(0 3 * * ? *) or at(2030-01-01T00:00:00)",
      ),
    {
      description:
        "EventBridge Scheduler expression for regular syncs, e.g. `cron(0 3 * * ? *)` or `rate(6 hours)`. Empty means no schedule.",
    },
  ),
  scheduleTimezone: setting(z.string().refine(isTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin"), {
    default: "UTC",
    description: "IANA time zone of a cron schedule, e.g. Europe/Berlin.",
  }),
  onChangeSync: boolean(
    false,
    "Sync what changes in the source bucket as S3 reports it through EventBridge, in batches: events are buffered in a queue and a pipe starts one run per batch (onChangeBatchWindowSeconds, onChangeMaxBatchKeys), at most onChangeMaxConcurrentRuns at once. Needs `eventBridgeNotifications` on the source stack (and, in another account, its backupAccountId to forward the events) and the same region. Events for keys outside sourcePrefix are dropped and counted.",
  ),
  onChangeMaxDeletes: setting(wholeNumber(0, 1_000), {
    default: 100,
    description:
      "Most objects an on-change run may delete without approval: a count, not a share. A batch run's limit is the number of keys its batch reports deleted, capped by this; a run that finds more to delete asks for approval. 0 sends every on-change delete for approval. Scheduled and on-demand runs keep maxDeletes.",
  }),
  onChangeBatchWindowSeconds: setting(wholeNumber(0, ON_CHANGE_LIMITS.batchWindowSeconds), {
    default: 60,
    description:
      "How long the on-change pipe gathers object events before it starts one run for the batch (at most 300 s, the EventBridge Pipes limit). Longer windows mean fewer, larger runs; a write waits at most this long plus one run.",
  }),
  onChangeMaxBatchKeys: setting(wholeNumber(1, ON_CHANGE_LIMITS.batchSize), {
    default: 1000,
    description:
      "Most object events in one on-change batch (at most 10000, the EventBridge Pipes limit for an SQS source; a batch also ends at 256 KiB of events, the Step Functions input limit). A burst of N events starts about N / this many runs.",
  }),
  onChangeMaxConcurrentRuns: setting(wholeNumber(1, ON_CHANGE_LIMITS.concurrentRuns), {
    default: 1,
    description:
      "Most on-change runs at once; a batch that finds every run slot taken waits for one (its events stay in the queue meanwhile). Scheduled and on-demand runs are not counted.",
  }),
  apiTrigger: boolean(
    false,
    "A REST API that starts a sync: POST /syncs with a SyncRequest as its JSON body, signed with SigV4 (AWS_IAM authorization), validated against the SyncRequest model, and handed to Step Functions StartExecution by API Gateway itself (no Lambda). The stack exports its `apiUrl`.",
  ),
  notificationEmails: setting(z.array(z.string().trim().refine((v) => EMAIL.test(v), "must list email addresses")), {
    default: [],
    description: "Email addresses subscribed to the notification topic (results, failures, delete approvals, alarms).",
  }),
  fullRunAlarmHours: setting(wholeNumber(1, 168), {
    description:
      "Alarm when no full run has succeeded for this many hours (at most 168, CloudWatch's 7-day window). Empty means twice the schedule's period; without a schedule, no such alarm.",
  }),
  deleteApprovalAlarmHours: setting(wholeNumber(1, 23), {
    default: 4,
    description: "Alarm when a delete approval has waited this many hours without an answer (it expires after 24).",
  }),
  sourceShrinkAlarmPercent: setting(wholeNumber(1, 100), {
    default: 10,
    description:
      "Alarm when a full run lists this share fewer source objects than the previous full run (a full run listing 0 where the previous listed any alarms on its own).",
  }),
  logRetentionDays: setting(
    wholeNumber(1, 3653).refine(
      (v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v),
      `must be one of the periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`,
    ),
    {
      default: 30,
      description:
        "Retention of the functions' and the state machine's CloudWatch log groups (a value CloudWatch accepts, e.g. 30, 90, 365).",
    },
  ),
  reportRetentionDays: setting(wholeNumber(1, 36_500), { default: 90, description: "Days a sync report is kept in the reports bucket." }),
} as const satisfies Record<string, Setting>;

/** Every key of this project's namespace, exactly as in Pulumi.yaml. */
export const CONFIG_KEYS = Object.keys(STACK_SETTINGS) as ConfigKey[];
export type ConfigKey = keyof typeof STACK_SETTINGS;

/** One key of Pulumi.yaml's `config` schema. */
export interface PulumiConfigDeclaration {
  type: SettingText;
  items?: { type: "string" };
  default: unknown;
  description: string;
}

/**
 * What Pulumi.yaml's `config` schema declares for each key, derived from STACK_SETTINGS (a spec
 * compares the two). An optional setting's default is empty text: Pulumi config has no "unset"
 * default, and the loader reads empty text as "none".
 */
export function pulumiConfigSchema(): Record<ConfigKey, PulumiConfigDeclaration> {
  const schema: Partial<Record<ConfigKey, PulumiConfigDeclaration>> = {};
  for (const k of CONFIG_KEYS) {
    const declared: Setting = STACK_SETTINGS[k];
    const type = textType(declared);
    schema[k] = {
      type,
      ...(type === "array" ? { items: { type: "string" as const } } : {}),
      default: declared.default ?? "",
      description: declared.description,
    };
  }
  return schema as Record<ConfigKey, PulumiConfigDeclaration>;
}

/** The AWS provider's region key, read alongside the project's keys. */
export const REGION_KEY = "aws:region";

/** The validated configuration of one stack. Optional fields are the ones whose empty value means "none". */
export interface StackConfig {
  project: string;
  stack: string;
  /** `aws:region`. */
  region: string;

  // Buckets (every stack)
  bucketNamePrefix?: string;
  protectBuckets: boolean;
  kmsKeyArn?: string;
  /** Create the buckets' KMS key in this stack (its policy is the stack's). */
  createKmsKey: boolean;
  noncurrentVersionRetentionDays: number;
  eventBridgeNotifications: boolean;
  /** The account of the stack that backs this bucket up, when it is another account. */
  backupAccountId?: string;
  /** The name of that stack, whose sync roles are named after it. */
  backupStack: string;
  /** The prefix of this bucket the backup stack's restore role may write; unset grants nothing. */
  restoreGrantPrefix?: string;
  objectLockMode?: "GOVERNANCE" | "COMPLIANCE";
  objectLockRetentionDays: number;
  breakGlassRoleName?: string;
  /** `s3://bucket/prefix/` the restore role may write; unset: no restore role. */
  restoreTarget?: string;

  // Sync machine
  syncMachine: boolean;
  /** Fully qualified (`org/project/stack`). */
  sourceStack?: string;
  sourceBucket?: string;
  /** The source bucket's account, when given rather than read from the source stack's `accountId` output. */
  sourceAccountId?: string;
  sourcePrefix: string;
  /** The KMS key of an SSE-KMS source bucket, which the sync functions may decrypt with through S3. */
  sourceKmsKeyArn?: string;
  destinationPrefix: string;
  mode: SyncMode;
  conflictPolicy: ConflictPolicy;
  dryRun: boolean;
  /** As the SyncRequest takes it: a count (`"500"`) or a share (`"5%"`). */
  maxDeletes: string;
  /** The delete budget across runs, as written: a count or a share of the destination. */
  maxDeletesPerDay: string;
  concurrency: number;
  partitions: number;
  minKeysPerPartition: number;
  storageClass?: StorageClass;
  timeBudgetSeconds: number;
  /** Key filters in order (`["exclude *", "include logs/*"]`); empty: every key. */
  filters: string[];
  maxConcurrency: number;
  syncRangeTimeoutSeconds: number;
  handlerPackaging: HandlerPackaging;
  schedule?: string;
  scheduleTimezone: string;
  onChangeSync: boolean;
  /** The delete limit of a key-scoped (on-change) run: a count, never a share. */
  onChangeMaxDeletes: number;
  /** The on-change pipe's batching window, in seconds. */
  onChangeBatchWindowSeconds: number;
  /** Most events in one on-change batch. */
  onChangeMaxBatchKeys: number;
  /** Most on-change runs at once. */
  onChangeMaxConcurrentRuns: number;
  /** A REST API (IAM-signed POST) that starts syncs. */
  apiTrigger: boolean;
  notificationEmails: string[];
  /** Alarm after this long without a successful full run; absent: twice the schedule's period, or none. */
  fullRunAlarmHours?: number;
  deleteApprovalAlarmHours: number;
  sourceShrinkAlarmPercent: number;
  logRetentionDays: number;
  reportRetentionDays: number;
}

/** Raw values as Pulumi hands them to the program: strings keyed `<namespace>:<key>`. */
export type ConfigValues = Readonly<Record<string, string | undefined>>;

/** Where the configuration comes from. */
export interface ConfigContext {
  project: string;
  stack: string;
  /** Pulumi organization, used to qualify a short `sourceStack`. */
  organization: string;
}

/** Every problem found in a stack's configuration; each line names its key. */
/**
 * The rules that need this stack's own account, known only once the program asks AWS who it is:
 * config that cannot work is refused before any resource is declared.
 * @throws ConfigError naming each key and its fix.
 */
export function checkAgainstAccount(config: StackConfig, accountId: string): void {
  const problems: string[] = [];
  if (config.backupAccountId === accountId) {
    problems.push(
      `${config.project}:backupAccountId: is this stack's own account (${accountId}); a backup stack in the same account ` +
        "reads the bucket through its own IAM roles and needs no bucket-policy or key grants: remove backupAccountId",
    );
  }
  if (problems.length > 0) throw new ConfigError(config.stack, problems);
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly stack: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for stack "${stack}":\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** What each key is once parsed. */
type ParsedSettings = { [K in ConfigKey]: (typeof STACK_SETTINGS)[K] extends Setting<infer T> ? T : never };

/**
 * Validates raw config values into a `StackConfig`: each key against its declaration, then the
 * rules that tie keys together.
 * @throws ConfigError listing every problem, each naming its key.
 */
export function parseStackConfig(values: ConfigValues, context: ConfigContext): StackConfig {
  const problems: string[] = [];
  const ns = context.project;
  const key = (k: ConfigKey): string => `${ns}:${k}`;
  const problem = (k: ConfigKey | typeof REGION_KEY, message: string, raw?: string): void => {
    const name = k === REGION_KEY ? REGION_KEY : key(k);
    problems.push(`${name}: ${message}${raw === undefined ? "" : ` (got ${JSON.stringify(raw)})`}`);
  };

  // Each key on its own. Defaults live only in Pulumi.yaml (the CLI applies them before the
  // program runs): a key the program cannot see is reported, never given a second default here.
  const parsed: Record<string, unknown> = {};
  const invalid = new Set<ConfigKey>();
  for (const k of CONFIG_KEYS) {
    const raw = values[key(k)];
    const declared: Setting = STACK_SETTINGS[k];
    if (raw === undefined) {
      problem(k, "is missing; Pulumi.yaml declares it with a default, so run the program through the Pulumi CLI");
      invalid.add(k);
      continue;
    }
    const result = parseSetting(declared, fromText(declared, raw), "text");
    if (result.ok) parsed[k] = result.value;
    else {
      problems.push(`${key(k)}: ${configMessage(declared, raw, result.problem)}`);
      invalid.add(k);
    }
  }
  const c = parsed as ParsedSettings;
  const valid = (...keys: ConfigKey[]) => keys.every((k) => !invalid.has(k));

  // aws:region
  const region = values[REGION_KEY]?.trim() ?? "";
  if (!region) problem(REGION_KEY, "is missing; set it in Pulumi.<stack>.yaml (e.g. eu-west-1)");
  else if (!REGION.test(region)) problem(REGION_KEY, "is not an AWS region name like eu-west-1", region);

  // Names: stack and project end up in bucket and function names.
  if (!NAME_PART.test(context.stack)) {
    problems.push(
      `stack name ${JSON.stringify(context.stack)} must be lowercase letters, digits and hyphens: it is part of bucket and function names`,
    );
  }
  const stem = nameStem(context.project, context.stack);
  if (longestFunctionName(stem).length > 64) {
    problems.push(`project and stack names are too long: "${longestFunctionName(stem)}" exceeds the 64 characters Lambda allows`);
  }

  // Buckets
  const longestBucket = `${c.bucketNamePrefix ?? `${context.project}-123456789012`}-${context.stack}${LONGEST_BUCKET_SUFFIX}`;
  if (valid("bucketNamePrefix") && longestBucket.length > 63) {
    problem(
      "bucketNamePrefix",
      `makes bucket names too long: "${longestBucket}" exceeds the 63 characters S3 allows; set a shorter prefix`,
      c.bucketNamePrefix ?? "",
    );
  }
  const kmsRegion = c.kmsKeyArn === undefined ? undefined : KMS_KEY_ARN.exec(c.kmsKeyArn)?.[1];
  if (kmsRegion !== undefined && region && kmsRegion !== region) {
    problem("kmsKeyArn", `must be a key in ${REGION_KEY} (${region}), since S3 encrypts with keys of the bucket's region`, c.kmsKeyArn);
  }
  if (c.createKmsKey && c.kmsKeyArn !== undefined) {
    problem("createKmsKey", `and ${key("kmsKeyArn")} are both set: either the stack creates the buckets' key, or it uses the one given; remove one`, "true");
  }
  const sourceKmsRegion = c.sourceKmsKeyArn === undefined ? undefined : KMS_KEY_ARN.exec(c.sourceKmsKeyArn)?.[1];
  if (sourceKmsRegion !== undefined && region && sourceKmsRegion !== region) {
    problem(
      "sourceKmsKeyArn",
      `must be a key in ${REGION_KEY} (${region}): the source bucket and its key are in the sync machine's region`,
      c.sourceKmsKeyArn,
    );
  }

  // Sync machine. The time budget must leave the call time to return within this stack's
  // timeout: the more precise message stands in for the budget's own bound (one value, one message).
  const budgetText = values[key("timeBudgetSeconds")]?.trim() ?? "";
  const budget = /^\d+$/.test(budgetText) ? Number(budgetText) : undefined;
  if (budget !== undefined && valid("syncRangeTimeoutSeconds") && budget > c.syncRangeTimeoutSeconds - SYNC_RANGE_SLACK_SECONDS) {
    const own = problems.findIndex((p) => p.startsWith(`${key("timeBudgetSeconds")}: `));
    if (own >= 0) problems.splice(own, 1);
    problem(
      "timeBudgetSeconds",
      `must leave ${SYNC_RANGE_SLACK_SECONDS} s of ${key("syncRangeTimeoutSeconds")} (${c.syncRangeTimeoutSeconds}) for the call to return its cursor`,
      budgetText,
    );
  }
  const sourceStack = c.sourceStack === undefined ? undefined : qualifyStackName(c.sourceStack.split("/"), context);
  // Whether a key is set at all (even to something invalid, which is reported above).
  const given = (k: ConfigKey): boolean => (values[key(k)]?.trim() ?? "") !== "";
  const notificationEmails = c.notificationEmails ?? [];

  if (c.syncMachine) {
    if (given("sourceStack") === given("sourceBucket")) {
      problems.push(
        `${key("sourceStack")} / ${key("sourceBucket")}: set exactly one of them when ${key("syncMachine")} is true ` +
          `(got ${given("sourceStack") ? "both" : "neither"})`,
      );
    }
  } else {
    // Settings that only a sync machine reads are mistakes on a stack without one.
    const unused: Array<[ConfigKey, boolean]> = [
      ["sourceStack", given("sourceStack")],
      ["sourceBucket", given("sourceBucket")],
      ["sourceAccountId", given("sourceAccountId")],
      ["sourceKmsKeyArn", given("sourceKmsKeyArn")],
      ["schedule", given("schedule")],
      ["onChangeSync", c.onChangeSync === true],
      ["apiTrigger", c.apiTrigger === true],
      ["notificationEmails", notificationEmails.length > 0],
    ];
    for (const [k, set] of unused) {
      if (set) problem(k, `is only used with ${key("syncMachine")}: true; set that too, or remove this key`);
    }
  }

  if (problems.length > 0) throw new ConfigError(context.stack, problems);

  return {
    project: context.project,
    stack: context.stack,
    region,
    bucketNamePrefix: c.bucketNamePrefix,
    protectBuckets: c.protectBuckets,
    kmsKeyArn: c.kmsKeyArn,
    createKmsKey: c.createKmsKey,
    noncurrentVersionRetentionDays: c.noncurrentVersionRetentionDays,
    eventBridgeNotifications: c.eventBridgeNotifications,
    backupAccountId: c.backupAccountId,
    backupStack: c.backupStack,
    restoreGrantPrefix: given("restoreGrantPrefix") ? c.restoreGrantPrefix : undefined,
    objectLockMode: c.objectLockMode,
    objectLockRetentionDays: c.objectLockRetentionDays,
    breakGlassRoleName: c.breakGlassRoleName,
    restoreTarget: c.restoreTarget,
    syncMachine: c.syncMachine,
    sourceStack,
    sourceBucket: c.sourceBucket,
    sourceAccountId: c.sourceAccountId,
    sourcePrefix: c.sourcePrefix,
    sourceKmsKeyArn: c.sourceKmsKeyArn,
    destinationPrefix: c.destinationPrefix,
    mode: c.mode,
    conflictPolicy: c.conflictPolicy,
    dryRun: c.dryRun,
    // The SyncRequest takes the limit as written; the engine parses it with the same declaration.
    maxDeletes: (values[key("maxDeletes")] ?? "").trim(),
    maxDeletesPerDay: (values[key("maxDeletesPerDay")] ?? "").trim(),
    concurrency: c.concurrency,
    partitions: c.partitions,
    minKeysPerPartition: c.minKeysPerPartition,
    storageClass: c.storageClass,
    timeBudgetSeconds: c.timeBudgetSeconds,
    filters: c.filters ?? [],
    maxConcurrency: c.maxConcurrency,
    syncRangeTimeoutSeconds: c.syncRangeTimeoutSeconds,
    handlerPackaging: c.handlerPackaging,
    schedule: c.schedule,
    scheduleTimezone: c.scheduleTimezone,
    onChangeSync: c.onChangeSync,
    onChangeMaxDeletes: c.onChangeMaxDeletes,
    onChangeBatchWindowSeconds: c.onChangeBatchWindowSeconds,
    onChangeMaxBatchKeys: c.onChangeMaxBatchKeys,
    onChangeMaxConcurrentRuns: c.onChangeMaxConcurrentRuns,
    apiTrigger: c.apiTrigger,
    notificationEmails,
    fullRunAlarmHours: c.fullRunAlarmHours,
    deleteApprovalAlarmHours: c.deleteApprovalAlarmHours,
    sourceShrinkAlarmPercent: c.sourceShrinkAlarmPercent,
    logRetentionDays: c.logRetentionDays,
    reportRetentionDays: c.reportRetentionDays,
  };
}

/**
 * An alarm looks back at most 7 days (period x evaluation periods), and at most 1 day when its
 * period is under an hour (PutMetricAlarm, `Period`:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export const ALARM_MAX_WINDOW_SECONDS = 7 * 24 * 3600;

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * The longest time between two runs of an EventBridge Scheduler expression, in seconds: exact for
 * `rate(...)`; for `cron(...)`, from its minute and hour fields when it runs every day, else a
 * week (a schedule on some days only). Undefined for a one-time `at(...)`. Pure.
 */
export function schedulePeriodSeconds(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) return Number(rate[1]) * (rate[2].startsWith("minute") ? 60 : rate[2].startsWith("hour") ? HOUR : DAY);
  const cron = /^cron\(([^()]+)\)$/.exec(expression);
  if (!cron) return undefined;
  const [minutes, hours, dayOfMonth, month, dayOfWeek] = cron[1].trim().split(/\s+/);
  const everyDay = ["*", "?"].includes(dayOfMonth) && month === "*" && ["*", "?"].includes(dayOfWeek);
  if (!everyDay) return 7 * DAY;
  const values = (field: string, size: number): number[] | undefined => {
    if (field === "*") return Array.from({ length: size }, (_, i) => i);
    const step = /^(\*|\d+)\/(\d+)$/.exec(field);
    if (step) {
      const first = step[1] === "*" ? 0 : Number(step[1]);
      return Array.from({ length: size }, (_, i) => i).filter((i) => i >= first && (i - first) % Number(step[2]) === 0);
    }
    if (/^\d+(,\d+)*$/.test(field)) return field.split(",").map(Number).sort((a, b) => a - b);
    return undefined; // ranges and the like: assume the least frequent, once a day
  };
  const hourList = values(hours, 24);
  const minuteList = values(minutes, 60);
  if (!hourList || !minuteList || hourList.length === 0 || minuteList.length === 0) return DAY;
  const times = hourList.flatMap((h) => minuteList.map((m) => h * HOUR + m * 60));
  // the longest gap, the one across midnight included
  return Math.max(...times.map((t, i) => (i + 1 < times.length ? times[i + 1] - t : DAY - t + times[0])));
}

/**
 * How long without a successful full run the stack alarms after: `fullRunAlarmHours`, else twice
 * the schedule's period when CloudWatch can look back that far. Undefined: no such alarm. Pure.
 */
export function fullRunAlarmSeconds(hours: number | undefined, schedule: string | undefined): number | undefined {
  if (hours !== undefined) return hours * HOUR;
  const period = schedule === undefined ? undefined : schedulePeriodSeconds(schedule);
  if (period === undefined || 2 * period > ALARM_MAX_WINDOW_SECONDS) return undefined;
  return Math.max(2 * period, HOUR);
}

/**
 * What a valid configuration still leaves undone, one message each: the program logs them as
 * warnings in every `pulumi preview` and `up` (`pulumi.log.warn`), and `bucket-sync preview`
 * prints them too. Pure.
 */
export function configWarnings(config: StackConfig): string[] {
  const warnings: string[] = [];
  const key = (k: ConfigKey) => `${config.project}:${k}`;
  // A mirror run over its delete limit asks for approval on the notification topic, with the
  // task token; with nobody subscribed, nobody can answer, and the run fails when the request
  // times out.
  if (config.syncMachine && config.mode === "mirror" && config.notificationEmails.length === 0) {
    warnings.push(
      `${key("notificationEmails")} is empty, but ${key("mode")} mirror can ask for delete approval: the request goes ` +
        `only to the notification topic, so nobody would see it and the run would fail when it times out. ` +
        `Subscribe someone: pulumi config set --path '${key("notificationEmails")}[0]' ops@example.com`,
    );
  }
  if (config.syncMachine && config.schedule && fullRunAlarmSeconds(config.fullRunAlarmHours, config.schedule) === undefined) {
    warnings.push(
      `${key("schedule")} ${config.schedule} runs less often than every 3.5 days, and CloudWatch alarms look back at most 7 days: ` +
        `no alarm would notice that backups stopped. Set ${key("fullRunAlarmHours")} (at most 168).`,
    );
  }
  // An email subscription receives nothing until its address confirms it ("Email notifications",
  // https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html): SNS mails a
  // confirmation link and the subscription stays PendingConfirmation until someone follows it.
  if (config.syncMachine && config.notificationEmails.length > 0) {
    const approval =
      config.mode === "mirror"
        ? " A delete-approval request published meanwhile reaches nobody: the run waits up to 24 h, then fails (Request delete approval times out, then Sync failed) with copies done and nothing deleted."
        : "";
    warnings.push(
      `${key("notificationEmails")}: each address (${config.notificationEmails.join(", ")}) gets a confirmation mail from SNS ` +
        `and receives nothing (results, failures, alarms) until it follows the link; until then the subscription is ` +
        `PendingConfirmation.${approval} Check after deploying: aws sns list-subscriptions-by-topic --topic-arn <notificationTopicArn>`,
    );
  }
  return warnings;
}

/**
 * Warnings that depend on where the source bucket is, known once the source stack's outputs are
 * read: a source in another account grants reads only (infra/crossAccount.ts), so a two-way sync,
 * which writes into it, would be denied there.
 */
export function sourceWarnings(config: StackConfig, source: { crossAccount: boolean }): string[] {
  if (!config.syncMachine || !source.crossAccount || config.mode !== "two-way") return [];
  return [
    `${config.project}:mode two-way writes into the source bucket, which is in another account: its stack grants this ` +
      "stack's roles reads only (backupAccountId), so every copy back into it would be denied. Use backup or mirror " +
      "across accounts, or keep both stacks in one account.",
  ];
}

/** `dev` -> `<org>/<project>/dev`; `proj/dev` -> `<org>/proj/dev`; a full name stays as it is. */
function qualifyStackName(parts: string[], context: ConfigContext): string {
  if (parts.length === 3) return parts.join("/");
  if (parts.length === 2) return [context.organization, ...parts].join("/");
  return [context.organization, context.project, parts[0]].join("/");
}

/** Whether `Intl` knows the zone (Node ships the full IANA database). */
function isTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads this stack's configuration through `pulumi.Config` and validates it. A problem stops
 * `pulumi preview` with the `ConfigError` message (no stack trace), which names each key.
 */
export function loadStackConfig(): StackConfig {
  const project = pulumi.getProject();
  const projectConfig = new pulumi.Config(project);
  const values: Record<string, string | undefined> = {
    [REGION_KEY]: new pulumi.Config("aws").get("region"),
  };
  for (const k of CONFIG_KEYS) values[`${project}:${k}`] = projectConfig.get(k);
  try {
    return parseStackConfig(values, { project, stack: pulumi.getStack(), organization: pulumi.getOrganization() });
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
