/**
 * Summaries: the totals of every partition, and the delete guard's decision. Pure.
 */
import type { DeleteDecision, DeleteLimit, SummarizeInput, SyncSummary } from "../../model/contract";
import { addStats } from "./stats";

/** Most failures and change samples a summary keeps. */
export const SUMMARY_SAMPLE_LIMIT = 100;

/** The delete limit as a count, for a destination holding `destinationObjects` in scope. */
export function deleteLimitCount(limit: DeleteLimit, destinationObjects: number): number {
  return "count" in limit ? limit.count : Math.floor((limit.percent / 100) * destinationObjects);
}

/** Adds up the results of one phase (and, for the delete phase, the copy phase before it). */
export function summarize(input: SummarizeInput): SyncSummary {
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
  else if (job.mode !== "mirror" || job.dryRun || plannedDeletes === 0) deleteDecision = "no-deletes";
  else deleteDecision = plannedDeletes > deleteLimit ? "over-limit" : "within-limit";
  return {
    job,
    phase,
    stats,
    plannedDeletes,
    deleteLimit,
    deleteDecision,
    deletePartitions:
      phase === "copy" && deleteDecision !== "no-deletes" && deleteDecision !== "blocked-by-failures"
        ? results
            .filter((result) => result.plannedDeletes > 0)
            .map((result) => ({ partition: result.partition, deleteBudget: result.plannedDeletes }))
        : [],
    failures: failures.slice(0, SUMMARY_SAMPLE_LIMIT),
    changes: changes.slice(0, SUMMARY_SAMPLE_LIMIT),
  };
}
