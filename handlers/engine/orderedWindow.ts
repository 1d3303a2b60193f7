/**
 * Runs keyed tasks with bounded concurrency and tracks the resume cursor: the last key such that
 * it and every key before it have finished. Tasks finish out of order; the cursor never passes
 * a key whose task is still running, so a resumed run never skips one.
 */
export class OrderedWindow {
  private readonly queue: Array<{ key: string; done: boolean }> = [];
  private active = 0;
  private wakeUp: (() => void) | undefined;
  private firstError: unknown;
  /** Last key fully handled, in submission order. */
  cursor: string | undefined;

  constructor(private readonly concurrency: number) {}

  /** Marks a key handled without work (unchanged objects). */
  skip(key: string): void {
    if (this.queue.length === 0) this.cursor = key;
    else this.queue.push({ key, done: true });
  }

  /** Starts `task` for `key` once a slot is free. A task must not throw: catch inside it. */
  async submit(key: string, task: () => Promise<void>): Promise<void> {
    while (this.active >= this.concurrency) await new Promise<void>((resolve) => (this.wakeUp = resolve));
    const entry = { key, done: false };
    this.queue.push(entry);
    this.active++;
    task()
      .catch((err) => (this.firstError ??= err))
      .finally(() => {
        entry.done = true;
        this.active--;
        while (this.queue.length > 0 && this.queue[0].done) this.cursor = this.queue.shift()?.key;
        const wake = this.wakeUp;
        this.wakeUp = undefined;
        wake?.();
      });
  }

  /** Waits for every started task; rethrows the first unexpected error. */
  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((resolve) => (this.wakeUp = resolve));
    if (this.firstError !== undefined) throw this.firstError;
  }
}
