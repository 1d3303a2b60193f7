/**
 * The cost model, on the list prices in pricing/prices.ts: what a bucket-sync run costs
 * per million objects from what the local run measured, and a paper model of a deployed run at
 * 1 and 100 million objects next to S3 Batch Operations / Batch Replication and DataSync.
 */
import { AWS_PRICES } from "../../pricing/prices";

/** Step Functions quotas the model checks a run against. */
export const STEP_FUNCTIONS_LIMITS = {
  /** Events in one execution's history (Standard workflows); the execution fails past it. */
  historyEvents: 25_000,
  /** State data (input, output, result) of a state or execution. */
  payloadBytes: 256 * 1024,
  source: "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
  /** Child workflow executions a Distributed Map runs at once. */
  distributedMapConcurrency: 10_000,
  distributedMapSource: "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html",
};

/** S3's documented request rates per partitioned prefix. */
export const S3_PREFIX_LIMITS = {
  writesPerSecond: 3500,
  readsPerSecond: 5500,
  source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
};

const TIER1 = new Set(["PutObject", "CopyObject", "UploadPartCopy", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload", "ListObjectsV2", "ListObjects", "ListBuckets", "ListParts", "ListMultipartUploads", "PutObjectTagging", "DeleteObjects"]);
const TIER2 = new Set(["GetObject", "HeadObject", "HeadBucket", "GetObjectTagging", "GetBucketLocation"]);

/** S3 request charges for a set of counted requests (DELETE and Abort are free). */
export function s3RequestCost(counts: Record<string, number>): number {
  let usd = 0;
  for (const [operation, n] of Object.entries(counts)) {
    if (TIER1.has(operation)) usd += n * AWS_PRICES.s3Tier1.usd;
    else if (TIER2.has(operation)) usd += n * AWS_PRICES.s3Tier2.usd;
  }
  return usd;
}

/**
 * Orchestration per million objects from a local run. Lambda GB-seconds and S3 requests grow with
 * the objects and are scaled linearly. State transitions do not (10 + 3 per partition + 3 per
 * extra sync-range call): the run's own count is priced as it is, which holds while every
 * partition finishes within one call (more calls add 3 each; see {@link paperRun}).
 */
export interface MeasuredCost {
  objects: number;
  transitions: number;
  lambdaGbSeconds: number;
  transitionsUsd: number;
  lambdaUsdPerMillion: number;
  s3UsdPerMillion: number;
}

export function measuredCost(objects: number, transitions: number, lambdaGbSeconds: number, counts: Record<string, number>): MeasuredCost {
  const scale = 1_000_000 / objects;
  return {
    objects,
    transitions,
    lambdaGbSeconds,
    transitionsUsd: transitions * AWS_PRICES.stateTransition.usd,
    lambdaUsdPerMillion: lambdaGbSeconds * AWS_PRICES.lambdaGbSecond.usd * scale,
    s3UsdPerMillion: s3RequestCost(counts) * scale,
  };
}

/** Assumptions of the paper model, each a plain number the table prints. */
export interface PaperAssumptions {
  partitions: number;
  /** Parallel S3 requests per partition (the engine's `concurrency`). */
  concurrency: number;
  /** Mean CopyObject latency for a small object within one region, seconds. */
  copyLatencySeconds: number;
  /** Mean ListObjectsV2 latency for a 1,000-key page, seconds. */
  listLatencySeconds: number;
  /** sync-range Lambda memory, GB (infra/syncMachine.ts). */
  lambdaGb: number;
  /** sync-range time budget per call, seconds (validation DEFAULTS.timeBudgetSeconds). */
  timeBudgetSeconds: number;
  /** Top-level prefixes the keys are spread over (each can reach S3's per-prefix rate). */
  prefixes: number;
  objectBytes: number;
  /**
   * Copies per second one partition sustains, when measured (bench/RESULTS.md); otherwise
   * concurrency / copyLatencySeconds.
   */
  measuredObjectsPerSecondPerPartition?: number;
  /** Listing calls the planner makes over both buckets (bench:partitions). */
  planningListCalls?: number;
}

export interface PaperRun {
  objects: number;
  partitions: number;
  lambdaConcurrency: number;
  objectsPerSecond: number;
  /** What bounds the rate: the engine's parallelism or S3's per-prefix write rate. */
  limit: "engine" | "S3 prefix rate";
  wallSeconds: number;
  syncRangeCalls: number;
  transitions: number;
  lambdaGbSeconds: number;
  orchestrationUsd: number;
  s3RequestUsd: number;
  /** Write requests per second each prefix receives (S3 allows 3,500 per partitioned prefix). */
  writesPerSecondPerPrefix: number;
  /** Seconds the plan-partitions call lists (its probes go 32 at a time per bucket). */
  planningSeconds: number;
  /** Events in the parent execution's history: the Distributed Map keeps each partition's in its child. */
  parentHistoryEvents: number;
  /** Events in the longest child execution's history (one partition's cursor loop). */
  childHistoryEvents: number;
}

/**
 * History events per state, as Step Functions records them: a Lambda Task enters, schedules,
 * starts, succeeds and exits (5); a Choice or Pass enters and exits (2); a Distributed Map
 * enters, starts and ends its map run, and exits (4).
 */
const EVENTS = { task: 5, choice: 2, distributedMap: 4 };

/**
 * A deployed run that copies every object: each partition keeps `concurrency` CopyObjects in
 * flight (rate concurrency / latency) and lists a page per side every 1,000 keys; partitions run
 * in parallel up to the Map's MaxConcurrency (= partitions here), bounded by S3's per-prefix
 * write rate over the prefixes the keys are spread over.
 */
export function paperRun(objects: number, a: PaperAssumptions): PaperRun {
  const perPartitionRate = a.measuredObjectsPerSecondPerPartition ?? a.concurrency / a.copyLatencySeconds;
  const engineRate = a.partitions * perPartitionRate;
  const s3Rate = a.prefixes * S3_PREFIX_LIMITS.writesPerSecond;
  const objectsPerSecond = Math.min(engineRate, s3Rate);
  const pages = Math.ceil(objects / 1000);
  // Listing overlaps copying only at page boundaries: count one page latency per page per partition.
  const listSeconds = (pages * a.listLatencySeconds) / a.partitions;
  const planningSeconds = Math.ceil((a.planningListCalls ?? 2) / 64) * a.listLatencySeconds;
  const wallSeconds = objects / objectsPerSecond + listSeconds + planningSeconds + 5; // + validate, summarize, report
  const perPartitionSeconds = wallSeconds - 5;
  const callsPerPartition = Math.max(1, Math.ceil(perPartitionSeconds / a.timeBudgetSeconds));
  const syncRangeCalls = a.partitions * callsPerPartition;
  // infra/definition.ts: 10 states outside the Map; per partition 3 (task, done?, keep) and 3 per extra call.
  const transitions = 10 + a.partitions * (3 + 3 * (callsPerPartition - 1));
  const lambdaGbSeconds = a.partitions * perPartitionSeconds * a.lambdaGb + 4 * 1 * 0.5; // + the small handlers
  const orchestrationUsd =
    transitions * AWS_PRICES.stateTransition.usd +
    lambdaGbSeconds * AWS_PRICES.lambdaGbSecond.usd +
    (syncRangeCalls + 4) * AWS_PRICES.lambdaRequest.usd;
  const s3RequestUsd = (objects + 2 * pages) * AWS_PRICES.s3Tier1.usd;
  return {
    objects,
    partitions: a.partitions,
    lambdaConcurrency: a.partitions,
    objectsPerSecond,
    limit: engineRate <= s3Rate ? "engine" : "S3 prefix rate",
    wallSeconds,
    syncRangeCalls,
    transitions,
    lambdaGbSeconds,
    orchestrationUsd,
    s3RequestUsd,
    writesPerSecondPerPrefix: objectsPerSecond / a.prefixes,
    planningSeconds,
    // validate, plan, summarize, write report (tasks); delete decision, outcome checks (choices);
    // the copy Map (the delete Map only runs in a mirror that deletes)
    parentHistoryEvents: 2 + 4 * EVENTS.task + 4 * EVENTS.choice + EVENTS.distributedMap,
    // per call: the sync-range task and its done? choice, then the loop's pass
    childHistoryEvents: 2 + callsPerPartition * (EVENTS.task + EVENTS.choice) + (callsPerPartition - 1) * EVENTS.choice,
  };
}

/** The managed alternatives for copying `objects` objects of `objectBytes` each, list prices only. */
export function alternatives(objects: number, objectBytes: number): Array<{ name: string; usd: number; how: string }> {
  const gb = (objects * objectBytes) / 1024 ** 3;
  const copies = objects * AWS_PRICES.s3Tier1.usd;
  const batch = AWS_PRICES.batchOperationsJob.usd + objects * AWS_PRICES.batchOperationsObject.usd;
  return [
    {
      name: "S3 Batch Operations (Copy)",
      usd: batch + copies,
      how: "$0.25/job + $1.00 per million objects + one COPY per object; needs a manifest (S3 Inventory or a CSV) of what to copy",
    },
    {
      name: "S3 Batch Replication",
      usd: batch + copies,
      how: "Batch Operations job and object fees + one replication PUT per object; needs versioning on both buckets and a replication rule on the source",
    },
    {
      name: "DataSync (Enhanced mode)",
      usd: AWS_PRICES.dataSyncEnhancedExecution.usd + gb * AWS_PRICES.dataSyncEnhancedGb.usd + copies + objects * AWS_PRICES.s3Tier2.usd,
      how: "$0.55/execution + $0.015/GB + the S3 requests it makes (at least a GET and a PUT per object, plus LIST/HEAD)",
    },
  ];
}
