/** SyncStats arithmetic: every counter is additive across calls, partitions and phases. */
import type { SyncStats } from "../../model/contract";

export function emptyStats(): SyncStats {
  return {
    sourceObjects: 0,
    destinationObjects: 0,
    copied: 0,
    updated: 0,
    copiedToSource: 0,
    deleted: 0,
    extra: 0,
    unchanged: 0,
    conflicts: 0,
    failed: 0,
    bytes: 0,
  };
}

export function addStats(...all: Array<SyncStats | undefined>): SyncStats {
  const total = emptyStats();
  for (const stats of all) {
    if (!stats) continue;
    for (const name of Object.keys(total) as Array<keyof SyncStats>) total[name] += stats[name] ?? 0;
  }
  return total;
}
