/**
 * Scheduling the planned ranges: balance comes from running many more ranges than run at once.
 *
 * A Distributed Map starts its items in order, `MaxConcurrency` at a time, and starts the next
 * item as soon as one finishes. A plan of several times more ranges than that (4-8x) lets the
 * Map's own queue even out what the planner's estimate misses: a range that turns out twice its
 * share delays one worker by a fraction of its run, not the whole run. The planner orders the
 * plan largest estimated range first (longest-processing-time-first), so a heavy range starts
 * early and the small ones fill in behind it.
 *
 * `simulateMakespan` is that queue as a pure function: with given work per range, in the order
 * the Map receives them, when does the last range finish, against the even split of the total
 * work over the workers. The benchmark (bench/partitions.ts) measures plans with it.
 */

/** When the last range of a run finishes, against the even split of its work. */
export interface Makespan {
  /** Finish time of the last range, in units of work. */
  makespan: number;
  /** Total work over the workers: the finish time of a perfect split. */
  ideal: number;
  /** makespan / ideal (1 for no work). */
  ratio: number;
}

/**
 * Simulates a queue of ranges run `concurrency` at a time, in the given order, each started as
 * soon as a worker is free (what a Distributed Map with that MaxConcurrency does).
 * @throws when concurrency is not a positive whole number or a work is negative
 */
export function simulateMakespan(works: readonly number[], concurrency: number): Makespan {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive whole number, got ${concurrency}`);
  const total = works.reduce((sum, work) => {
    if (!(work >= 0)) throw new Error(`work must be a number of at least 0, got ${work}`);
    return sum + work;
  }, 0);
  // finish time of each busy worker, as a binary min-heap
  const heap: number[] = [];
  let makespan = 0;
  for (const work of works) {
    const start = heap.length < concurrency ? 0 : popMin(heap);
    const finish = start + work;
    push(heap, finish);
    makespan = Math.max(makespan, finish);
  }
  const ideal = total / concurrency;
  return { makespan, ideal, ratio: ideal > 0 ? makespan / ideal : 1 };
}

/**
 * The order a plan's ranges are handed to the Map: largest estimated work first (ties in key
 * order). Returns indices into `estimatedWork`.
 */
export function schedulingOrder(estimatedWork: readonly number[]): number[] {
  return estimatedWork.map((_, i) => i).sort((a, b) => estimatedWork[b] - estimatedWork[a] || a - b);
}

function push(heap: number[], value: number): void {
  heap.push(value);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= heap[i]) break;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
}

function popMin(heap: number[]): number {
  const min = heap[0];
  const last = heap.pop() as number;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left] < heap[smallest]) smallest = left;
      if (right < heap.length && heap[right] < heap[smallest]) smallest = right;
      if (smallest === i) break;
      [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
      i = smallest;
    }
  }
  return min;
}
