/**
 * Every setting of a sync, declared once: a zod schema (type and bounds), its default, and its
 * description. The engine validates requests with these declarations (engine/validation.ts), the
 * stack config parses Pulumi's config text with them (infra/config.ts, which adds the stack-only
 * settings in the same form), the CLI builds its options and parses their text with them
 * (cli/sync.ts), and a spec proves Pulumi.yaml declares the same types, defaults and descriptions.
 *
 * A problem names the setting in the words of the surface that reported it: a request field
 * (`concurrency must be an integer from 1 to 1000, got 0`), a config key
 * (`bucket-sync:concurrency: must be a whole number from 1 to 1000 (got "0")`) or the flag the
 * user typed (`--concurrency must be a whole number from 1 to 1000, got "0"`). No Pulumi import.
 */
import { z } from "zod";
import { CONFLICT_POLICIES, KEYS_ENCODINGS, RUN_MODES, SYNC_MODES, type ConflictPolicy, type DeleteLimit, type RunMode } from "./contract";

/** How a setting is written as text (Pulumi config, a command-line flag); Pulumi.yaml's `type`. */
export type SettingText = "string" | "integer" | "boolean" | "array";

/** One setting: what it accepts, what it is when absent, and what it means. */
export interface Setting<T = unknown> {
  /** Validates a value in its typed (JSON) form and turns it into what the engine uses. */
  readonly schema: z.ZodType<T>;
  /** The value when none is given, in the form a user writes it; absent: the setting is optional. */
  readonly default?: unknown;
  /**
   * A local run's default (`bucket-sync sync`), where it differs, with the reason beside it.
   * All partitions of a local run share one process and one endpoint, so more partitions add LIST
   * requests, not capacity: one partition with 64 requests in flight was the fastest setting in
   * every benchmark (bench/RESULTS.md). Deployed stacks keep `default`: each partition is its own
   * Lambda function there.
   */
  readonly localDefault?: unknown;
  /** One or two sentences, shown in Pulumi.yaml and the CLI's help. */
  readonly description: string;
  /**
   * Whether a request may set it on a deployed stack, whose configuration is the ceiling
   * (see RequestPolicy); declared for every sync setting, absent on stack-only settings.
   */
  readonly request?: RequestPolicy<T>;
}

/**
 * What a request may do with a setting on a deployed stack. The stack's configuration is the
 * ceiling: whoever may start a run (a schedule, an S3 event, `POST /syncs`, a direct
 * StartExecution) is trusted to start a backup, not to change what the backup is.
 *
 * - `fixed`: the stack's value or nothing; anything else is refused.
 * - `free`: any valid value (it can only make the run do less, or tune how it runs).
 * - `narrow-only`: `within(asked, ceiling)` must hold. `allowed` words what may be asked, for the
 *   refusal; `gate` gives the JSON Schema keywords the REST model adds for this ceiling (a gate at
 *   the door; validate-input is the check that cannot be bypassed).
 *
 * A new setting declares its policy here, beside its schema: a filter setting such as `exclude`
 * is `narrow-only` with `within` = "the asked patterns contain the stack's" (it may exclude more,
 * never less), an `include` = "every asked pattern lies within one of the stack's".
 */
export type RequestPolicy<T> =
  | { readonly kind: "fixed" }
  | { readonly kind: "free" }
  | {
      readonly kind: "narrow-only";
      // methods, not function properties: a policy of one setting's type stands in for RequestPolicy<unknown>
      within(asked: T, ceiling: T, scope: RequestScope): boolean;
      allowed(ceiling: T, scope: RequestScope): string;
      gate?(ceiling: T): Record<string, unknown>;
    };

/** What a ceiling check knows about the request besides the setting itself. */
export interface RequestScope {
  /**
   * The delete limit a key-scoped request (an on-change run, `keys` given) may ask, a count;
   * undefined for a request over the whole key space.
   */
  keyScopedMaxDeletes?: number;
}

export const FIXED = { kind: "fixed" } as const;
export const FREE = { kind: "free" } as const;

/** Narrow-only: no more than the stack's value (concurrency, partitions, time budget). */
const atMost: RequestPolicy<number> = {
  kind: "narrow-only",
  within: (asked, ceiling) => asked <= ceiling,
  allowed: (ceiling) => `at most ${ceiling}`,
  gate: (ceiling) => ({ maximum: ceiling }),
};

/** Narrow-only among choices: the stack's value, or one that does strictly less. */
function stackOr<T extends string>(narrower: (ceiling: T) => readonly T[]): RequestPolicy<T> {
  const allowed = (ceiling: T) => [...new Set([ceiling, ...narrower(ceiling)])];
  return {
    kind: "narrow-only",
    within: (asked, ceiling) => allowed(ceiling).includes(asked),
    allowed: (ceiling) => allowed(ceiling).join(" or "),
    gate: (ceiling) => ({ enum: allowed(ceiling) }),
  };
}

/**
 * Filters narrow only: a request keeps the stack's filters, in order, and may add `exclude`
 * filters after them. An added `include` could take back a key the stack leaves out, so it is
 * refused; an added `exclude` only ever leaves more out.
 */
const onlyMoreExcludes: RequestPolicy<string[]> = {
  kind: "narrow-only",
  within: (asked, ceiling) =>
    asked.length >= ceiling.length &&
    ceiling.every((filter, i) => asked[i] === filter) &&
    asked.slice(ceiling.length).every((filter) => filter.startsWith("exclude ")),
  allowed: (ceiling) =>
    ceiling.length === 0 ? "exclude filters only" : `the stack's filters ${JSON.stringify(ceiling)}, then exclude filters only`,
};

/** The most deletes a limit allows out of `total` objects (a share rounds down). */
export function deleteLimitOf(limit: DeleteLimit, total: number): number {
  return "count" in limit ? limit.count : Math.floor((total * limit.percent) / 100);
}

function deleteLimitText(limit: DeleteLimit): string {
  return "count" in limit ? String(limit.count) : `${limit.percent}%`;
}

/**
 * A delete limit is within the stack's when it is of the same kind and no higher, or 0. A count
 * and a share cannot be compared before the destination is listed, so the other kind is refused
 * (fail closed) — except in a key-scoped run, which may ask up to the stack's on-change count.
 */
const noMoreDeletes: RequestPolicy<DeleteLimit> = {
  kind: "narrow-only",
  within: (asked, ceiling, scope) => {
    if ("count" in asked && asked.count === 0) return true;
    if ("count" in asked && scope.keyScopedMaxDeletes !== undefined && asked.count <= scope.keyScopedMaxDeletes) return true;
    if ("count" in asked && "count" in ceiling) return asked.count <= ceiling.count;
    if ("percent" in asked && "percent" in ceiling) return asked.percent <= ceiling.percent;
    return false;
  },
  allowed: (ceiling, scope) =>
    `${"count" in ceiling ? `a count of at most ${ceiling.count}` : `a share of at most ${deleteLimitText(ceiling)}`}` +
    (scope.keyScopedMaxDeletes !== undefined ? ` (or, with keys, a count of at most ${scope.keyScopedMaxDeletes})` : "") +
    " or 0",
};

/** Declares a setting; the type parameter follows the schema's output. */
export function setting<S extends z.ZodType, const D extends z.input<S> | undefined = undefined>(
  schema: S,
  spec: { default?: D; localDefault?: z.input<S>; description: string; request?: RequestPolicy<z.output<S>> },
): Setting<z.output<S>> & { readonly default: D } {
  return { schema: schema as unknown as z.ZodType<z.output<S>>, ...spec } as Setting<z.output<S>> & { readonly default: D };
}

// ---------------------------------------------------------------------------------------------
// Shared rules

/** Lambda's longest function timeout. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** What a sync-range call keeps back from its function's timeout to return its cursor. */
export const SYNC_RANGE_SLACK_SECONDS = 60;

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
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/** S3's longest key, in UTF-8 bytes: the bound of every key and prefix a request names. */
export const MAX_KEY_BYTES = 1024;
/**
 * Most keys one request names: as many as an on-change batch may hold (onChangeMaxBatchKeys'
 * bound). A key-scoped run's keys travel in the execution input and in the job every state
 * carries, and Step Functions refuses an input over 256 KiB, which validate-input checks too
 * (MAX_EXECUTION_INPUT_BYTES): the count bounds the list, the bytes bound what it weighs. A longer
 * list is refused by the REST model and by validate-input; sync a prefix (or `startAfter`) instead.
 * S3-event keys count once however many spellings a key has (eventKeyCandidates).
 */
export const MAX_REQUEST_KEYS = 10_000;
/** Step Functions' largest execution input and state data, in UTF-8 bytes (256 KiB). */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Why a bucket name breaks S3's general purpose bucket rules; undefined when it keeps them. */
export function bucketNameProblem(name: string): string | undefined {
  if (!BUCKET_NAME.test(name)) {
    return "use 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit";
  }
  if (name.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'no ".." and not an IP address';
  return undefined;
}

/** An S3 bucket name; the issue's `params.reason` says which rule it breaks. */
export const bucketName = z.string().check((ctx) => {
  const reason = ctx.value === "" ? "is empty" : bucketNameProblem(ctx.value);
  if (reason !== undefined) {
    ctx.issues.push({ code: "custom", input: ctx.value, params: { reason }, message: `must be an S3 bucket name: ${reason}` });
  }
});

/**
 * Parses a delete limit: a count (`500`, `"500"`), a share (`"5%"`, at most 100%), or an already
 * parsed limit (a SyncJob is a valid request too). Undefined when it is none of these.
 */
export function parseDeleteLimit(value: unknown): DeleteLimit | undefined {
  if (typeof value === "object" && value !== null) {
    const { count, percent } = value as { count?: unknown; percent?: unknown };
    if (typeof count === "number") return parseDeleteLimit(count);
    if (typeof percent === "number") return parseDeleteLimit(`${percent}%`);
    return undefined;
  }
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? { count: value } : undefined;
  if (typeof value !== "string") return undefined;
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  if (percent) {
    const share = Number(percent[1]);
    return share <= 100 ? { percent: share } : undefined;
  }
  return /^\s*\d+\s*$/.test(value) ? { count: Number(value) } : undefined;
}

const deleteLimit = z.unknown().transform((value, ctx): DeleteLimit => {
  const limit = parseDeleteLimit(value);
  if (limit) return limit;
  const overHundred = typeof value === "string" && /^\s*\d+(\.\d+)?\s*%\s*$/.test(value);
  ctx.addIssue({
    code: "custom",
    message: overHundred ? "must be a share of at most 100%" : 'must be a count ("500") or a share of the destination ("5%")',
  });
  return z.NEVER;
});

/** An ISO 8601 date and time with a zone (`Z` or an offset). */
const ISO_TIME = z.iso.datetime({ offset: true });

/** A whole number within bounds. */
export const wholeNumber = (min: number, max: number = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);

/** One key filter, parsed: `exclude PATTERN` or `include PATTERN`. */
export interface KeyFilterRule {
  kind: "exclude" | "include";
  pattern: string;
}

/** Parses `exclude logs/*` or `include *.json` (one space after the word; the rest is the pattern). */
export function parseFilter(text: string): KeyFilterRule | undefined {
  const match = /^(exclude|include) (.+)$/s.exec(text);
  return match ? { kind: match[1] as KeyFilterRule["kind"], pattern: match[2] } : undefined;
}

const keyFilters = z.array(
  z.string().refine((text) => parseFilter(text) !== undefined, 'must list "exclude PATTERN" or "include PATTERN" filters'),
);

// ---------------------------------------------------------------------------------------------
// The settings of a sync request

/**
 * The settings of a sync: the optional fields of a SyncRequest (model/contract.ts). A stack's
 * config keys of the same names feed them; the CLI offers the ones a user tunes as flags.
 */
export const SYNC_SETTINGS = {
  mode: setting(z.enum(RUN_MODES), {
    default: "backup",
    description:
      "backup (copy and update, never delete), mirror (also delete extra objects), two-way, or restore (a versioned source as of asOf).",
    // A restore is not a sync a trigger may ask for: it runs under the restore role (bucket-sync restore).
    request: stackOr<RunMode>((ceiling) => (ceiling === "backup" ? [] : ["backup"])),
  }),
  conflictPolicy: setting(z.enum(CONFLICT_POLICIES), {
    default: "report",
    description: "two-way only: report, or newer-wins.",
    request: stackOr<ConflictPolicy>(() => ["report"]),
  }),
  dryRun: setting(z.boolean(), {
    default: false,
    description: "Plan and report, write nothing.",
    request: {
      kind: "narrow-only",
      within: (asked, ceiling) => asked || !ceiling,
      allowed: (ceiling) => (ceiling ? "true" : "true or false"),
      gate: (ceiling) => (ceiling ? { enum: [true] } : {}),
    },
  }),
  maxDeletes: setting(deleteLimit, {
    default: "10%",
    description:
      'Most objects a mirror run may delete, a count ("500") or a share ("5%"); above it nothing is deleted without approval.',
    request: noMoreDeletes,
  }),
  concurrency: setting(wholeNumber(1, 1000), {
    default: 32,
    localDefault: 64,
    description: "Parallel S3 operations per range worker.",
    request: atMost,
  }),
  // The target number of key ranges, not the parallelism: the Distributed Map runs
  // `maxConcurrency` ranges at once and starts the next as one finishes, so 4-8x as many ranges
  // as workers even out what the planner's estimate misses (handlers/engine/schedule.ts; the
  // plan travels through S3, so the state machine's data does not grow with it). The ceiling
  // keeps the planner's CPU bounded (bench:partitions measures up to 1,024).
  partitions: setting(wholeNumber(1, 4096), {
    default: 128,
    localDefault: 1,
    description:
      "Target number of key ranges to plan. The Distributed Map syncs maxConcurrency of them at once and starts the next as one finishes: plan 4-8x maxConcurrency so the queue evens out uneven ranges.",
    request: atMost,
  }),
  minKeysPerPartition: setting(wholeNumber(1, 1_000_000_000), {
    // A partition costs a LIST per side, a sync-range invocation and three state transitions;
    // below one listing page of keys that buys no parallelism worth it.
    default: 1000,
    description:
      "Fewest keys a planned partition holds: a small key space gets fewer partitions than asked. Lower it for large objects.",
    request: FREE,
  }),
  startAfter: setting(z.string().min(1).max(MAX_KEY_BYTES), {
    description: "Sync only keys after this one (relative to the source prefix, in UTF-8 byte order). Empty means every key.",
    request: FREE,
  }),
  multipartThresholdBytes: setting(wholeNumber(1), {
    default: 64 * MiB,
    description: "Objects at or above this size are copied part by part with UploadPartCopy.",
    request: FREE,
  }),
  partSizeBytes: setting(wholeNumber(5 * MiB, 5 * GiB), {
    default: 64 * MiB,
    description: "Part size for multipart copies (raised as needed to stay within 10,000 parts); S3 allows 5 MiB to 5 GiB.",
    request: FREE,
  }),
  storageClass: setting(z.enum(STORAGE_CLASSES), {
    description: "Storage class for written objects (e.g. STANDARD_IA). Empty means the bucket's default.",
    // What the backup costs and how fast it restores is the stack's decision.
    request: FIXED,
  }),
  sseKmsKeyId: setting(z.string().min(1).max(2048), {
    description: "Encrypt written objects with this KMS key (SSE-KMS). Empty means the bucket's default encryption.",
    // A request could otherwise encrypt the backup with a key its owners cannot use.
    request: FIXED,
  }),
  keysEncoding: setting(z.enum(KEYS_ENCODINGS), {
    default: "raw",
    description: "How `keys` are written: raw, or s3-event (URL-encoded as S3 event notifications carry them).",
    request: FREE,
  }),
  filters: setting(keyFilters, {
    default: [],
    description:
      'Which keys the run covers, as aws s3 sync\'s --exclude/--include: "exclude PATTERN" or "include PATTERN", matched against the key relative to the source prefix (* matches any characters, / included); the last filter that matches decides. An excluded key is never copied or deleted.',
    request: onlyMoreExcludes,
  }),
  notifyOnSuccess: setting(z.boolean(), {
    default: true,
    description: "Announce a successful run on the notification topic; failures and delete approvals are announced either way.",
    // Quieter or louder, it changes no object.
    request: FREE,
  }),
  timeBudgetSeconds: setting(wholeNumber(1, LAMBDA_MAX_TIMEOUT_SECONDS - SYNC_RANGE_SLACK_SECONDS), {
    default: 600,
    description: `Wall-clock budget of one sync-range call before it returns a cursor; must leave ${SYNC_RANGE_SLACK_SECONDS} s of syncRangeTimeoutSeconds.`,
    // The stack's budget fits its sync-range timeout; a larger one would not.
    request: atMost,
  }),
  // A refinement, not z.iso.datetime: the request's JSON Schema (API Gateway, draft 4) then says
  // "string" without a `format` its validators may not know; the engine checks the form.
  asOf: setting(z.string().refine((value) => ISO_TIME.safeParse(value).success, { message: "must be an ISO 8601 time, e.g. 2026-12-05T01:59:00Z" }), {
    description: "restore only, and required there: restore each key's version current at this time (ISO 8601, e.g. 2026-12-05T01:59:00Z).",
    // A stack's triggers never restore: a restore runs under the restore role (bucket-sync restore).
    request: FIXED,
  }),
  delete: setting(z.boolean(), {
    default: false,
    description: "restore only: also delete destination keys that did not exist at asOf, within maxDeletes.",
    request: FIXED,
  }),
  approveOverwrite: setting(z.boolean(), {
    default: false,
    description: "restore only: allow writing over (and, with delete, deleting from) a destination that holds objects.",
    request: FIXED,
  }),
} as const;

export type SyncSettingName = keyof typeof SYNC_SETTINGS;

/** Each sync setting's request policy, as declared above (every one declares it: a spec proves it). */
export function requestPolicyOf(name: SyncSettingName): RequestPolicy<unknown> {
  const policy = (SYNC_SETTINGS[name] as Setting).request;
  if (policy === undefined) throw new Error(`sync setting ${name} declares no request policy`);
  return policy;
}

/**
 * The mode of a scheduled sync (a stack's `mode`, `bucket-sync sync --mode`): a run's modes but
 * `restore`, which is asked for with its `asOf` (`bucket-sync restore`, or an execution input).
 */
export const SCHEDULED_MODE = setting(z.enum(SYNC_MODES), {
  default: "backup",
  description: "backup (copy and update, never delete), mirror (also delete extra objects), or two-way.",
});
/** What each sync setting is once parsed (undefined: an optional setting not given). */
export type SyncSettingValues = {
  [K in SyncSettingName]: (typeof SYNC_SETTINGS)[K] extends Setting<infer T> ? T : never;
};

/** Where write-report stores reports in its bucket, unless its environment says otherwise. */
export const REPORT_PREFIX = setting(z.string(), {
  default: "reports/",
  description: "Key prefix of the sync reports in the reports bucket.",
});

/**
 * A setting's values as JSON Schema draft 4 (the version API Gateway models take), derived from its
 * zod schema; `{}` (anything) where a rule has no JSON Schema form, which validation then checks.
 */
export function jsonSchemaOf(s: Setting): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(s.schema, { target: "draft-4", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return schema;
}

/** Each setting's default (the deployed one), by name; optional settings are left out. */
export function defaultsOf<T extends Record<string, Setting>>(settings: T): { [K in keyof T]: unknown } {
  const defaults: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(settings)) if (s.default !== undefined) defaults[name] = s.default;
  return defaults as { [K in keyof T]: unknown };
}

// ---------------------------------------------------------------------------------------------
// Parsing and problems

/** What is wrong with a setting's value, before it is worded for a surface. */
export type SettingProblem =
  /** Not one of a fixed list of values. */
  | { kind: "choice"; options: readonly string[] }
  /** Any other rule; `must` completes "<setting> ...", e.g. "must be true or false". */
  | { kind: "rule"; must: string; reason?: string; got?: unknown; custom?: boolean };

export type SettingResult<T> = { ok: true; value: T | undefined } | { ok: false; problem: SettingProblem };

/** The schema inside optional and default wrappers. */
function core(schema: z.ZodType): z.ZodType {
  let inner = schema as z.ZodType & { unwrap?: () => z.ZodType };
  while (inner.def.type === "optional" || inner.def.type === "default" || inner.def.type === "nullable") {
    inner = (inner as unknown as { unwrap(): z.ZodType }).unwrap() as typeof inner;
  }
  return inner;
}

/** How a setting is written as text: derived from its schema (a delete limit is text). */
export function textType(s: Setting): SettingText {
  const type = core(s.schema).def.type;
  if (type === "number" || type === "int") return "integer";
  if (type === "boolean" || type === "array") return type;
  return "string";
}

/** What a value must be, said from the schema: `"an integer from 1 to 1000"`. */
function requirement(schema: z.ZodType, form: "json" | "text"): string {
  const inner = core(schema) as z.ZodType & { minValue?: number | null; maxValue?: number | null };
  switch (inner.def.type) {
    case "number":
    case "int": {
      const what = form === "json" ? "an integer" : "a whole number";
      const min = inner.minValue ?? Number.MIN_SAFE_INTEGER;
      const max = inner.maxValue ?? Number.MAX_SAFE_INTEGER;
      if (max >= Number.MAX_SAFE_INTEGER) return `${what} of at least ${min}`;
      return `${what} from ${min} to ${max}`;
    }
    case "boolean":
      return "true or false";
    case "array":
      return "a list of strings";
    case "string": {
      const max = (inner as { maxLength?: number | null }).maxLength;
      return max == null ? "a non-empty string" : `a non-empty string of at most ${max} characters`;
    }
    default:
      return "valid";
  }
}

/** The rule a custom issue names in `params.reason` (bucket names), if any. */
export function reasonOf(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === "custom" ? (issue.params as { reason?: string } | undefined)?.reason : undefined;
}

/** The problem zod found, in this module's terms. */
function problemOf(schema: z.ZodType, value: unknown, error: z.ZodError, form: "json" | "text"): SettingProblem {
  const issue = error.issues[0];
  if (issue.code === "invalid_value" && issue.values.every((v) => typeof v === "string")) {
    return { kind: "choice", options: issue.values as string[] };
  }
  if (issue.code === "custom") {
    let got: unknown = value;
    for (const step of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[step];
    const reason = reasonOf(issue);
    return { kind: "rule", must: issue.message, reason, custom: true, ...(issue.path.length > 0 ? { got } : {}) };
  }
  return { kind: "rule", must: `must be ${requirement(schema, form)}` };
}

/**
 * Validates one setting's value (absent: its default, or undefined when it is optional).
 * `form` says how bounds are worded: `json` for a request, `text` for config and flags.
 */
export function parseSetting<T>(s: Setting<T>, value: unknown, form: "json" | "text" = "json"): SettingResult<T> {
  const given = value === undefined ? s.default : value;
  if (given === undefined) return { ok: true, value: undefined };
  const result = s.schema.safeParse(given);
  return result.success ? { ok: true, value: result.data } : { ok: false, problem: problemOf(s.schema, given, result.error, form) };
}

/**
 * A setting's value from its text (a Pulumi config value, a flag): whole numbers, `true`/`false`
 * and JSON lists are converted; anything else stays text and fails the schema. Empty text means
 * "not set" for an optional setting.
 */
export function fromText(s: Setting, text: string): unknown {
  const trimmed = text.trim();
  switch (textType(s)) {
    case "integer":
      if (trimmed === "" && s.default === undefined) return undefined; // an optional number not set
      return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
    case "boolean":
      return trimmed === "true" ? true : trimmed === "false" ? false : text;
    case "array":
      if (trimmed === "") return [];
      try {
        return JSON.parse(trimmed);
      } catch {
        return text;
      }
    default:
      return trimmed === "" && s.default === undefined ? undefined : trimmed;
  }
}

/**
 * A request field's or a flag's problem: `name "value" is unknown: use a, b` for a choice,
 * `name "value" is invalid: must ...` for a rule of the setting's own, and
 * `name must be <requirement>, got value` for a type or a bound.
 */
export function requestMessage(name: string, value: unknown, problem: SettingProblem): string {
  if (problem.kind === "choice") return `${name} ${JSON.stringify(value)} is unknown: use ${problem.options.join(", ")}`;
  const got = "got" in problem ? problem.got : value;
  if (problem.custom) return `${name} ${JSON.stringify(got)} is invalid: ${problem.must}`;
  return `${name} ${problem.must}, got ${JSON.stringify(got)}`;
}

/** `must be one of a, b (got "x")`: a config key's problem, after `<namespace>:<key>: `. */
export function configMessage(s: Setting, raw: string, problem: SettingProblem): string {
  if (problem.kind === "choice") {
    return `must be ${s.default === undefined ? "empty or " : ""}one of ${problem.options.join(", ")} (got ${JSON.stringify(raw)})`;
  }
  const got = "got" in problem ? problem.got : raw;
  return `${problem.must} (got ${JSON.stringify(typeof got === "string" ? got : JSON.stringify(got))})`;
}
