/**
 * What `pulumi preview --policy-pack policy-pack` would show, offline: the program run as a
 * preview (offline-pulumi/program.ts), then the policy pack on what the policy runtime would be
 * shown (offline-pulumi/policyRuntime.ts). Both of those stand on their own; this module is the
 * only one that puts them together, so neither imports the other.
 */
import type { PolicyPackConfig } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { evaluatePolicies, policyResources } from "./policyRuntime";
import { runProgram, settle, UNKNOWN, type RunProgramOptions } from "./program";


/** How the report writes a value that is not known until deployment (an ARN AWS assigns). */
export const UNKNOWN_TEXT = "[unknown]";
/** How the report writes a secret value. */
export const SECRET_TEXT = "[secret]";
/** The signature key and value Pulumi marks secrets and assets with in serialized properties. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource the program would create, as `bucket-sync preview --json` prints it. */
export interface PreviewResource {
  type: string;
  name: string;
  urn: string;
  /** The parent's URN; absent for the stack itself. */
  parent?: string;
  protect: boolean;
  /**
   * The inputs as the program passed them (IAM documents as the JSON text it built), with
   * `"[unknown]"` for what AWS computes at deployment and assets described by their contents.
   */
  inputs: Record<string, unknown>;
}

/** A policy violation, as `bucket-sync preview --json` prints it. */
export interface PreviewViolation {
  policyName: string;
  enforcementLevel: string;
  message: string;
  /** The resource it is about (absent for a stack-level report that names none). */
  urn?: string;
  resource?: { type: string; name: string };
}

/** What `bucket-sync preview` reports for a stack; JSON-ready. */
export interface StackPreview {
  stack: string;
  resources: PreviewResource[];
  outputs: Record<string, unknown>;
  /** What the program warns about (`pulumi.log.warn`), as `pulumi preview` lists under Diagnostics. */
  warnings: string[];
  policy: { violations: PreviewViolation[] };
}

/** A plain, JSON-ready copy of a recorded value (see {@link PreviewResource.inputs}). */
export async function reportValue(value: unknown): Promise<unknown> {
  if (value === UNKNOWN || pulumi.isUnknown(value)) return UNKNOWN_TEXT;
  if (typeof value === "string") return value.split(UNKNOWN).join(UNKNOWN_TEXT);
  if (value === null || typeof value !== "object") return value;
  if (pulumi.Output.isInstance(value)) return reportValue(await settle(value));
  if (pulumi.asset.Archive.isInstance(value) || pulumi.asset.Asset.isInstance(value)) return describeAsset(value);
  if (pulumi.Resource.isInstance(value)) {
    const internals = value as unknown as { __pulumiType: string; __name?: string };
    return { resource: { type: internals.__pulumiType, name: internals.__name } };
  }
  if (Array.isArray(value)) return Promise.all((value as unknown[]).map(reportValue));
  const record = value as Record<string, unknown>;
  if (record[SIG_KEY] === SECRET_SIG) return SECRET_TEXT;
  const entries = await Promise.all(Object.entries(record).map(async ([k, v]) => [k, await reportValue(v)] as const));
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

/** An asset or archive by what it holds: `{ archive: { "index.js": "text, 1234 bytes" } }`. */
async function describeAsset(asset: pulumi.asset.Asset | pulumi.asset.Archive): Promise<unknown> {
  if (asset instanceof pulumi.asset.AssetArchive) {
    const assets = (await asset.assets) as Record<string, pulumi.asset.Asset | pulumi.asset.Archive>;
    const files: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(assets).sort(([a], [b]) => (a < b ? -1 : 1))) files[name] = await describeAsset(inner);
    return { archive: files };
  }
  if (asset instanceof pulumi.asset.StringAsset) return `text, ${Buffer.byteLength(await asset.text)} bytes`;
  if (asset instanceof pulumi.asset.FileAsset) return `file ${await asset.path}`;
  if (asset instanceof pulumi.asset.FileArchive) return `directory ${await asset.path}`;
  if (asset instanceof pulumi.asset.RemoteAsset || asset instanceof pulumi.asset.RemoteArchive) return `remote ${await asset.uri}`;
  return asset.constructor.name;
}

export interface PreviewStackOptions extends Omit<RunProgramOptions, "preview"> {
  /** The policy pack's config, as `--policy-pack-config` would give it. */
  policyConfig?: PolicyPackConfig;
}

/**
 * Runs the program for a stack as `pulumi preview --policy-pack policy-pack` would: under mocks,
 * as a preview (what AWS computes is unknown), then the policy pack's policies on what the
 * policy runtime would be shown. Rejects with the program's error, e.g. a `ConfigError`.
 */
export async function previewStack(options: PreviewStackOptions): Promise<StackPreview> {
  const run = await runProgram({ ...options, preview: true });
  const violations = await evaluatePolicies(policyResources(run), { config: options.policyConfig });
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  return {
    stack: run.stack,
    resources: await Promise.all(
      run.resources.map(async (r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        ...(r.parent ? { parent: r.parent } : {}),
        protect: r.protect,
        inputs: (await reportValue(r.inputs)) as Record<string, unknown>,
      })),
    ),
    outputs: (await reportValue(run.outputs)) as Record<string, unknown>,
    warnings: run.warnings,
    policy: {
      violations: violations.map((v) => {
        const resource = v.urn === undefined ? undefined : byUrn.get(v.urn);
        return {
          policyName: v.policyName,
          enforcementLevel: v.enforcementLevel,
          message: v.message,
          ...(v.urn === undefined ? {} : { urn: v.urn }),
          ...(resource ? { resource: { type: resource.type, name: resource.name } } : {}),
        };
      }),
    },
  };
}
