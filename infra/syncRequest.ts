/**
 * The execution input the triggers send: the stack's sync settings as a `SyncRequest`
 * (model/contract.ts), with the bucket names filled in. Pure.
 */
import { CONTRACT_VERSION, type RequestCeiling, type SyncRequest } from "../model/contract";
import { jsonSchemaOf, MAX_KEY_BYTES, MAX_REQUEST_KEYS, parseSetting, requestPolicyOf, SYNC_SETTINGS, type SyncSettingName } from "../model/settings";
import type { StackConfig } from "./config";

/** The config keys that are SyncRequest fields, by the same names. */
export type SyncSettings = Partial<Pick<StackConfig, "filters">> & Pick<
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
    ...(settings.minKeysPerPartition !== undefined ? { minKeysPerPartition: settings.minKeysPerPartition } : {}),
    ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
    timeBudgetSeconds: settings.timeBudgetSeconds,
    ...(settings.filters !== undefined && settings.filters.length > 0 ? { filters: settings.filters } : {}),
  };
}

/**
 * The stack's ceiling: its own request, and the delete limit of a key-scoped run (the on-change
 * rule's). A request to this stack may narrow it, never widen it (model/settings.ts says how, per
 * setting).
 */
export function buildRequestCeiling(request: SyncRequest, onChangeMaxDeletes: number): RequestCeiling {
  return { request, keyScopedMaxDeletes: onChangeMaxDeletes };
}

/** The EventBridge input-transformer variable that carries the changed key. */
export const CHANGED_KEY_VARIABLE = "key";

/**
 * The input template of the on-change rule: the request restricted to the changed key, with an
 * absolute delete limit (`maxDeletes`, a count): a share of the one object such a run sees rounds
 * down to 0, which would send every delete for approval. The placeholder stands outside quotes,
 * so EventBridge inserts the key as a JSON string (escaped).
 */
export function onChangeInputTemplate(request: SyncRequest, maxDeletes: number): string {
  const marker = "__CHANGED_KEY__";
  const text = JSON.stringify({ ...request, maxDeletes, keys: [marker], keysEncoding: "s3-event" });
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

/**
 * The JSON Schema (draft 4, the version API Gateway models take) a REST trigger's request body must
 * match: a SyncRequest's shape — every field, its type, and its bounds and choices as the settings
 * declare them (model/settings.ts), no unknown field. A gate at the door: validate-input still
 * checks everything else (bucket names, overlapping locations, a delete limit's form) and names
 * each problem. Keyed by SyncRequest's own fields, so a new field
 * cannot be forgotten here.
 */
export function syncRequestJsonSchema(ceiling?: RequestCeiling): Record<string, unknown> {
  // JSON Schema counts characters, S3 bytes: a character is at least a byte, so this bound never
  // refuses a valid key, and validate-input checks the bytes.
  const location = (pinned?: { bucket: string; prefix?: string }) => ({
    type: "object",
    required: ["bucket"],
    additionalProperties: false,
    properties: {
      bucket: pinned ? { type: "string", enum: [pinned.bucket] } : { type: "string", minLength: 3, maxLength: 63 },
      prefix: {
        type: "string",
        maxLength: MAX_KEY_BYTES,
        // The stack's prefix, narrowed: a regular expression of the literal prefix.
        ...(pinned?.prefix ? { pattern: `^${escapeRegExp(pinned.prefix)}` } : {}),
      },
    },
  });
  // Each setting's type, bounds and choices from its one declaration (model/settings.ts), and,
  // for a stack, what its request policy lets a request ask.
  const settings = Object.fromEntries(
    (Object.keys(SYNC_SETTINGS) as SyncSettingName[]).map((name) => [name, { ...jsonSchemaOf(SYNC_SETTINGS[name]), ...gateOf(name, ceiling) }]),
  ) as Record<SyncSettingName, Record<string, unknown>>;
  const properties: Record<keyof SyncRequest, Record<string, unknown>> = {
    // The only contract version the deployed handlers know (model/contract.ts).
    version: { type: "integer", enum: [CONTRACT_VERSION] },
    source: location(ceiling?.request.source),
    destination: location(ceiling?.request.destination),
    ...settings,
    // A count or a share ("5%"): the share's form and its ceiling are the engine's to check.
    maxDeletes: { type: ["integer", "string"], minimum: 0, maxLength: 16 },
    keys: { type: "array", maxItems: MAX_REQUEST_KEYS, items: { type: "string", minLength: 1, maxLength: MAX_KEY_BYTES } },
    // An on-change batch's events: their fields are the engine's to check (onChangeBatch.ts).
    changes: { type: "array", items: { type: "object" } },
  };
  return {
    $schema: "http://json-schema.org/draft-04/schema#",
    title: "SyncRequest",
    type: "object",
    required: ["source", "destination"],
    additionalProperties: false,
    properties,
  };
}

/** The JSON Schema keywords a stack's ceiling adds to a setting's own (model/settings.ts's RequestPolicy). */
function gateOf(name: SyncSettingName, ceiling: RequestCeiling | undefined): Record<string, unknown> {
  if (!ceiling) return {};
  const policy = requestPolicyOf(name);
  const raw = (ceiling.request as unknown as Record<string, unknown>)[name];
  const parsed = parseSetting<unknown>(SYNC_SETTINGS[name], raw);
  if (!parsed.ok) throw new Error(`syncRequestJsonSchema: the ceiling's ${name} is invalid`);
  if (policy.kind === "fixed") return parsed.value === undefined ? { not: {} } : { enum: [parsed.value] };
  if (policy.kind === "narrow-only" && policy.gate && parsed.value !== undefined) return policy.gate(parsed.value);
  return {};
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * The REST trigger's request mapping: API Gateway turns the validated body into the
 * StartExecution call for this machine, named after the API request (so a run can be traced back
 * to it). `$util.escapeJavaScript` escapes `'` as `\'`, which JSON does not allow, hence the
 * `replaceAll` the API Gateway reference gives for JSON properties
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
 */
export function startExecutionRequestTemplate(stateMachineArn: string): string {
  return [
    "{",
    `  "stateMachineArn": ${JSON.stringify(stateMachineArn)},`,
    `  "name": "api-$context.requestId",`,
    `  "input": "$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'","'")"`,
    "}",
  ].join("\n");
}
