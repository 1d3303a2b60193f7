/**
 * Live progress on stderr, as rclone's `--progress` shows it: objects and bytes done of those
 * listed so far, the rate, an ETA, the copies in flight and the time elapsed. Fed key by key from
 * inside the ranges (the engine's RangeEvents), not per partition. On a terminal one status line
 * is redrawn in place; elsewhere (CI logs, pipes) a plain line is written every few seconds and
 * once at the end.
 */
import type { SyncPhase, SyncSummary } from "../model/contract";
import type { RangeEvent } from "../handlers/engine/syncRange";

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
  /** Delete phase: deletes made, of those planned. */
  deleted: number;
  plannedDeletes: number;
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
      deleted: 0,
      plannedDeletes: 0,
    };
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

/** Bytes as people read them: binary units, three significant digits (`1.17 MiB`). */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toPrecision(3)} ${units[unit]}`;
}

/** A duration as `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * One progress line: `copy: 1,200/2,000 objects, 1.17 MiB/1.95 MiB listed so far, 850 KiB/s copied
 * (1.17 MiB), 600 objects/s, ETA 1.3s, 64 in flight, elapsed 2.0s`.
 */
export function progressLine(c: ProgressCounts, dryRun = false): string {
  const seconds = c.elapsedMs / 1000;
  if (c.phase === "delete") {
    return `delete: ${c.deleted.toLocaleString("en-US")}/${c.plannedDeletes.toLocaleString("en-US")} deleted${c.failed > 0 ? `, ${c.failed} failed` : ""}, elapsed ${humanDuration(c.elapsedMs)}`;
  }
  const objectRate = seconds > 0 ? c.done / seconds : 0;
  const byteRate = seconds > 0 ? c.transferredBytes / seconds : 0;
  const remaining = c.listed - c.done;
  const eta = remaining === 0 ? "-" : objectRate > 0 ? humanDuration((remaining / objectRate) * 1000) : "?";
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    `copy: ${n(c.done)}/${n(c.listed)} objects, ${humanBytes(c.doneBytes)}/${humanBytes(c.listedBytes)} listed so far`,
    dryRun ? `would copy ${humanBytes(c.transferredBytes)}` : `${humanBytes(Math.round(byteRate))}/s copied (${humanBytes(c.transferredBytes)})`,
    `${n(Math.round(objectRate))} objects/s`,
    `ETA ${eta}`,
    `${n(c.inFlight)} in flight`,
    ...(c.failed > 0 ? [`${n(c.failed)} failed`] : []),
    `elapsed ${humanDuration(c.elapsedMs)}`,
  ].join(", ");
}

export interface Progress {
  observe(event: RangeEvent): void;
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
    if (counts.listed === 0 && counts.phase === "copy") return;
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
