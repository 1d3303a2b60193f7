/**
 * Runs keyed tasks with bounded concurrency and tracks the resume cursor: the last key such that
 * it and every key before it have finished. Tasks finish out of order; the cursor never passes
 * a key whose task is still running, or whose task stopped unfinished (at a deadline), so a
 * resumed run never skips one.
 */

/** What a task returns when it stopped before its work was done: its key stays unhandled. */
export const UNFINISHED = "unfinished";

export class OrderedWindow {
  private readonly queue: Array<{ key: string; done: boolean }> = [];
  private active = 0;
  private wakeUp: (() => void) | undefined;
  private firstError: unknown;
  /** Last key fully handled, in submission order. */
  cursor: string | undefined;
  /** Tasks that stopped unfinished: the range is not done while there are any. */
  unfinished = 0;

  constructor(private readonly concurrency: number) {}

  /** Marks a key handled without work (unchanged objects). */
  skip(key: string): void {
    if (this.queue.length === 0) this.cursor = key;
    else this.queue.push({ key, done: true });
  }

  /**
   * Starts `task` for `key` once a slot is free. A task must not throw: catch inside it. A task
   * that returns UNFINISHED leaves its key unhandled: the cursor stops before it for good.
   */
  async submit(key: string, task: () => Promise<void | typeof UNFINISHED>): Promise<void> {
    await this.ready();
    const entry = { key, done: false };
    this.queue.push(entry);
    this.active++;
    task()
      .then(
        (outcome) => {
          if (outcome === UNFINISHED) this.unfinished++;
          else entry.done = true;
        },
        (err) => {
          this.firstError ??= err;
          entry.done = true;
        },
      )
      .finally(() => {
        this.active--;
        while (this.queue.length > 0 && this.queue[0].done) this.cursor = this.queue.shift()?.key;
        const wake = this.wakeUp;
        this.wakeUp = undefined;
        wake?.();
      });
  }

  /** Keys finished beyond the cursor: behind a key that is unfinished or still running. */
  doneAhead(): string[] {
    return this.queue.filter((entry) => entry.done).map((entry) => entry.key);
  }

  /** Resolves once a task can start without waiting. */
  async ready(): Promise<void> {
    while (this.active >= this.concurrency) await new Promise<void>((resolve) => (this.wakeUp = resolve));
  }

  /** Waits for every started task; rethrows the first unexpected error. */
  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((resolve) => (this.wakeUp = resolve));
    if (this.firstError !== undefined) throw this.firstError;
  }
}
