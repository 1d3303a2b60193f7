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
import { CONFLICT_POLICIES, KEYS_ENCODINGS, RUN_MODES, SYNC_MODES, type DeleteLimit } from "./contract";

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
}

/** Declares a setting; the type parameter follows the schema's output. */
export function setting<S extends z.ZodType, const D extends z.input<S> | undefined = undefined>(
  schema: S,
  spec: { default?: D; localDefault?: z.input<S>; description: string },
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
  }),
  conflictPolicy: setting(z.enum(CONFLICT_POLICIES), {
    default: "report",
    description: "two-way only: report, or newer-wins.",
  }),
  dryRun: setting(z.boolean(), {
    default: false,
    description: "Plan and report, write nothing.",
  }),
  maxDeletes: setting(deleteLimit, {
    default: "10%",
    description:
      'Most objects a mirror run may delete, a count ("500") or a share ("5%"); above it nothing is deleted without approval.',
  }),
  concurrency: setting(wholeNumber(1, 1000), {
    default: 32,
    localDefault: 64,
    description: "Parallel S3 operations per range worker.",
  }),
  partitions: setting(wholeNumber(1, 1000), {
    default: 16,
    localDefault: 1,
    description: "How many key ranges to plan for parallel workers.",
  }),
  minKeysPerPartition: setting(wholeNumber(1, 1_000_000_000), {
    // A partition costs a LIST per side, a sync-range invocation and three state transitions;
    // below one listing page of keys that buys no parallelism worth it.
    default: 1000,
    description:
      "Fewest keys a planned partition holds: a small key space gets fewer partitions than asked. Lower it for large objects.",
  }),
  startAfter: setting(z.string().min(1), {
    description: "Sync only keys after this one (relative to the source prefix, in UTF-8 byte order). Empty means every key.",
  }),
  multipartThresholdBytes: setting(wholeNumber(1), {
    default: 64 * MiB,
    description: "Objects at or above this size are copied part by part with UploadPartCopy.",
  }),
  partSizeBytes: setting(wholeNumber(5 * MiB, 5 * GiB), {
    default: 64 * MiB,
    description: "Part size for multipart copies (raised as needed to stay within 10,000 parts); S3 allows 5 MiB to 5 GiB.",
  }),
  storageClass: setting(z.enum(STORAGE_CLASSES), {
    description: "Storage class for written objects (e.g. STANDARD_IA). Empty means the bucket's default.",
  }),
  sseKmsKeyId: setting(z.string().min(1), {
    description: "Encrypt written objects with this KMS key (SSE-KMS). Empty means the bucket's default encryption.",
  }),
  keysEncoding: setting(z.enum(KEYS_ENCODINGS), {
    default: "raw",
    description: "How `keys` are written: raw, or s3-event (URL-encoded as S3 event notifications carry them).",
  }),
  timeBudgetSeconds: setting(wholeNumber(1, LAMBDA_MAX_TIMEOUT_SECONDS - SYNC_RANGE_SLACK_SECONDS), {
    default: 600,
    description: `Wall-clock budget of one sync-range call before it returns a cursor; must leave ${SYNC_RANGE_SLACK_SECONDS} s of syncRangeTimeoutSeconds.`,
  }),
  // A refinement, not z.iso.datetime: the request's JSON Schema (API Gateway, draft 4) then says
  // "string" without a `format` its validators may not know; the engine checks the form.
  asOf: setting(z.string().refine((value) => ISO_TIME.safeParse(value).success, { message: "must be an ISO 8601 time, e.g. 2026-12-05T01:59:00Z" }), {
    description: "restore only, and required there: restore each key's version current at this time (ISO 8601, e.g. 2026-12-05T01:59:00Z).",
  }),
  delete: setting(z.boolean(), {
    default: false,
    description: "restore only: also delete destination keys that did not exist at asOf, within maxDeletes.",
  }),
  approveOverwrite: setting(z.boolean(), {
    default: false,
    description: "restore only: allow writing over (and, with delete, deleting from) a destination that holds objects.",
  }),
} as const;

export type SyncSettingName = keyof typeof SYNC_SETTINGS;

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
    case "string":
      return "a non-empty string";
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
