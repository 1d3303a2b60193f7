/**
 * `bucket-sync preview --stack dev|prod`: what `pulumi preview --policy-pack policy-pack` would
 * show for a stack, without Pulumi's CLI, a backend or cloud credentials. The program (index.ts)
 * runs under mocks with the stack's real config (Pulumi.yaml defaults, then Pulumi.<stack>.yaml,
 * then `--config`), as a preview: whatever AWS computes (ARNs, ids) is unknown. The policy pack's
 * own policies (policy-pack/policies.ts) then judge what the policy runtime would be shown.
 *
 * It prints the resources as a tree (type, name, key properties), the stack outputs, and the
 * policy results. `--json` prints the same as one object. A stand-in account (123456789012)
 * takes the place of the caller's; a StackReference to dev answers with the bucket name dev
 * would export.
 *
 * Exit codes: 0 the preview succeeds and no mandatory policy is violated (advisories are printed);
 * 1 the program fails (such as a config value infra/config.ts rejects, named by its key) or a
 * mandatory policy is violated; 2 usage errors.
 *
 * Pulumi and the program are loaded inside the action (cli/sources.ts), from the TypeScript
 * sources, so other subcommands stay fast and the preview always shows this checkout's code.
 */
import { SUBCOMMANDS } from "./commands";
import { Command } from "commander";
import { readFileSync } from "node:fs";
import type { PolicyPackConfig } from "@pulumi/policy";
import type * as OfflinePreview from "../offline-pulumi/preview";
import type { PulumiProgram } from "../offline-pulumi/program";
import type { PreviewResource, PreviewViolation, StackPreview } from "../offline-pulumi/preview";
import { EXIT, exitOnUsageError } from "./exitCodes";
import { projectStacks, requireSource } from "./sources";


export interface PreviewOptions {
  readonly stack: string;
  readonly json?: boolean;
  /** `key=value` pairs, as `pulumi config set key value` would store them. */
  readonly config?: readonly string[];
  /** A JSON file with the policy pack's config, as `--policy-pack-config`. */
  readonly policyPackConfig?: string;
}

/** What a preview printed and how it ended. */
export interface PreviewOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly preview?: StackPreview;
}

/** Parses `--config key=value` arguments; throws naming the malformed one. */
export function parseConfigArgs(pairs: readonly string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--config ${pair}: expected key=value, e.g. --config mode=mirror`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return config;
}

class UsageError extends Error {
  override name = "UsageError";
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs a preview and renders it; never throws. `program` replaces the project's program (a test's
 * fixture program), everything else stays as for the real one.
 */
export async function runPreview(options: PreviewOptions, program?: PulumiProgram): Promise<PreviewOutcome> {
  let config: Record<string, string>;
  let policyConfig: PolicyPackConfig | undefined;
  try {
    config = parseConfigArgs(options.config ?? []);
    if (options.policyPackConfig) policyConfig = JSON.parse(readFileSync(options.policyPackConfig, "utf8")) as PolicyPackConfig;
  } catch (err) {
    return { exitCode: err instanceof UsageError ? EXIT.badInput : EXIT.failed, stdout: "", stderr: `bucket-sync preview: ${errorText(err)}\n` };
  }

  const stacks = projectStacks();
  if (!stacks.includes(options.stack)) {
    return {
      exitCode: EXIT.badInput,
      stdout: "",
      stderr: `bucket-sync preview: no stack "${options.stack}" (no Pulumi.${options.stack}.yaml); stacks: ${stacks.join(", ")}\n`,
    };
  }

  let preview: StackPreview;
  try {
    const offline = requireSource<typeof OfflinePreview>("offline-pulumi/preview");
    preview = await offline.previewStack({ stack: options.stack, config, program, policyConfig });
  } catch (err) {
    // The program's own message: a ConfigError names every offending key.
    return { exitCode: EXIT.failed, stdout: "", stderr: `bucket-sync preview: stack "${options.stack}": ${errorText(err)}\n` };
  }
  const blocking = preview.policy.violations.filter(isMandatory);
  return {
    exitCode: blocking.length > 0 ? EXIT.failed : EXIT.ok,
    stdout: options.json ? `${JSON.stringify(preview, null, 2)}\n` : formatPreview(preview),
    stderr: blocking.length > 0 ? `bucket-sync preview: ${plural(blocking.length, "mandatory policy violation")}\n` : "",
    preview,
  };
}

function isMandatory(v: PreviewViolation): boolean {
  return v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate";
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// ---------------------------------------------------------------------------------------------
// The text report

/** The text report: the resource tree, the outputs, the policy results and a summary. */
export function formatPreview(preview: StackPreview): string {
  const lines: string[] = [];
  lines.push(
    `Previewing stack "${preview.stack}" offline: the program under mocks with Pulumi.yaml and Pulumi.${preview.stack}.yaml`,
    "(no backend, no cloud calls; account 123456789012 stands in for yours, [unknown] is computed at deployment)",
    "",
  );

  const rows = treeRows(preview.resources);
  const typeWidth = Math.max(...rows.map((r) => r.type.length), 4);
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 4);
  lines.push(`     ${"Type".padEnd(typeWidth)}  ${"Name".padEnd(nameWidth)}  Key properties`);
  for (const row of rows) {
    lines.push(`  +  ${row.type.padEnd(typeWidth)}  ${row.name.padEnd(nameWidth)}  ${row.properties}`.trimEnd());
  }

  lines.push("", "Outputs:");
  const keyWidth = Math.max(0, ...Object.keys(preview.outputs).map((k) => k.length));
  for (const [key, value] of Object.entries(preview.outputs)) {
    lines.push(`    ${`${key}:`.padEnd(keyWidth + 1)} ${value === "[unknown]" ? value : JSON.stringify(value)}`);
  }

  if (preview.warnings.length > 0) {
    lines.push("", "Warnings:");
    for (const warning of preview.warnings) lines.push(`    warning: ${warning}`);
  }

  lines.push("", "Policies (bucket-sync pack, policy-pack/):");
  const { violations } = preview.policy;
  if (violations.length === 0) lines.push("    no violations");
  for (const v of violations) {
    const where = v.resource ? `  (${v.resource.type}: ${v.resource.name})` : "";
    lines.push(`    - [${v.enforcementLevel}]  ${v.policyName}${where}`);
    for (const line of v.message.split("\n")) lines.push(`      ${line}`);
  }

  const mandatory = violations.filter(isMandatory).length;
  lines.push(
    "",
    "Resources:",
    `    + ${preview.resources.length} to create`,
    "",
    mandatory > 0
      ? `Preview failed: ${plural(mandatory, "mandatory policy violation")}.`
      : `Preview succeeded: ${violations.length === 0 ? "every policy passed" : `${plural(violations.length, "advisory policy message")}, no mandatory violation`}.`,
  );
  return `${lines.join("\n")}\n`;
}

interface TreeRow {
  type: string;
  name: string;
  properties: string;
}

/** Resources in tree order (children after their parent, in registration order), with guides. */
function treeRows(resources: readonly PreviewResource[]): TreeRow[] {
  const children = new Map<string | undefined, PreviewResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = r.parent !== undefined && urns.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const rows: TreeRow[] = [];
  const visit = (r: PreviewResource, prefix: string, guide: string) => {
    rows.push({ type: `${prefix}${guide}${displayType(r.type)}`, name: r.name, properties: keyProperties(r) });
    const kids = children.get(r.urn) ?? [];
    const below = guide === "" ? prefix : `${prefix}${guide === "└─ " ? "   " : "│  "}`;
    kids.forEach((kid, i) => visit(kid, below, i === kids.length - 1 ? "└─ " : "├─ "));
  };
  for (const root of children.get(undefined) ?? []) visit(root, "", "");
  return rows;
}

/** A type token as `pulumi preview` displays it: `aws:s3/bucket:Bucket` as `aws:s3:Bucket`. */
function displayType(type: string): string {
  const [pkg, module, name] = type.split(":");
  return name === undefined ? type : `${pkg}:${module.split("/")[0]}:${name}`;
}

/** A property of a resource's inputs by path (`versioningConfiguration.status`). */
function at(inputs: Record<string, unknown>, path: string): unknown {
  let value: unknown = inputs;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = Array.isArray(value) ? value[Number(key)] : (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The properties a reviewer looks at first, per type; `name` or `bucket` for the rest. */
const KEY_PROPERTIES: Record<string, string[]> = {
  "aws:s3/bucket:Bucket": ["bucket"],
  "aws:s3/bucketVersioning:BucketVersioning": ["versioningConfiguration.status"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
    "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm",
    "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId",
  ],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["rule.objectOwnership"],
  "aws:s3/bucketNotification:BucketNotification": ["eventbridge"],
  "aws:lambda/function:Function": ["name", "runtime", "handler", "architectures", "memorySize", "timeout"],
  "aws:sfn/stateMachine:StateMachine": ["name", "type"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
  "aws:scheduler/schedule:Schedule": ["name", "scheduleExpression", "scheduleExpressionTimezone"],
  "aws:sqs/queue:Queue": ["name", "messageRetentionSeconds"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name", "metricName", "threshold"],
  "aws:cloudwatch/dashboard:Dashboard": ["dashboardName"],
  "aws:cloudwatch/eventTarget:EventTarget": ["rule"],
  "aws:sns/topicSubscription:TopicSubscription": ["protocol", "endpoint"],
  "pulumi:pulumi:StackReference": ["name"],
};

/** The Sids of an IAM document given as JSON text: `statements: ListSource, ReadSource`. */
function statements(document: unknown): string | undefined {
  if (typeof document !== "string" || document === "[unknown]") return undefined;
  try {
    const parsed = JSON.parse(document) as { Statement?: Array<{ Sid?: string }> };
    return (parsed.Statement ?? []).map((s, i) => s.Sid || `#${i}`).join(", ");
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function keyProperties(r: PreviewResource): string {
  const parts: string[] = [];
  const paths = KEY_PROPERTIES[r.type] ?? (r.type.startsWith("aws:") ? ["name"] : []);
  for (const path of paths) {
    const value = at(r.inputs, path);
    if (value !== undefined) parts.push(`${path.split(".").pop()}=${show(value)}`);
  }
  if (r.type === "aws:iam/role:Role") {
    const services = trustedServices(r.inputs.assumeRolePolicy);
    if (services) parts.push(`trusts=${services}`);
  }
  // Role, bucket and queue policies: which statements, by Sid.
  const sids = statements(r.inputs.policy);
  if (sids !== undefined) parts.push(`statements=${sids}`);
  if (r.protect) parts.push("[protect]");
  return parts.join(" ");
}

/** The AWS services a trust policy lets assume the role: `lambda.amazonaws.com`. */
function trustedServices(document: unknown): string {
  if (typeof document !== "string") return "";
  try {
    const parsed = JSON.parse(document) as { Statement?: Array<{ Principal?: { Service?: string | string[] } }> };
    return (parsed.Statement ?? []).flatMap((s) => [s.Principal?.Service ?? []].flat()).join(",");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------------------------
// The command

export function registerPreview(program: Command): void {
  program
    .command("preview")
    .description(SUBCOMMANDS["preview"])
    .requiredOption("--stack <stack>", "the stack whose Pulumi.<stack>.yaml config to use, e.g. dev or prod")
    .option("--json", 'print {"stack", "resources", "outputs", "policy"} as JSON')
    .option(
      "--config <key=value>",
      "override a config value for this preview, as `pulumi config set` would store it (repeatable), e.g. mode=mirror",
      (pair: string, previous: string[]) => [...previous, pair],
      [] as string[],
    )
    .option("--policy-pack-config <file>", "the policy pack's config as JSON, as `pulumi preview --policy-pack-config` takes it")
    .addHelpText("after", "\nExit codes: 0 preview succeeds, no mandatory policy violated; 1 the program fails (e.g. invalid config) or a mandatory policy is violated; 2 usage.")
    .exitOverride(exitOnUsageError)
    .action(async (options: PreviewOptions) => {
      const outcome = await runPreview(options);
      process.stdout.write(outcome.stdout);
      process.stderr.write(outcome.stderr);
      process.exitCode = outcome.exitCode;
    });
}
