import * as assert from "node:assert/strict";
import { schedulingOrder, simulateMakespan } from "../../handlers/engine/schedule";

describe("simulateMakespan", () => {
  it("runs ranges one after another with one worker: the sum of their work", () => {
    assert.deepEqual(simulateMakespan([3, 1, 2], 1), { makespan: 6, ideal: 6, ratio: 1 });
  });

  it("starts the next range on the worker that frees first", () => {
    // workers: [4] [1 -> 2 -> 1] : the second worker takes the queue while the first is busy
    const result = simulateMakespan([4, 1, 2, 1], 2);
    assert.equal(result.makespan, 4);
    assert.equal(result.ideal, 4);
    assert.equal(result.ratio, 1);
  });

  it("shows a heavy range handed out last serializing the run", () => {
    const works = [1, 1, 1, 1, 4];
    assert.equal(simulateMakespan(works, 2).makespan, 6);
    // the same ranges, largest first
    const ordered = schedulingOrder(works).map((i) => works[i]);
    assert.equal(simulateMakespan(ordered, 2).makespan, 4);
  });

  it("never beats the even split nor the largest range", () => {
    const works = Array.from({ length: 200 }, (_, i) => 1 + ((i * 7919) % 13));
    for (const concurrency of [1, 3, 16, 64, 500]) {
      const { makespan, ideal } = simulateMakespan(works, concurrency);
      assert.ok(makespan >= ideal - 1e-9 && makespan >= Math.max(...works));
    }
  });

  it("treats more workers than ranges as one range per worker", () => {
    assert.equal(simulateMakespan([5, 2], 8).makespan, 5);
  });

  it("gives a ratio of 1 for no work", () => {
    assert.deepEqual(simulateMakespan([], 4), { makespan: 0, ideal: 0, ratio: 1 });
  });

  it("refuses a concurrency that is not a positive whole number, and negative work", () => {
    assert.throws(() => simulateMakespan([1], 0), /concurrency must be a positive whole number, got 0/);
    assert.throws(() => simulateMakespan([1], 1.5), /concurrency/);
    assert.throws(() => simulateMakespan([-1], 1), /work must be a number of at least 0, got -1/);
  });
});

describe("schedulingOrder", () => {
  it("orders ranges largest first, ties in key order", () => {
    assert.deepEqual(schedulingOrder([2, 5, 2, 9]), [3, 1, 0, 2]);
  });
});
