/**
 * The checks a restore passes before it writes anything: the source must be a versioned bucket
 * whose history still reaches back to `asOf`, the destination must lie within the restore's
 * grant, and writing over a destination that holds objects needs approval. Each failure is a
 * ValidationError naming the problem.
 */
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  type LifecycleRule,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Location, SyncJob } from "../../model/contract";
import { ValidationError } from "./errors";

const DAY_MS = 24 * 60 * 60 * 1000;

/** What a restore is checked against besides S3 itself. */
export interface RestoreCheckOptions {
  /** @default Date.now() */
  now?: number;
  /**
   * The one location the restore may write (a deployed stack's `restoreTarget`, the restore
   * role's grant): a destination outside it is refused. @default no limit (local runs)
   */
  grant?: Location;
}

/** `bucket/prefix` (the form HANDLER_ENV.restoreTarget carries) as a Location. */
export function parseGrant(text: string): Location {
  const slash = text.indexOf("/");
  return slash === -1 ? { bucket: text, prefix: "" } : { bucket: text.slice(0, slash), prefix: text.slice(slash + 1) };
}

/** Whether `destination` lies within `grant` (same bucket, under its prefix). */
export function withinGrant(destination: Required<Location>, grant: Location): boolean {
  return destination.bucket === grant.bucket && destination.prefix.startsWith(grant.prefix ?? "");
}

/**
 * The shortest noncurrent-version retention (days) of the lifecycle rules that apply to `prefix`:
 * versions that stopped being current longer ago than that may be gone. Undefined: no rule
 * expires noncurrent versions there.
 */
export function retentionDays(rules: LifecycleRule[], prefix: string): { days: number; rule: string } | undefined {
  let shortest: { days: number; rule: string } | undefined;
  for (const rule of rules) {
    if (rule.Status !== "Enabled") continue;
    const days = rule.NoncurrentVersionExpiration?.NoncurrentDays;
    if (days === undefined) continue;
    const rulePrefix = rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix ?? "";
    if (!prefix.startsWith(rulePrefix) && !rulePrefix.startsWith(prefix)) continue;
    if (!shortest || days < shortest.days) shortest = { days, rule: rule.ID ?? "(unnamed)" };
  }
  return shortest;
}

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as { name?: string; Code?: string }).Code ?? (err as { name?: string }).name;

/** Runs every check of a restore job; throws a ValidationError naming each problem found. */
/**
 * Why a restore's destination is outside the restore role's grant; undefined when it is inside (or
 * there is no grant, or the job is no restore). Pure: validate-input asks it before any request,
 * since a request to a location outside the grant is refused by IAM before it could be named.
 */
export function restoreGrantProblem(job: SyncJob, grant: Location | undefined): string | undefined {
  if (job.mode !== "restore" || !grant || withinGrant(job.destination, grant)) return undefined;
  return `destination s3://${job.destination.bucket}/${job.destination.prefix} is outside the restore role's grant s3://${grant.bucket}/${grant.prefix ?? ""}: restore there, or change the stack's restoreTarget`;
}

export async function checkRestore(client: S3Client, job: SyncJob, options: RestoreCheckOptions = {}): Promise<void> {
  if (job.mode !== "restore" || job.asOf === undefined) return;
  const now = options.now ?? Date.now();
  const asOf = Date.parse(job.asOf);
  const source = `s3://${job.source.bucket}/${job.source.prefix}`;
  const destination = `s3://${job.destination.bucket}/${job.destination.prefix}`;
  const problems: string[] = [];
  const outside = restoreGrantProblem(job, options.grant);
  if (outside) problems.push(outside);
  const [versioning, lifecycle, destinationPage] = await Promise.all([
    client.send(new GetBucketVersioningCommand({ Bucket: job.source.bucket })),
    client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: job.source.bucket })).then(
      (result) => result.Rules ?? [],
      (err) => {
        // No configuration: nothing expires. A store without lifecycle support: neither.
        if (nameOf(err) === "NoSuchLifecycleConfiguration" || statusOf(err) === 501) return [];
        throw err;
      },
    ),
    client.send(new ListObjectsV2Command({ Bucket: job.destination.bucket, Prefix: job.destination.prefix || undefined, MaxKeys: 1 })),
  ]);
  if (versioning.Status !== "Enabled") {
    problems.push(
      `source bucket "${job.source.bucket}" is not versioned (versioning ${versioning.Status ?? "never enabled"}): it keeps no history to restore from; enable versioning on the backup bucket`,
    );
  }
  const retention = retentionDays(lifecycle, job.source.prefix);
  if (retention && asOf < now - retention.days * DAY_MS) {
    problems.push(
      `asOf ${job.asOf} is older than the retention window of ${source}: lifecycle rule "${retention.rule}" expires noncurrent versions after ${retention.days} days, so versions current then may be gone; the oldest restorable time is ${new Date(now - retention.days * DAY_MS).toISOString()}`,
    );
  }
  if ((destinationPage.KeyCount ?? destinationPage.Contents?.length ?? 0) > 0 && !job.approveOverwrite && !job.dryRun) {
    problems.push(
      `destination ${destination} holds objects, which a restore would overwrite${job.delete ? " or delete" : ""}: approve with --approve-overwrite (approveOverwrite: true), restore into an empty prefix, or plan with --dry-run`,
    );
  }
  if (problems.length > 0) throw new ValidationError(problems);
}
