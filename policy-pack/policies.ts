/**
 * The policies of the `bucket-sync` pack: no IAM role may use wildcard S3 access.
 *
 * The rules themselves are pure functions in `./rules`; this module only finds the IAM documents a
 * role gets from the resources Pulumi presents, reads them the way the policy runtime hands them
 * over (unknown values included), and turns findings into violations. `index.ts` hands the
 * `policies` array to `new PolicyPack(...)`; tests import this module, never `index.ts`.
 *
 * Values that are not known at preview. The runtime gives each policy the resource's properties
 * behind a proxy that throws `UnknownValueError` when a value that is not known yet is read, and
 * turns that error into a single advisory "can't run policy ... during preview" diagnostic, so by
 * default one unknown ARN silences the whole check. Here each property is read on its own: an
 * unknown value becomes an `Unknown` for the rules, which still check everything known and report
 * its violations as usual. Whatever could not be checked is then reported by rethrowing the
 * runtime's own `UnknownValueError`, its message replaced by what was not checked and why, which
 * the runtime reports as advisory (a preview-time unknown becomes known, and is checked, at update).
 */
import {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  UnknownValueError,
} from "@pulumi/policy";
import { findManagedPolicy, isAwsManagedPolicyArn, ManagedPolicy } from "./managedPolicies";
import {
  ACCOUNT_LEVEL_S3_ACTIONS,
  checkBackupHistory,
  checkPolicyDocument,
  DEFAULT_MIN_NONCURRENT_DAYS,
  describeFinding,
  Finding,
  isUnknown,
  statementLabel,
  Unknown,
} from "./rules";

/** Pulumi type tokens of the resources that give a role a policy (from `@pulumi/aws`, not imported: it is slow to load). */
export const IAM_TYPES = {
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  policyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
  rolePolicyAttachmentsExclusive: "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
} as const;

/** Config shared by the policies that read documents a program writes itself. */
export interface WildcardS3Config {
  /** Account-level S3 actions (only valid on `"*"`) that roles may hold, e.g. `["s3:ListAllMyBuckets"]`. */
  allowedAccountLevelActions?: string[];
}

const configSchema = {
  properties: {
    allowedAccountLevelActions: {
      type: "array" as const,
      description:
        'Account-level S3 actions that only accept Resource "*" and that roles may nevertheless hold, e.g. "s3:ListAllMyBuckets".',
      items: { type: "string" as const, enum: ACCOUNT_LEVEL_S3_ACTIONS.map((a) => `s3:${a}`) },
      uniqueItems: true,
      default: [],
    },
  },
};

const enforcementLevel: EnforcementLevel = "mandatory";

// ---------------------------------------------------------------------------------------------
// Reading properties as the runtime presents them

/**
 * Recognizes the runtime's `UnknownValueError`, also when it comes from another copy of
 * `@pulumi/policy` (the pack installed in `policy-pack/node_modules` next to the project's own).
 * The class is exported by the package's index at run time but marked @internal, so its typings
 * do not declare it: hence the `typeof` guard and the name check.
 */
function isUnknownValueError(err: unknown): err is Error {
  return (
    (typeof UnknownValueError === "function" && err instanceof UnknownValueError) ||
    (err instanceof Error && err.constructor.name === "UnknownValueError")
  );
}

/** Copies properties into plain data, replacing each value that is not known yet with an `Unknown`. */
class PropsReader {
  /** The runtime's errors for the unknown values read, kept to report what could not be checked. */
  readonly unknownErrors: Error[] = [];

  /** `container[key]`, copied; `path` names it in messages. */
  read(container: unknown, key: string | number, path: string): unknown {
    if (typeof container !== "object" || container === null || isUnknown(container)) return undefined;
    let value: unknown;
    try {
      value = (container as Record<string | number, unknown>)[key];
    } catch (err) {
      if (!isUnknownValueError(err)) throw err;
      this.unknownErrors.push(err);
      return new Unknown(path);
    }
    return this.copy(value, path);
  }

  private copy(value: unknown, path: string): unknown {
    if (typeof value !== "object" || value === null || isUnknown(value)) return value;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) out.push(this.read(value, i, `${path}[${i}]`));
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = this.read(value, key, `${path}.${key}`);
    return out;
  }
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (isUnknown(value)) return "<unknown until apply>";
  if (typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v.name === "string") return v.name;
    if (typeof v.id === "string") return v.id;
  }
  return String(value);
}

function quoted(value: unknown): string {
  return `"${text(value)}"`;
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Collects what could not be checked and reports it once, through the runtime's advisory path
 * for unknown values; a value that is not a string outside preview cannot become known, so that
 * is reported as a violation instead.
 */
class Unchecked {
  private readonly notes: string[] = [];

  add(note: string): void {
    this.notes.push(note);
  }

  finish(reader: PropsReader, reportViolation: ReportViolation, urn?: string): void {
    if (this.notes.length === 0) return;
    const err = reader.unknownErrors[0];
    if (!err) {
      for (const note of this.notes) reportViolation(`could not be checked: ${note}`, urn);
      return;
    }
    const parts = this.notes.length === 1 ? "1 part" : `${this.notes.length} parts`;
    err.message =
      `${parts} could not be checked, because ${this.notes.length === 1 ? "it depends" : "they depend"} on values ` +
      `not known until update (where the policy runs again): ${this.notes.join(" | ")}`;
    throw err;
  }
}

/** Reports each finding of a document; returns nothing, collects unchecked parts. */
function reportFindings(
  subject: string,
  findings: readonly Finding[],
  reportViolation: ReportViolation,
  unchecked: Unchecked,
  urn?: string,
): void {
  for (const finding of findings) {
    const line = `${subject}: ${describeFinding(finding)}`;
    if (finding.kind === "unchecked") unchecked.add(line);
    else reportViolation(finding.kind === "malformed" ? `malformed document: ${line}` : line, urn);
  }
}

function configOf(args: { getConfig<T extends object>(): T }): { allowedAccountLevelActions: string[] } {
  const config = args.getConfig<WildcardS3Config>();
  return { allowedAccountLevelActions: config.allowedAccountLevelActions ?? [] };
}

// ---------------------------------------------------------------------------------------------
// Where a role gets a policy by ARN

interface PolicyArnGrant {
  /** Who gets the policy, for messages: `role "copy-role"`. */
  readonly roles: string;
  /** The IAM names of those roles, as far as known. */
  readonly roleNames: readonly string[];
  /** The policy ARN (a string or an `Unknown`). */
  readonly arn: unknown;
  /** The property the ARN came from, to trace an unknown ARN through the engine's dependencies. */
  readonly property: string;
}

function rolesText(roles: readonly unknown[]): string {
  return roles.length === 1 ? `role ${quoted(roles[0])}` : `roles ${roles.map(quoted).join(", ")}`;
}

function roleNames(roles: readonly unknown[]): string[] {
  return roles.filter((r) => !isUnknown(r)).map(text);
}

/** The policy ARNs a resource gives to roles; empty for any resource that gives none. */
function policyArnGrants(type: string, name: string, props: unknown, reader: PropsReader): PolicyArnGrant[] {
  const read = (key: string) => reader.read(props, key, key);
  const each = (roles: readonly unknown[], arns: unknown, property: string): PolicyArnGrant[] => {
    const base = { roles: rolesText(roles), roleNames: roleNames(roles), property };
    return isUnknown(arns) ? [{ ...base, arn: arns }] : list(arns).map((arn) => ({ ...base, arn }));
  };
  switch (type) {
    case IAM_TYPES.rolePolicyAttachment:
      return each([read("role")], read("policyArn"), "policyArn");
    case IAM_TYPES.policyAttachment: {
      const roles = read("roles");
      if (!isUnknown(roles) && list(roles).length === 0) return []; // users or groups only
      return each(isUnknown(roles) ? [roles] : list(roles), read("policyArn"), "policyArn");
    }
    case IAM_TYPES.rolePolicyAttachmentsExclusive:
      return each([read("roleName")], read("policyArns"), "policyArns");
    case IAM_TYPES.role: {
      const iamName = read("name");
      return each([typeof iamName === "string" ? iamName : name], read("managedPolicyArns"), "managedPolicyArns");
    }
    default:
      return [];
  }
}

function managedPolicyMessage(grant: PolicyArnGrant, managed: ManagedPolicy, findings: readonly Finding[]): string {
  const grants = findings
    .filter((f) => f.kind === "violation")
    .map((f) => `${statementLabel(f)} action "${f.action}" on "${f.resource}" (${f.reason})`)
    .join("; ");
  return (
    `attaches the AWS managed policy ${managed.name} (${text(grant.arn)}) to ${grant.roles}, ` +
    `which grants wildcard S3 access: ${grants}. Instead: detach it and give the role an aws.iam.RolePolicy ` +
    `that names the S3 actions it needs (e.g. "s3:GetObject") on the buckets it needs ("arn:aws:s3:::<bucket>/*"); ` +
    `an aws.lambda.CallbackFunction without a role attaches AmazonS3FullAccess, so pass it that role.`
  );
}

// ---------------------------------------------------------------------------------------------
// The policies

/** Inline role policies (`aws.iam.Role` `inlinePolicies`) and `aws.iam.RolePolicy` documents. */
export const noWildcardS3RolePolicy: ResourceValidationPolicy = {
  name: "no-wildcard-s3-role-policy",
  description: "IAM role policies must not grant S3 access through wildcard actions, NotAction, wildcard buckets or NotResource.",
  enforcementLevel,
  severity: "high",
  configSchema,
  remediationSteps:
    'Name each S3 action the role needs (e.g. "s3:GetObject") and each bucket ("arn:aws:s3:::<bucket>" and "arn:aws:s3:::<bucket>/*").',
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type !== IAM_TYPES.role && args.type !== IAM_TYPES.rolePolicy) return;
    const reader = new PropsReader();
    const unchecked = new Unchecked();
    const options = configOf(args);
    if (args.type === IAM_TYPES.role) {
      const inline = reader.read(args.props, "inlinePolicies", "inlinePolicies");
      const entries = isUnknown(inline) ? [inline] : list(inline);
      entries.forEach((entry, i) => {
        const policy = isUnknown(entry) ? entry : reader.read(entry, "policy", `inlinePolicies[${i}].policy`);
        if (policy === undefined || policy === "") return; // the provider reports an empty block for "no inline policy"
        const policyName = reader.read(entry, "name", `inlinePolicies[${i}].name`);
        const label = typeof policyName === "string" && policyName ? `inline policy "${policyName}"` : `inlinePolicies[${i}]`;
        const subject = `Role "${args.name}" ${label}`;
        reportFindings(subject, checkPolicyDocument(policy, options), reportViolation, unchecked);
      });
    } else {
      const role = reader.read(args.props, "role", "role");
      const policy = reader.read(args.props, "policy", "policy");
      const subject = `RolePolicy "${args.name}" on role ${quoted(role)}`;
      reportFindings(subject, checkPolicyDocument(policy, options), reportViolation, unchecked);
    }
    unchecked.finish(reader, reportViolation);
  },
};

/** Attachments of AWS managed policies that grant wildcard S3 (see `managedPolicies.ts`). */
export const noWildcardS3ManagedPolicy: ResourceValidationPolicy = {
  name: "no-wildcard-s3-managed-policy",
  description: "Roles must not get AWS managed policies that grant wildcard S3 access, such as AmazonS3FullAccess.",
  enforcementLevel,
  severity: "high",
  remediationSteps:
    "Detach the managed policy and give the role an aws.iam.RolePolicy naming the S3 actions and buckets it needs; give aws.lambda.CallbackFunction an explicit role.",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const reader = new PropsReader();
    for (const grant of policyArnGrants(args.type, args.name, args.props, reader)) {
      // An ARN that is not known yet belongs to a policy created in this stack, which
      // no-wildcard-s3-attached-policy checks; AWS managed policy ARNs are always known.
      if (typeof grant.arn !== "string") continue;
      const managed = findManagedPolicy(grant.arn);
      if (!managed) continue;
      const findings = checkPolicyDocument(managed.document);
      reportViolation(`${args.type.split(":").pop()} "${args.name}" ${managedPolicyMessage(grant, managed, findings)}`);
    }
  },
};

interface StackPolicyDocument {
  readonly resource: PolicyResource;
  readonly arn: unknown;
  readonly name: unknown;
  readonly path: unknown;
  readonly document: unknown;
}

/** Whether a customer-managed policy ARN names this policy (`arn:aws:iam::123456789012:policy/<path><name>`). */
function arnNamesPolicy(arn: string, policy: StackPolicyDocument): boolean {
  if (typeof policy.name !== "string") return false;
  const path = typeof policy.path === "string" && policy.path ? policy.path : "/";
  return new RegExp(`^arn:[^:]+:iam::[^:]*:policy${escapeRegExp(path)}${escapeRegExp(policy.name)}$`).test(arn);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Customer policies (`aws.iam.Policy`) attached to a role: needs the stack to connect the two. */
export const noWildcardS3AttachedPolicy: StackValidationPolicy = {
  name: "no-wildcard-s3-attached-policy",
  description: "Customer-managed IAM policies attached to a role must not grant S3 access through wildcards.",
  enforcementLevel,
  severity: "high",
  configSchema,
  remediationSteps:
    'Name each S3 action the role needs (e.g. "s3:GetObject") and each bucket ("arn:aws:s3:::<bucket>" and "arn:aws:s3:::<bucket>/*") in the attached aws.iam.Policy.',
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const reader = new PropsReader();
    const unchecked = new Unchecked();
    const options = configOf(args);
    const documents: StackPolicyDocument[] = args.resources
      .filter((r) => r.type === IAM_TYPES.policy)
      .map((resource) => ({
        resource,
        arn: reader.read(resource.props, "arn", "arn"),
        name: reader.read(resource.props, "name", "name"),
        path: reader.read(resource.props, "path", "path"),
        document: reader.read(resource.props, "policy", "policy"),
      }));

    // A role's `managedPolicyArns` output lists every managed policy attached to it, including
    // those the attachment resources attach; visit attachments first and report each
    // (policy, role) pair once.
    const covered = new Set<string>();
    const ordered = [...args.resources].sort((a, b) => Number(a.type === IAM_TYPES.role) - Number(b.type === IAM_TYPES.role));
    for (const attachment of ordered) {
      const kind = attachment.type.split(":").pop();
      for (const grant of policyArnGrants(attachment.type, attachment.name, attachment.props, reader)) {
        const dependencies = attachment.propertyDependencies?.[grant.property] ?? [];
        let targets: StackPolicyDocument[];
        if (typeof grant.arn === "string") {
          if (isAwsManagedPolicyArn(grant.arn)) continue; // no-wildcard-s3-managed-policy
          const arn = grant.arn;
          const exact = documents.filter((d) => d.arn === arn);
          // A policy that is not defined in this stack cannot be read, so it is not reported.
          targets = exact.length > 0 ? exact : documents.filter((d) => arnNamesPolicy(arn, d));
        } else {
          // At preview a new policy's ARN is unknown; the engine still says which resources the
          // property was computed from.
          const sources = new Set(dependencies.map((r) => r.urn));
          targets = documents.filter((d) => sources.has(d.resource.urn));
          if (targets.length === 0) {
            // A role's whole `managedPolicyArns` is unknown at preview when the program does not
            // set it: it is then only the provider's report of attachments, visited on their own.
            if (attachment.type === IAM_TYPES.role && dependencies.length === 0) continue;
            unchecked.add(
              `${kind} "${attachment.name}" gives ${grant.roles} a policy whose ARN is not known yet ` +
                `(${grant.property}) and does not come from an aws.iam.Policy in this stack, so it could not be checked`,
            );
            continue;
          }
        }
        for (const target of targets) {
          const pairs = grant.roleNames.map((role) => `${target.resource.urn}\u0000${role}`);
          if (pairs.length > 0 && pairs.every((pair) => covered.has(pair))) continue;
          pairs.forEach((pair) => covered.add(pair));
          const subject = `Policy "${target.resource.name}" attached to ${grant.roles} by ${kind} "${attachment.name}"`;
          reportFindings(subject, checkPolicyDocument(target.document, options), reportViolation, unchecked, attachment.urn);
        }
      }
    }
    unchecked.finish(reader, reportViolation);
  },
};

/** Pulumi type tokens of the bucket resources the history rule reads. */
export const S3_TYPES = {
  bucket: "aws:s3/bucket:Bucket",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
} as const;

/** Config of the history rule. */
export interface BackupHistoryConfig {
  minNoncurrentVersionDays?: number;
}

export const backupHistoryProtected: StackValidationPolicy = {
  name: "backup-history-protected",
  description:
    "A backup bucket keeps noncurrent versions at least a minimum number of days, and its policy denies deleting versions or changing lifecycle, versioning, policy or Object Lock to all but a break-glass role.",
  enforcementLevel,
  severity: "high",
  configSchema: {
    properties: {
      minNoncurrentVersionDays: {
        type: "integer" as const,
        minimum: 1,
        default: DEFAULT_MIN_NONCURRENT_DAYS,
        description: "Fewest days a backup bucket may keep noncurrent versions.",
      },
    },
  },
  remediationSteps: "Set noncurrentVersionRetentionDays to at least the minimum, and breakGlassRoleName on the backup stack.",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const minDays = args.getConfig<BackupHistoryConfig>().minNoncurrentVersionDays ?? DEFAULT_MIN_NONCURRENT_DAYS;
    const of = (type: string) => args.resources.filter((r) => r.type === type);
    const violations = checkBackupHistory(
      {
        buckets: of(S3_TYPES.bucket).map((r) => ({ bucket: r.props.bucket, tags: r.props.tags })),
        lifecycles: of(S3_TYPES.lifecycle).map((r) => ({ bucket: r.props.bucket, rules: r.props.rules ?? [] })),
        policies: of(S3_TYPES.policy).map((r) => ({ bucket: r.props.bucket, policy: r.props.policy })),
      },
      minDays,
    );
    for (const violation of violations) reportViolation(violation);
  },
};

/** Every policy of the pack; a test checks that each exported policy is listed here. */
export const policies: Policies = [noWildcardS3RolePolicy, noWildcardS3ManagedPolicy, noWildcardS3AttachedPolicy, backupHistoryProtected];
