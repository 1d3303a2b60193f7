/** The progress line's arithmetic and wording, with a fixed clock. */
import { strict as assert } from "node:assert";
import { humanBytes, humanDuration, progressLine, ProgressTally } from "../../cli/progress";

describe("sync progress arithmetic", () => {
  it("counts objects and bytes done of those listed, copies in flight, rate and ETA", () => {
    let now = 0;
    const tally = new ProgressTally(() => now);
    tally.observe({ type: "listed", phase: "copy", objects: 4, bytes: 4096 });
    tally.observe({ type: "handled", phase: "copy", key: "a", action: "unchanged", size: 1024 });
    tally.observe({ type: "started", phase: "copy", key: "b", size: 1024 });
    tally.observe({ type: "started", phase: "copy", key: "c", size: 1024 });
    now = 1000;
    tally.observe({ type: "handled", phase: "copy", key: "b", action: "copy", size: 1024 });
    const counts = tally.snapshot();
    assert.deepEqual(
      [counts.listed, counts.listedBytes, counts.done, counts.doneBytes, counts.inFlight, counts.transferredBytes],
      [4, 4096, 2, 2048, 1, 1024],
    );
    assert.equal(
      progressLine(counts),
      "copy: 2/4 objects, 2.00 KiB/4.00 KiB listed so far, 1.00 KiB/s copied (1.00 KiB), 2 objects/s, ETA 1.0s, 1 in flight, elapsed 1.0s",
    );
  });

  it("counts a failed copy as done but not transferred, and deletes against the plan", () => {
    let now = 0;
    const tally = new ProgressTally(() => now);
    tally.observe({ type: "listed", phase: "copy", objects: 1, bytes: 10 });
    tally.observe({ type: "started", phase: "copy", key: "a", size: 10 });
    tally.observe({ type: "handled", phase: "copy", key: "a", action: "copy", size: 10, failed: true });
    assert.match(progressLine(tally.snapshot()), /1\/1 objects, .* \(0 B\), .*, 0 in flight, 1 failed/);
    tally.summarized({ phase: "copy", plannedDeletes: 3 } as Parameters<ProgressTally["summarized"]>[0]);
    tally.observe({ type: "handled", phase: "delete", key: "x", action: "delete", size: 0 });
    now = 2500;
    assert.equal(progressLine(tally.snapshot()), "delete: 1/3 deleted, 1 failed, elapsed 2.5s");
  });

  it("writes bytes and durations as people read them", () => {
    assert.deepEqual([humanBytes(0), humanBytes(1023), humanBytes(1536), humanBytes(5 * 1024 ** 3)], ["0 B", "1023 B", "1.50 KiB", "5.00 GiB"]);
    assert.deepEqual([humanDuration(850), humanDuration(12_340), humanDuration(245_000), humanDuration(7_380_000)], ["850ms", "12.3s", "4m05s", "2h03m"]);
  });
});
