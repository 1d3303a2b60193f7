/**
 * A backup's history that cannot be cut short, as a pure rule: a bucket marked as a backup must
 * keep noncurrent versions at least a minimum number of days, and its bucket policy must deny
 * the actions that would shorten the history to everyone but one (break-glass) principal.
 */

/** The tag that marks a backup bucket (infra/hardenedBucket.ts sets it). */
export const BACKUP_TAG = "bucket-sync:backup";

/** The actions whose denial guards a history: the same list the stack's guard statement denies. */
export const HISTORY_ACTIONS = [
  "s3:DeleteObjectVersion",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutBucketPolicy",
  "s3:PutBucketObjectLockConfiguration",
] as const;

/** Retention below which a backup's history is too short to restore from. @default 30 days */
export const DEFAULT_MIN_NONCURRENT_DAYS = 30;

/** What the rule reads of a stack: its buckets, lifecycle configurations and bucket policies. */
export interface BackupHistoryInput {
  buckets: Array<{ bucket: string; tags?: Record<string, string> }>;
  lifecycles: Array<{ bucket: string; rules: Array<{ status?: string; noncurrentVersionExpiration?: { noncurrentDays?: number } }> }>;
  policies: Array<{ bucket: string; policy: unknown }>;
}

interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Whether a statement denies every history action on the bucket to all but the principals its condition names. */
function guards(statement: Statement, bucket: string): boolean {
  if (statement.Effect !== "Deny" || statement.NotAction !== undefined) return false;
  const everyone = statement.Principal === "*" || (statement.Principal as { AWS?: unknown } | undefined)?.AWS === "*";
  if (!everyone) return false;
  const actions = list(statement.Action).map((a) => a.toLowerCase());
  const covered = HISTORY_ACTIONS.every((action) => actions.includes(action.toLowerCase()) || actions.includes("s3:*") || actions.includes("*"));
  const resources = list(statement.Resource);
  const onBucket = resources.some((r) => r === `arn:aws:s3:::${bucket}` || /^arn:aws[a-z-]*:s3:::/.test(r) && r.endsWith(`:::${bucket}`));
  const onObjects = resources.some((r) => /^arn:aws[a-z-]*:s3:::/.test(r) && r.endsWith(`:::${bucket}/*`));
  // Only an exception by principal ARN: any other condition (a source IP, TLS) leaves gaps.
  const conditions = Object.entries(statement.Condition ?? {});
  const byPrincipal =
    conditions.length === 1 &&
    /^ArnNotEquals|^ArnNotLike|^StringNotEquals|^StringNotLike/.test(conditions[0][0]) &&
    Object.keys(conditions[0][1]).every((key) => key.toLowerCase() === "aws:principalarn");
  return covered && onBucket && onObjects && byPrincipal;
}

/** The violations of a stack's backup buckets; empty when every backup keeps its history. */
export function checkBackupHistory(input: BackupHistoryInput, minNoncurrentDays = DEFAULT_MIN_NONCURRENT_DAYS): string[] {
  const violations: string[] = [];
  for (const { bucket, tags } of input.buckets) {
    if (tags?.[BACKUP_TAG] !== "true") continue;
    for (const lifecycle of input.lifecycles.filter((l) => l.bucket === bucket)) {
      for (const rule of lifecycle.rules) {
        const days = rule.noncurrentVersionExpiration?.noncurrentDays;
        if (rule.status !== "Disabled" && days !== undefined && days < minNoncurrentDays) {
          violations.push(
            `backup bucket "${bucket}" expires noncurrent versions after ${days} days, below the minimum of ${minNoncurrentDays}: a restore could not reach back further; raise noncurrentVersionRetentionDays to at least ${minNoncurrentDays}`,
          );
        }
      }
    }
    const statements = input.policies
      .filter((p) => p.bucket === bucket)
      .flatMap((p) => {
        try {
          const document = typeof p.policy === "string" ? JSON.parse(p.policy) : p.policy;
          return list((document as { Statement?: Statement | Statement[] } | undefined)?.Statement);
        } catch {
          return [];
        }
      });
    if (!statements.some((s) => guards(s, bucket))) {
      violations.push(
        `backup bucket "${bucket}" has no bucket-policy statement denying ${HISTORY_ACTIONS.join(", ")} to all but a break-glass role: anyone allowed those could cut its history short; set breakGlassRoleName`,
      );
    }
  }
  return violations;
}
