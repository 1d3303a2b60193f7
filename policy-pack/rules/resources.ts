/**
 * What a `Resource` / `NotResource` pattern means for S3.
 *
 * An ARN is `arn:partition:service:region:account:resource`; S3 bucket ARNs leave region and
 * account empty (`arn:aws:s3:::bucket`) and object ARNs append the key (`arn:aws:s3:::bucket/key`).
 * IAM matches wildcards within a segment. The IAM guide adds that a `*` ending a segment "can
 * expand to match beyond the colon boundaries"; we apply that where it matters in practice, to a
 * pattern that stops early (`*`, `arn:*`, `arn:aws:s3*`), whose last `*` then stands for every
 * remaining segment. A `*` that ends a middle segment (`arn:*:s3:::my-bucket/*`) is read as
 * matching within its segment: expanding it across colons only reaches object keys that
 * themselves contain `:s3:::my-bucket/`, and flagging every any-partition ARN for that would bury
 * the findings that matter.
 */
import { globMatches, hasWildcard } from "./glob";

export interface ResourceShape {
  /** The pattern can match some S3 resource: a bucket, an object, an access point, a job, ... */
  readonly s3: boolean;
  /** The pattern can match buckets (or objects in buckets) of more than one bucket name. */
  readonly wildcardBucket: boolean;
  /** The pattern matches `*`, the only resource an account-level action accepts. */
  readonly matchesAnyResource: boolean;
  /** The partition to suggest in a fix: the pattern's own if it is literal, else `aws`. */
  readonly partition: string;
  /** The literal start of the bucket name (`my-bucket` in `my-bucket*`), if there is one. */
  readonly bucketStem?: string;
}

const SEGMENTS = 6;

function segments(pattern: string): string[] | undefined {
  const parts = pattern.split(":");
  if (parts.length >= SEGMENTS) {
    return [...parts.slice(0, SEGMENTS - 1), parts.slice(SEGMENTS - 1).join(":")];
  }
  // A pattern that stops early matches more only if its last character is a `*` that swallows
  // the segments it leaves out; otherwise it matches no full ARN at all.
  if (!pattern.endsWith("*")) return undefined;
  return [...parts, ...Array<string>(SEGMENTS - parts.length).fill("*")];
}

function onlyStars(segment: string): boolean {
  return /^\**$/.test(segment);
}

export function analyzeResource(pattern: string): ResourceShape {
  const matchesAnyResource = globMatches(pattern, "*");
  const segs = segments(pattern);
  if (!segs) return { s3: false, wildcardBucket: false, matchesAnyResource, partition: "aws" };
  const [arn, partition, service, region, account, resource] = segs;
  const s3 = globMatches(arn, "arn") && partition.length > 0 && globMatches(service, "s3", true);
  // Bucket and object ARNs have empty region and account segments; a pattern can only match
  // them if those segments are empty or nothing but stars.
  const bucketArn = s3 && onlyStars(region) && onlyStars(account);
  const slash = resource.indexOf("/");
  const bucket = slash < 0 ? resource : resource.slice(0, slash);
  const wildcardBucket = bucketArn && hasWildcard(bucket);
  const stem = bucket.split(/[*?]/)[0];
  return {
    s3,
    wildcardBucket,
    matchesAnyResource,
    partition: hasWildcard(partition) || partition === "" ? "aws" : partition,
    bucketStem: stem ? stem : undefined,
  };
}
