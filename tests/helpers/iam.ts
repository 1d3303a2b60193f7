/**
 * Runs of the state machine under the IAM the stack deploys: the roles `stackRoles` builds for a
 * stack whose buckets are the request's, enforced on the spec's S3 clients
 * (local-stepfunctions/iam.ts). Every spec that runs the machine with the real handlers passes
 * `iam: await stackIam(...)` to `runLocally`.
 */
import { writeFileSync } from "node:fs";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SyncMode, SyncRequest } from "../../model/contract";
import { stackRoles, type StackRoles } from "../../infra/stackRoles";
import { attachIamEnforcement, IamEnforcement, type BucketFacts, type IamModel, type RoleName, type RoleUsage } from "../../local-stepfunctions/iam";
import type { PolicyDocument } from "../../infra/iamDocuments";

/** The local stack's name stem: `localFunctionArns()` and `LOCAL_TOPIC_ARN` name its functions and topic. */
export const LOCAL_STEM = "bucket-sync";
export const LOCAL_SCOPE = { partition: "aws", region: "us-east-1", accountId: "000000000000" } as const;

export interface StackIamOptions {
  /** Where write-report stores reports and sync-range its partition records. */
  reports: { bucket: string; prefix?: string };
  /** The clients the handlers send through. */
  clients: S3Client[];
  /** The mode the stack is configured for. @default the request's mode, else "backup" */
  mode?: SyncMode;
  /** Changes the roles before they are enforced (mutation specs). */
  mutate?: (roles: StackRoles) => StackRoles;
  buckets?: Record<string, BucketFacts>;
  keyPolicies?: Record<string, PolicyDocument>;
  /** The stack's own KMS key (its buckets are SSE-KMS under it). */
  kmsKeyArn?: string;
  sourceKmsKeyArn?: string;
  /** @default LOCAL_SCOPE */
  scope?: { partition: string; region: string; accountId: string };
  /** @default LOCAL_STEM */
  nameStem?: string;
}

const enforcements: IamEnforcement[] = [];

// BUCKET_SYNC_IAM_USAGE=<file>: at exit, what every enforced run of this process (a whole
// `npm test`, say) granted and exercised per role, as JSON.
if (process.env.BUCKET_SYNC_IAM_USAGE) {
  const file = process.env.BUCKET_SYNC_IAM_USAGE;
  process.on("exit", () => writeFileSync(file, `${JSON.stringify(suiteUsage(), null, 2)}\n`));
}

/** The roles of the stack a spec's request stands for. */
export function requestStackRoles(request: SyncRequest, options: Omit<StackIamOptions, "clients">): StackRoles {
  return stackRoles({
    nameStem: options.nameStem ?? LOCAL_STEM,
    scope: options.scope ?? LOCAL_SCOPE,
    source: { bucket: request.source.bucket, prefix: request.source.prefix ?? "" },
    destination: { bucket: request.destination.bucket, prefix: request.destination.prefix ?? "" },
    reportsBucket: options.reports.bucket,
    reportPrefix: options.reports.prefix ?? "reports/",
    mode: options.mode ?? (request.mode === "restore" ? undefined : request.mode) ?? "backup",
    kmsKeyArn: options.kmsKeyArn,
    sourceKmsKeyArn: options.sourceKmsKeyArn,
  });
}

/** The enforcement of the stack `request` stands for, attached to `options.clients`. */
export async function stackIam(request: SyncRequest, options: StackIamOptions): Promise<IamEnforcement> {
  const roles = requestStackRoles(request, options);
  const model: IamModel = {
    roles: options.mutate ? options.mutate(roles) : roles,
    buckets: options.buckets,
    keyPolicies: options.keyPolicies,
    region: (options.scope ?? LOCAL_SCOPE).region,
  };
  const iam = await IamEnforcement.create(model);
  for (const client of options.clients) attachIamEnforcement(client);
  enforcements.push(iam);
  return iam;
}

/** A point in the sequence of enforcements, for {@link suiteUsage}. */
export function enforcementMark(): number {
  return enforcements.length;
}

/**
 * Per role, the actions granted (by any stack of the runs) and exercised across the enforced runs
 * since `mark` (every run of this process by default).
 */
export function suiteUsage(mark = 0): Record<RoleName, RoleUsage> {
  const merged = new Map<RoleName, { granted: Set<string>; exercised: Set<string> }>();
  for (const iam of enforcements.slice(mark)) {
    for (const [role, usage] of Object.entries(iam.usage()) as Array<[RoleName, RoleUsage]>) {
      const entry = merged.get(role) ?? { granted: new Set(), exercised: new Set() };
      usage.granted.forEach((a) => entry.granted.add(a));
      usage.exercised.forEach((a) => entry.exercised.add(a));
      merged.set(role, entry);
    }
  }
  return Object.fromEntries([...merged].map(([role, u]) => [role, { granted: [...u.granted].sort(), exercised: [...u.exercised].sort() }])) as Record<RoleName, RoleUsage>;
}
