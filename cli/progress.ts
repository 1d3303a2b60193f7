/**
 * Progress on stderr: a bar (cli-progress) over partitions when stderr is a terminal, plain
 * lines otherwise (CI logs, pipes).
 */
import { SingleBar, Presets } from "cli-progress";
import type { Partition, SyncRangeResult } from "../model/contract";

export interface Progress {
  planned(partitions: Partition[]): void;
  range(result: SyncRangeResult): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream): Progress {
  let total = 0;
  let finished = 0;
  // a partition's stats are cumulative across its calls: keep the latest per partition
  const latest = new Map<string, number>();
  const copiedSoFar = (result: SyncRangeResult): number => {
    latest.set(`${result.phase}:${result.partition.id}`, result.stats.copied + result.stats.updated);
    return [...latest.values()].reduce((sum, n) => sum + n, 0);
  };
  if (stream.isTTY) {
    const bar = new SingleBar(
      { stream, format: "{phase} |{bar}| {value}/{total} partitions | {copied} copied", hideCursor: true },
      Presets.shades_classic,
    );
    let started = false;
    return {
      planned(partitions) {
        total = partitions.length;
        bar.start(total, 0, { phase: "copy", copied: 0 });
        started = true;
      },
      range(result) {
        if (result.done) finished++;
        bar.update(Math.min(finished, total), { phase: result.phase, copied: copiedSoFar(result) });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    planned(partitions) {
      total = partitions.length;
      stream.write(`planned ${total} partitions\n`);
    },
    range(result) {
      if (result.done) finished++;
      const s = result.stats;
      stream.write(
        `${result.phase} partition ${result.partition.id}${result.done ? " done" : ` at ${JSON.stringify(result.cursor)}`}: copied ${s.copied}, updated ${s.updated}, deleted ${s.deleted}, unchanged ${s.unchanged}, failed ${s.failed} (${finished}/${total} partitions)\n`,
      );
    },
    stop() {},
  };
}
