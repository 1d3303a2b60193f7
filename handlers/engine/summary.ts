/**
 * Summaries: the totals of every partition, and the delete guard's decision. Pure.
 */
import { type DeleteDecision, type DeleteLimit, deletesExtras, type SummarizeInput, type SyncRangeResult, type SyncSummary } from "../../model/contract";
import { addStats } from "./stats";

/** Most failures and change samples a summary keeps. */
export const SUMMARY_SAMPLE_LIMIT = 100;
/**
 * Most bytes (serialized) of each sample list in a summary. The summary travels in the state
 * machine's data (256 KiB at most): 100 samples of 1,024-byte keys with long messages would fill
 * half of it. Each partition's own samples stay in its run record.
 */
export const SUMMARY_SAMPLE_BYTES = 32 * 1024;

/** The first samples that fit both limits. */
function bounded<T>(samples: T[]): T[] {
  const kept: T[] = [];
  let bytes = 0;
  for (const sample of samples.slice(0, SUMMARY_SAMPLE_LIMIT)) {
    bytes += Buffer.byteLength(JSON.stringify(sample), "utf8") + 1;
    if (bytes > SUMMARY_SAMPLE_BYTES) break;
    kept.push(sample);
  }
  return kept;
}

/** The delete limit as a count, for a destination holding `destinationObjects` in scope. */
export function deleteLimitCount(limit: DeleteLimit, destinationObjects: number): number {
  return "count" in limit ? limit.count : Math.floor((limit.percent / 100) * destinationObjects);
}

/** Adds up the results of one phase (and, for the delete phase, the copy phase before it). */
export function summarize(input: SummarizeInput & { results: SyncRangeResult[] }): SyncSummary {
  const { job, phase, results, previous } = input;
  const phaseStats = addStats(...results.map((result) => result.stats));
  const stats = phase === "delete" && previous ? addStats(previous.stats, phaseStats) : phaseStats;
  const failures = [...(previous?.failures ?? []), ...results.flatMap((result) => result.failures)];
  const changes = [...(previous?.changes ?? []), ...results.flatMap((result) => result.changes)];
  const plannedDeletes =
    phase === "copy" ? results.reduce((sum, result) => sum + result.plannedDeletes, 0) : (previous?.plannedDeletes ?? 0);
  const deleteLimit = deleteLimitCount(job.maxDeletes, stats.destinationObjects);
  let deleteDecision: DeleteDecision;
  // The decision is made once, after the copy phase; the delete phase reports the decision that
  // let it run ("over-limit" there means a human approved), not a new one.
  if (phase === "delete" && previous) deleteDecision = previous.deleteDecision;
  else if (stats.failed > 0) deleteDecision = "blocked-by-failures";
  else if (!deletesExtras(job) || job.dryRun || plannedDeletes === 0) deleteDecision = "no-deletes";
  else deleteDecision = plannedDeletes > deleteLimit ? "over-limit" : "within-limit";
  const deletePartitions =
    phase === "copy" && deleteDecision !== "no-deletes" && deleteDecision !== "blocked-by-failures"
      ? results
          .filter((result) => result.plannedDeletes > 0)
          .map((result) => ({ partition: result.partition, deleteBudget: result.plannedDeletes }))
      : [];
  return {
    job,
    phase,
    stats,
    plannedDeletes,
    deleteLimit,
    deleteDecision,
    deletePartitions,
    deletePartitionIds: deletePartitions.map((entry) => entry.partition.id),
    failures: bounded(failures),
    changes: bounded(changes),
  };
}

/**
 * The delete guard's decision as the real run would reach it: a dry run's summary records
 * "no-deletes" (it deletes nothing, so the state machine skips the delete phase), but a CI gate
 * reading a dry run needs the verdict the same request would get for real.
 */
export function realRunDeleteDecision(summary: SyncSummary): DeleteDecision {
  if (!summary.job.dryRun) return summary.deleteDecision;
  if (summary.stats.failed > 0) return "blocked-by-failures";
  if (summary.job.mode !== "mirror" || summary.plannedDeletes === 0) return "no-deletes";
  return summary.plannedDeletes > summary.deleteLimit ? "over-limit" : "within-limit";
}
