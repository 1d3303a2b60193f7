/**
 * Live progress on stderr, as rclone's `--progress` shows it: objects and bytes done of those
 * listed so far, the rate, an ETA, the copies in flight and the time elapsed. Fed key by key from
 * inside the ranges (the engine's RangeEvents), not per partition. On a terminal one status line
 * is redrawn in place; elsewhere (CI logs, pipes) a plain line is written every few seconds and
 * once at the end.
 */
import type { SyncPhase, SyncSummary } from "../model/contract";
import type { RangeEvent } from "../handlers/engine/syncRange";
import { formatBytes } from "../handlers/engine/reportPage";

/** What a run has done so far, as the progress line shows it. */
export interface ProgressCounts {
  phase: SyncPhase;
  /** Keys listed so far (the copy phase), and their bytes. */
  listed: number;
  listedBytes: number;
  /** Keys done with: copied, found unchanged, failed, ... */
  done: number;
  doneBytes: number;
  /** Copies started and not finished. */
  inFlight: number;
  /** Bytes copied (or, in a dry run, that would be). */
  transferredBytes: number;
  failed: number;
  /** Objects copied (or updated, or copied back), or in a dry run that would be. */
  copied: number;
  /** Delete phase: deletes made, of those planned. */
  deleted: number;
  plannedDeletes: number;
  /** Partitions planned (undefined until planned), and those whose listing is complete. */
  partitions?: number;
  partitionsListed: number;
  elapsedMs: number;
}

/** Adds up RangeEvents into ProgressCounts. Pure but for the clock. */
export class ProgressTally {
  private readonly counts: Omit<ProgressCounts, "elapsedMs">;
  private readonly started: number;
  /** Keys whose copy started: in flight until handled. */
  private readonly startedKeys = new Set<string>();

  constructor(private readonly clock: () => number = () => performance.now()) {
    this.started = clock();
    this.counts = {
      phase: "copy",
      listed: 0,
      listedBytes: 0,
      done: 0,
      doneBytes: 0,
      inFlight: 0,
      transferredBytes: 0,
      failed: 0,
      copied: 0,
      deleted: 0,
      plannedDeletes: 0,
      partitionsListed: 0,
    };
  }

  /** The plan is made: this many partitions will be listed. */
  planned(partitions: number): void {
    this.counts.partitions = partitions;
  }

  observe(event: RangeEvent): void {
    const c = this.counts;
    c.phase = event.phase;
    if (event.phase === "delete") {
      if (event.type === "handled" && event.action === "delete") {
        if (event.failed) c.failed++;
        else c.deleted++;
      }
      return;
    }
    switch (event.type) {
      case "listing-done":
        c.partitionsListed++;
        return;
      case "listed":
        c.listed += event.objects;
        c.listedBytes += event.bytes;
        return;
      case "started":
        c.inFlight++;
        this.startedKeys.add(event.key);
        return;
      case "handled":
        c.done++;
        c.doneBytes += event.size;
        if (event.failed) c.failed++;
        if (this.startedKeys.delete(event.key)) c.inFlight--;
        if (!event.failed && (event.action === "copy" || event.action === "update" || event.action === "copy-to-source")) {
          c.transferredBytes += event.size;
          c.copied++;
        }
    }
  }

  /** A summary tells the delete phase's plan. */
  summarized(summary: SyncSummary): void {
    if (summary.phase === "copy") this.counts.plannedDeletes = summary.plannedDeletes;
  }

  snapshot(): ProgressCounts {
    return { ...this.counts, elapsedMs: this.clock() - this.started };
  }

}

/** Bytes as people read them, the way the summary and the report page write them (`1.17 MiB`). */
export const humanBytes = formatBytes;

/** A duration as `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/** True once every planned partition's listing is complete: the totals are known. */
export function totalsKnown(c: ProgressCounts): boolean {
  return c.partitions !== undefined && c.partitionsListed >= c.partitions;
}

/**
 * One progress line, starting `progress:` (the `-v` lines start `copy:` and `delete:`, as aws s3
 * sync prints them). Until every listing is complete it says `listing…` and counts what was
 * found so far, never "N/N": `progress: listing… 1,200 objects found, 800 checked, copied 500
 * (1.17 MiB), 64 in flight, elapsed 2.0s`. Then the totals, rate and ETA: `progress: 1,200/2,000
 * objects checked, copied 500 (1.17 MiB, 850 KiB/s), 600 objects/s, ETA 1.3s, 64 in flight,
 * elapsed 2.0s`. The delete phase has its own line: `progress: deleted 1/3, elapsed 2.5s`.
 */
export function progressLine(c: ProgressCounts, dryRun = false): string {
  const seconds = c.elapsedMs / 1000;
  const n = (x: number) => x.toLocaleString("en-US");
  if (c.phase === "delete") {
    return `progress: deleted ${n(c.deleted)}/${n(c.plannedDeletes)}${c.failed > 0 ? `, ${n(c.failed)} failed` : ""}, elapsed ${humanDuration(c.elapsedMs)}`;
  }
  const copied = `${dryRun ? "would copy" : "copied"} ${n(c.copied)} (${humanBytes(c.transferredBytes)}`;
  const tail = [`${n(c.inFlight)} in flight`, ...(c.failed > 0 ? [`${n(c.failed)} failed`] : []), `elapsed ${humanDuration(c.elapsedMs)}`];
  if (!totalsKnown(c)) {
    return [`progress: listing… ${n(c.listed)} objects found`, `${n(c.done)} checked`, `${copied})`, ...tail].join(", ");
  }
  const objectRate = seconds > 0 ? c.done / seconds : 0;
  const byteRate = seconds > 0 ? c.transferredBytes / seconds : 0;
  const remaining = c.listed - c.done;
  const eta = remaining === 0 ? "-" : objectRate > 0 ? humanDuration((remaining / objectRate) * 1000) : "?";
  return [
    `progress: ${n(c.done)}/${n(c.listed)} objects checked`,
    `${copied}${dryRun ? "" : `, ${humanBytes(Math.round(byteRate))}/s`})`,
    `${n(Math.round(objectRate))} objects/s`,
    `ETA ${eta}`,
    ...tail,
  ].join(", ");
}

export interface Progress {
  observe(event: RangeEvent): void;
  /** The run planned this many partitions. */
  planned?(partitions: number): void;
  /** What was done so far (an interrupted or failed run's true counts). */
  counts?(): ProgressCounts;
  summarized(summary: SyncSummary): void;
  /** Runs `write` (a line on stdout, say) with the terminal's status line cleared, then redraws it. */
  interrupt(write: () => void): void;
  /** Writes the last line and stops redrawing. */
  stop(): void;
}

/** Seconds between plain lines when stderr is not a terminal. */
export const PLAIN_INTERVAL_MS = 2000;
/** Redraws of the terminal status line. */
const TTY_INTERVAL_MS = 100;

/** Progress on `stream`: a status line redrawn in place on a terminal, plain periodic lines otherwise. */
export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  options: { dryRun?: boolean; intervalMs?: number } = {},
): Progress {
  const tally = new ProgressTally();
  const tty = stream.isTTY === true;
  let lastLength = 0;
  const draw = () => {
    const counts = tally.snapshot();
    if (counts.listed === 0 && counts.phase === "copy" && !tty) return;
    const line = progressLine(counts, options.dryRun);
    if (tty) {
      // \r and spaces rather than escape codes: any terminal redraws it
      stream.write(`\r${line}${" ".repeat(Math.max(0, lastLength - line.length))}`);
      lastLength = line.length;
    } else {
      stream.write(`${line}\n`);
    }
  };
  const timer = setInterval(draw, options.intervalMs ?? (tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS));
  timer.unref();
  let stopped = false;
  return {
    observe: (event) => tally.observe(event),
    planned: (partitions) => tally.planned(partitions),
    counts: () => tally.snapshot(),
    summarized: (summary) => tally.summarized(summary),
    interrupt(write) {
      if (!tty || lastLength === 0) return write();
      stream.write(`\r${" ".repeat(lastLength)}\r`);
      lastLength = 0;
      write();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      if (tty && lastLength > 0) stream.write("\n");
    },
  };
}
