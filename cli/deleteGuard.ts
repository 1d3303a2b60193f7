/**
 * The delete guard in a user's words: a dry run states the verdict the real run would reach, and
 * a refusal says what was planned, the limit, and the two ways forward. Pure: from the copy
 * phase's summary.
 */
import { type DeleteLimit, deletesExtras, type SyncSummary } from "../model/contract";
import { realRunDeleteDecision } from "../handlers/engine/summary";

/** `--max-deletes` as the user wrote it, with the count it came to: `10% (1)`, `5`. */
export function limitText(limit: DeleteLimit, count: number): string {
  return "percent" in limit ? `${limit.percent}% (${count})` : `${limit.count}`;
}

const objects = (n: number) => (n === 1 ? "1 object" : `${n.toLocaleString("en-US")} objects`);

/**
 * A mirror dry run's verdict: `would delete 3 — over --max-deletes 10% (1): the real run stops
 * unless --approve-deletes`, or within the limit. Nothing for other modes or nothing to delete.
 */
export function dryRunVerdict(summary: SyncSummary | undefined): string | undefined {
  if (!summary || !summary.job.dryRun || !deletesExtras(summary.job) || summary.plannedDeletes === 0) return undefined;
  const limit = `--max-deletes ${limitText(summary.job.maxDeletes, summary.deleteLimit)}`;
  switch (realRunDeleteDecision(summary)) {
    case "blocked-by-failures":
      return `would delete ${summary.plannedDeletes} — but objects failed, so the real run deletes nothing until they copy`;
    case "over-limit":
      return `would delete ${summary.plannedDeletes} — over ${limit}: the real run stops unless --approve-deletes`;
    default:
      return `would delete ${summary.plannedDeletes} — within ${limit}`;
  }
}

/**
 * Why a mirror stopped before deleting, and the two ways forward. For a run that ended with the
 * delete guard's refusal (no approval).
 */
export function refusalMessage(summary: SyncSummary): string {
  const planned = summary.plannedDeletes;
  return [
    `${objects(planned)} to delete, over --max-deletes ${limitText(summary.job.maxDeletes, summary.deleteLimit)}: nothing was deleted (the copies were made).`,
    `To delete them, run again with --approve-deletes, or raise the limit with --max-deletes ${planned}.`,
  ].join(" ");
}
