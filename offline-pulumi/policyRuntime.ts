/**
 * The policy pack's real policies (policy-pack/policies.ts), evaluated the way the Pulumi policy
 * runtime (`@pulumi/policy` 1.21, `server.js`) does, without starting its gRPC server. The tests
 * feed it hand-made resources; `bucket-sync preview` feeds it a program run under mocks
 * (offline-pulumi/program.ts) through {@link policyResources}.
 *
 * - props arrive as plain JSON (keys whose value is `undefined` are dropped), wrapped in the
 *   runtime's `unknownCheckingProxy`, so reading a value that is not known yet throws
 *   `UnknownValueError`;
 * - every resource policy's `validateResource` runs on every resource, and every stack policy's
 *   `validateStack` once on all of them, with `dependencies` and `propertyDependencies` linked to
 *   the other resources;
 * - a violation's message is the policy's description, a newline, and the reported message;
 * - an `UnknownValueError` escaping a validation becomes an advisory
 *   "can't run policy ... during preview: <error message>" diagnostic;
 * - the enforcement level comes from the config, else the policy, else the pack (`remediate`
 *   counts as `mandatory`; `disabled` policies do not run).
 *
 * Input is deliberately small so a Pulumi program run under `pulumi.runtime.setMocks` can be fed
 * in: one `{ type, name, urn?, props }` per registered resource.
 */
import {
  EnforcementLevel,
  Policies,
  PolicyPackConfig,
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  unknownCheckingProxy,
  UnknownValueError,
} from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { policies as packPolicies } from "../policy-pack/policies";
import type { ProgramRun, RecordedResource } from "./program";

/**
 * How the runtime represents a value that is not known at preview (a computed output such as a
 * new resource's ARN): this sentinel string in place of the value. Put it anywhere in `props`.
 */
export const UNKNOWN: string = unknownValue;

export interface PolicyInputResource {
  /** Pulumi type token, e.g. `aws:iam/role:Role`. */
  readonly type: string;
  /** The resource's name in the program. */
  readonly name: string;
  /** @default `urn:pulumi:test::bucket-sync::<type>::<name>` */
  readonly urn?: string;
  /**
   * The resource's properties: its inputs, plus for stack policies the outputs they read (an
   * `aws.iam.Policy`'s `arn`). Use {@link UNKNOWN} for values not known at preview.
   */
  readonly props: Record<string, unknown>;
  /**
   * Which resources (by name or URN) each property was computed from, as the engine reports
   * it, e.g. `{ policyArn: ["copy-policy"] }` for an attachment of a policy created in the stack.
   */
  readonly propertyDependencies?: Record<string, readonly string[]>;
}

export interface PolicyViolation {
  readonly policyName: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly message: string;
  /** The resource the violation is about; absent for a stack violation that names none. */
  readonly urn?: string;
}

export interface PolicyEvaluationOptions {
  /** Policy config as given with `--policy-pack-config`, e.g. `{ "no-wildcard-s3-role-policy": { allowedAccountLevelActions: [...] } }`. */
  readonly config?: PolicyPackConfig;
  /** @default the pack's `policies` */
  readonly policies?: Policies;
  /** The pack's default enforcement level. @default "mandatory" (as in policy-pack/index.ts) */
  readonly packEnforcementLevel?: EnforcementLevel;
}

const PACK_NAME = "bucket-sync";
const PACK_VERSION = "0.1.0";

class NotApplicable extends Error {}

// `unknownCheckingProxy` and `UnknownValueError` are exported by @pulumi/policy's index at run
// time, but marked @internal, so its typings declare neither (they type as `any`).
function isUnknownValueError(err: unknown): err is Error {
  return (
    (typeof UnknownValueError === "function" && err instanceof UnknownValueError) ||
    (err instanceof Error && err.constructor.name === "UnknownValueError")
  );
}

function urnOf(r: PolicyInputResource): string {
  return r.urn ?? `urn:pulumi:test::bucket-sync::${r.type}::${r.name}`;
}

/** What the gRPC round trip leaves of the props: plain JSON, `undefined` dropped. */
function asDeserialized(props: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(props)) as Record<string, unknown>;
}

function configFor(config: PolicyPackConfig | undefined, policyName: string): Record<string, unknown> {
  const entry = config?.[policyName];
  if (entry === undefined) return {};
  return typeof entry === "string" ? { enforcementLevel: entry } : { ...entry };
}

function isResourcePolicy(p: Policies[number]): p is ResourceValidationPolicy {
  const v = (p as ResourceValidationPolicy).validateResource;
  return typeof v === "function" || Array.isArray(v);
}

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

/** Runs every policy on the resources and returns what the runtime would report. */
export async function evaluatePolicies(
  resources: readonly PolicyInputResource[],
  options: PolicyEvaluationOptions = {},
): Promise<PolicyViolation[]> {
  const policies = options.policies ?? packPolicies;
  const out: PolicyViolation[] = [];
  const stackTags: ReadonlyMap<string, string> = new Map();

  for (const policy of policies) {
    const { enforcementLevel: configured, ...settings } = configFor(options.config, policy.name);
    let level = (configured as EnforcementLevel | undefined) ?? policy.enforcementLevel ?? options.packEnforcementLevel ?? "mandatory";
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory";
    const enforcementLevel = level;
    const getConfig = <T extends object>() => settings as T;
    const notApplicable = (reason?: string): never => {
      throw new NotApplicable(reason);
    };
    const reporter =
      (fallbackUrn: string | undefined, fixedUrn: boolean): ReportViolation =>
      (message, urn) => {
        out.push({
          policyName: policy.name,
          enforcementLevel,
          message: message ? `${policy.description}\n${message}` : policy.description,
          urn: fixedUrn ? fallbackUrn : urn,
        });
      };
    const run = async (fn: () => Promise<void> | void, urn: string | undefined) => {
      try {
        await fn();
      } catch (err) {
        if (isUnknownValueError(err)) {
          out.push({
            policyName: policy.name,
            enforcementLevel: "advisory",
            message: `can't run policy '${policy.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${err.message}`,
            urn,
          });
        } else if (!(err instanceof NotApplicable)) {
          throw err;
        }
      }
    };

    if (isResourcePolicy(policy) && policy.validateResource) {
      const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const resource of resources) {
        const urn = urnOf(resource);
        for (const validate of validations) {
          const props = unknownCheckingProxy(asDeserialized(resource.props)) as Record<string, unknown>;
          const args: ResourceValidationArgs = {
            type: resource.type,
            props,
            urn,
            name: resource.name,
            opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
            stackTags,
            isType: () => false,
            asType: () => undefined,
            getConfig,
            notApplicable,
          };
          await run(() => validate(args, reporter(urn, true)), urn);
        }
      }
    }

    if (isStackPolicy(policy)) {
      const byKey = new Map<string, PolicyResource>();
      const stackResources: PolicyResource[] = resources.map((resource) => {
        const r: PolicyResource = {
          type: resource.type,
          props: unknownCheckingProxy(asDeserialized(resource.props)) as Record<string, unknown>,
          urn: urnOf(resource),
          name: resource.name,
          opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
          dependencies: [],
          propertyDependencies: {},
          isType: () => false,
          asType: () => undefined,
        };
        byKey.set(r.urn, r);
        byKey.set(r.name, r);
        return r;
      });
      resources.forEach((resource, i) => {
        const r = stackResources[i];
        for (const [property, keys] of Object.entries(resource.propertyDependencies ?? {})) {
          const deps = keys.map((k) => byKey.get(k)).filter((d): d is PolicyResource => d !== undefined);
          r.propertyDependencies[property] = deps;
          for (const d of deps) if (!r.dependencies.includes(d)) r.dependencies.push(d);
        }
      });
      const args: StackValidationArgs = { resources: stackResources, stackTags, getConfig, notApplicable };
      await run(() => policy.validateStack(args, reporter(undefined, false)), undefined);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A program run, as the policy runtime is shown it

/** Type tokens whose outputs a stack policy reads besides the inputs (see {@link policyResources}). */
const OUTPUTS_READ_BY_STACK_POLICIES: Readonly<Record<string, readonly string[]>> = {
  // no-wildcard-s3-attached-policy matches attachments to policies by ARN.
  "aws:iam/policy:Policy": ["arn"],
};

/**
 * What the policy runtime sees of each resource a program registered: its type, name and URN,
 * its inputs (during a preview, with whatever is computed from other resources' outputs still
 * unknown), for `aws.iam.Policy` also the `arn` output (unknown at preview for a new policy), and
 * the engine's `propertyDependencies` (URNs), which the stack policies follow to the resources a
 * value was computed from.
 */
export function policyResources(run: Pick<ProgramRun, "resources">): PolicyInputResource[] {
  return run.resources.map((resource: RecordedResource) => {
    const props: Record<string, unknown> = { ...resource.inputs };
    for (const key of OUTPUTS_READ_BY_STACK_POLICIES[resource.type] ?? []) {
      if (resource.outputs[key] !== undefined) props[key] = resource.outputs[key];
    }
    return { type: resource.type, name: resource.name, urn: resource.urn, props, propertyDependencies: resource.propertyDependencies };
  });
}

/** Whether a violation stops `pulumi preview`/`up` (mandatory) or is only reported (advisory). */
export function isBlocking(violation: PolicyViolation): boolean {
  return violation.enforcementLevel === "mandatory" || violation.enforcementLevel === "remediate";
}
