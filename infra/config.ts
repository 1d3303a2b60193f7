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
import { CONFLICT_POLICIES, SYNC_MODES, type ConflictPolicy, type SyncMode } from "../model/contract";
import { LONGEST_BUCKET_SUFFIX, longestFunctionName, nameStem } from "./names";

/** How the handlers reach Lambda (see infra/handlerPackaging.ts). */
export type HandlerPackaging = "bundle" | "callback";
export const HANDLER_PACKAGINGS: readonly HandlerPackaging[] = ["bundle", "callback"];

/** Every key of this project's namespace, exactly as in Pulumi.yaml. */
export const CONFIG_KEYS = [
  "bucketNamePrefix",
  "protectBuckets",
  "kmsKeyArn",
  "noncurrentVersionRetentionDays",
  "eventBridgeNotifications",
  "syncMachine",
  "sourceStack",
  "sourceBucket",
  "sourcePrefix",
  "destinationPrefix",
  "mode",
  "conflictPolicy",
  "dryRun",
  "maxDeletes",
  "concurrency",
  "partitions",
  "storageClass",
  "timeBudgetSeconds",
  "maxConcurrency",
  "syncRangeTimeoutSeconds",
  "handlerPackaging",
  "schedule",
  "scheduleTimezone",
  "onChangeSync",
  "notificationEmails",
  "logRetentionDays",
  "reportRetentionDays",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

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
  noncurrentVersionRetentionDays: number;
  eventBridgeNotifications: boolean;

  // Sync machine
  syncMachine: boolean;
  /** Fully qualified (`org/project/stack`). */
  sourceStack?: string;
  sourceBucket?: string;
  sourcePrefix: string;
  destinationPrefix: string;
  mode: SyncMode;
  conflictPolicy: ConflictPolicy;
  dryRun: boolean;
  /** As the SyncRequest takes it: a count (`"500"`) or a share (`"5%"`). */
  maxDeletes: string;
  concurrency: number;
  partitions: number;
  storageClass?: string;
  timeBudgetSeconds: number;
  maxConcurrency: number;
  syncRangeTimeoutSeconds: number;
  handlerPackaging: HandlerPackaging;
  schedule?: string;
  scheduleTimezone: string;
  onChangeSync: boolean;
  notificationEmails: string[];
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
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly stack: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for stack "${stack}":\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Storage classes a sync may write. */
export const STORAGE_CLASSES = [
  "STANDARD",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
  "REDUCED_REDUNDANCY",
] as const;

/** The Lambda limit, and the sync-range timeout's floor (time budget plus a minute of slack). */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
const SYNC_RANGE_SLACK_SECONDS = 60;
/** A Distributed Map runs at most this many child executions at once. */
const DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const NAME_PART = /^[a-z0-9][a-z0-9-]*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const STACK_NAME_PART = /^[A-Za-z0-9_.-]+$/;
const SCHEDULE = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const MAX_DELETES = /^(\d+|\d+(\.\d+)?%)$/;
/** IAM would read these as wildcards or policy variables inside an ARN. */
const IAM_SPECIAL = /[*?$]/;

/**
 * Validates raw config values into a `StackConfig`.
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

  const raw = (k: ConfigKey): string | undefined => {
    const value = values[key(k)];
    if (value === undefined) {
      problem(k, "is missing; Pulumi.yaml declares it with a default, so run the program through the Pulumi CLI");
    }
    return value;
  };
  const text = (k: ConfigKey): string => raw(k)?.trim() ?? "";
  const optionalText = (k: ConfigKey): string | undefined => text(k) || undefined;
  const bool = (k: ConfigKey): boolean => {
    const value = raw(k);
    if (value === undefined) return false;
    if (value !== "true" && value !== "false") problem(k, "must be true or false", value);
    return value === "true";
  };
  const integer = (k: ConfigKey, min: number, max: number): number => {
    const value = raw(k);
    if (value === undefined) return min;
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problem(k, `must be a whole number from ${min} to ${max}`, value);
      return min;
    }
    return n;
  };
  const oneOf = <T extends string>(k: ConfigKey, allowed: readonly T[]): T => {
    const value = raw(k)?.trim();
    if (value === undefined) return allowed[0];
    if (!(allowed as readonly string[]).includes(value)) {
      problem(k, `must be one of ${allowed.join(", ")}`, value);
      return allowed[0];
    }
    return value as T;
  };
  const prefix = (k: ConfigKey): string => {
    const value = raw(k) ?? "";
    if (value === "") return "";
    if (value.startsWith("/")) problem(k, "must not start with /", value);
    else if (!value.endsWith("/")) problem(k, 'must be empty or end with / (e.g. "backup/")', value);
    else if (IAM_SPECIAL.test(value)) problem(k, "must not contain *, ? or $ (IAM reads them as patterns)", value);
    else if (value.length > 512) problem(k, "must be at most 512 characters", value);
    return value;
  };

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
  const bucketNamePrefix = optionalText("bucketNamePrefix");
  const longestBucket = `${bucketNamePrefix ?? `${context.project}-123456789012`}-${context.stack}${LONGEST_BUCKET_SUFFIX}`;
  if (bucketNamePrefix !== undefined && !NAME_PART.test(bucketNamePrefix)) {
    problem("bucketNamePrefix", "must be lowercase letters, digits and hyphens, starting with a letter or digit", bucketNamePrefix);
  } else if (longestBucket.length > 63) {
    problem(
      "bucketNamePrefix",
      `makes bucket names too long: "${longestBucket}" exceeds the 63 characters S3 allows; set a shorter prefix`,
      bucketNamePrefix ?? "",
    );
  }
  const protectBuckets = bool("protectBuckets");
  const kmsKeyArn = optionalText("kmsKeyArn");
  if (kmsKeyArn !== undefined) {
    const match = KMS_KEY_ARN.exec(kmsKeyArn);
    if (!match) problem("kmsKeyArn", "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; aliases cannot be granted)", kmsKeyArn);
    else if (region && match[1] !== region) problem("kmsKeyArn", `must be a key in ${REGION_KEY} (${region}), since S3 encrypts with keys of the bucket's region`, kmsKeyArn);
  }
  const noncurrentVersionRetentionDays = integer("noncurrentVersionRetentionDays", 1, 36_500);
  const eventBridgeNotifications = bool("eventBridgeNotifications");

  // Sync machine
  const syncMachine = bool("syncMachine");
  const sourceStackRaw = optionalText("sourceStack");
  const sourceBucket = optionalText("sourceBucket");
  const sourcePrefix = prefix("sourcePrefix");
  const destinationPrefix = prefix("destinationPrefix");
  const mode = oneOf("mode", SYNC_MODES);
  const conflictPolicy = oneOf("conflictPolicy", CONFLICT_POLICIES);
  const dryRun = bool("dryRun");
  const maxDeletes = raw("maxDeletes")?.trim() ?? "";
  if (values[key("maxDeletes")] !== undefined) {
    if (!MAX_DELETES.test(maxDeletes)) {
      problem("maxDeletes", 'must be a count ("500") or a share of the destination ("5%")', maxDeletes);
    } else if (maxDeletes.endsWith("%") && Number(maxDeletes.slice(0, -1)) > 100) {
      problem("maxDeletes", "must be a share of at most 100%", maxDeletes);
    }
  }
  const concurrency = integer("concurrency", 1, 1_000);
  const partitions = integer("partitions", 1, 1_000);
  const storageClass = optionalText("storageClass");
  if (storageClass !== undefined && !(STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
    problem("storageClass", `must be empty or one of ${STORAGE_CLASSES.join(", ")}`, storageClass);
  }
  const problemsBeforeTimeouts = problems.length;
  const syncRangeTimeoutSeconds = integer("syncRangeTimeoutSeconds", SYNC_RANGE_SLACK_SECONDS + 1, LAMBDA_MAX_TIMEOUT_SECONDS);
  const timeBudgetSeconds = integer("timeBudgetSeconds", 1, LAMBDA_MAX_TIMEOUT_SECONDS);
  // Compared only when both are valid numbers, so one bad value gives one message.
  if (problems.length === problemsBeforeTimeouts && timeBudgetSeconds > syncRangeTimeoutSeconds - SYNC_RANGE_SLACK_SECONDS) {
    problem(
      "timeBudgetSeconds",
      `must leave ${SYNC_RANGE_SLACK_SECONDS} s of ${key("syncRangeTimeoutSeconds")} (${syncRangeTimeoutSeconds}) for the call to return its cursor`,
      String(timeBudgetSeconds),
    );
  }
  const maxConcurrency = integer("maxConcurrency", 1, DISTRIBUTED_MAP_MAX_CONCURRENCY);
  const handlerPackaging = oneOf("handlerPackaging", HANDLER_PACKAGINGS);
  const schedule = optionalText("schedule");
  if (schedule !== undefined && !SCHEDULE.test(schedule)) {
    problem("schedule", "must be an EventBridge Scheduler expression: rate(6 hours), cron(0 3 * * ? *) or at(2030-01-01T00:00:00)", schedule);
  }
  const scheduleTimezone = text("scheduleTimezone");
  if (!isTimeZone(scheduleTimezone)) problem("scheduleTimezone", "must be an IANA time zone such as UTC or Europe/Berlin", scheduleTimezone);
  const onChangeSync = bool("onChangeSync");
  const notificationEmails = stringArray(raw("notificationEmails"), (message, value) => problem("notificationEmails", message, value));
  for (const email of notificationEmails) {
    if (!EMAIL.test(email)) problem("notificationEmails", "must list email addresses", email);
  }
  const logRetentionDays = integer("logRetentionDays", 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problem("logRetentionDays", `must be one of the periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`, String(logRetentionDays));
  }
  const reportRetentionDays = integer("reportRetentionDays", 1, 36_500);

  let sourceStack: string | undefined;
  if (sourceStackRaw !== undefined) {
    const parts = sourceStackRaw.split("/");
    if (parts.length > 3 || !parts.every((p) => STACK_NAME_PART.test(p))) {
      problem("sourceStack", "must be a stack name (dev), project/stack or organization/project/stack", sourceStackRaw);
    } else {
      sourceStack = qualifyStackName(parts, context);
    }
  }
  if (sourceBucket !== undefined && !BUCKET_NAME.test(sourceBucket)) {
    problem("sourceBucket", "must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)", sourceBucket);
  }

  if (syncMachine) {
    if ((sourceStackRaw === undefined) === (sourceBucket === undefined)) {
      problems.push(
        `${key("sourceStack")} / ${key("sourceBucket")}: set exactly one of them when ${key("syncMachine")} is true ` +
          `(got ${sourceStackRaw === undefined ? "neither" : "both"})`,
      );
    }
    if (onChangeSync && sourcePrefix !== "") {
      problem(
        "onChangeSync",
        `needs an empty ${key("sourcePrefix")}: S3 events carry full keys, and SyncRequest.keys are relative to the source prefix`,
        "true",
      );
    }
  } else {
    // Settings that only a sync machine reads are mistakes on a stack without one.
    const unused: Array<[ConfigKey, boolean]> = [
      ["sourceStack", sourceStackRaw !== undefined],
      ["sourceBucket", sourceBucket !== undefined],
      ["schedule", schedule !== undefined],
      ["onChangeSync", onChangeSync],
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
    bucketNamePrefix,
    protectBuckets,
    kmsKeyArn,
    noncurrentVersionRetentionDays,
    eventBridgeNotifications,
    syncMachine,
    sourceStack,
    sourceBucket,
    sourcePrefix,
    destinationPrefix,
    mode,
    conflictPolicy,
    dryRun,
    maxDeletes,
    concurrency,
    partitions,
    storageClass,
    timeBudgetSeconds,
    maxConcurrency,
    syncRangeTimeoutSeconds,
    handlerPackaging,
    schedule,
    scheduleTimezone,
    onChangeSync,
    notificationEmails,
    logRetentionDays,
    reportRetentionDays,
  };
}

/** `dev` -> `<org>/<project>/dev`; `proj/dev` -> `<org>/proj/dev`; a full name stays as it is. */
function qualifyStackName(parts: string[], context: ConfigContext): string {
  if (parts.length === 3) return parts.join("/");
  if (parts.length === 2) return [context.organization, ...parts].join("/");
  return [context.organization, context.project, parts[0]].join("/");
}

/** An array config value arrives as JSON text. */
function stringArray(value: string | undefined, report: (message: string, value: string) => void): string[] {
  if (value === undefined || value.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    report("must be a list of strings", value);
    return [];
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    report("must be a list of strings", value);
    return [];
  }
  return parsed.map((item) => item.trim());
}

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
