/** The progress line's arithmetic and wording, with a fixed clock. */
import { strict as assert } from "node:assert";
import { humanBytes, humanDuration, progressLine, ProgressTally } from "../../cli/progress";
import { formatBytes } from "../../handlers/engine/reportPage";

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
    assert.equal(progressLine(counts), "progress: listing… 4 objects found, 2 checked, copied 1 (1 KiB), 1 in flight, elapsed 1.0s");
    tally.planned(1);
    tally.observe({ type: "listing-done", phase: "copy" });
    assert.equal(
      progressLine(tally.snapshot()),
      "progress: 2/4 objects checked, copied 1 (1 KiB, 1 KiB/s), 2 objects/s, ETA 1.0s, 1 in flight, elapsed 1.0s",
    );
  });

  it("counts a failed copy as done but not transferred, and deletes against the plan", () => {
    let now = 0;
    const tally = new ProgressTally(() => now);
    tally.observe({ type: "listed", phase: "copy", objects: 1, bytes: 10 });
    tally.observe({ type: "started", phase: "copy", key: "a", size: 10 });
    tally.observe({ type: "handled", phase: "copy", key: "a", action: "copy", size: 10, failed: true });
    assert.match(progressLine(tally.snapshot()), /^progress: listing… 1 objects found, 1 checked, copied 0 \(0 B\), 0 in flight, 1 failed/);
    tally.summarized({ phase: "copy", plannedDeletes: 3 } as Parameters<ProgressTally["summarized"]>[0]);
    tally.observe({ type: "handled", phase: "delete", key: "x", action: "delete", size: 0 });
    now = 2500;
    assert.equal(progressLine(tally.snapshot()), "progress: deleted 1/3, 1 failed, elapsed 2.5s");
  });

  it("writes bytes as the summary and the report page do, and durations as people read them", () => {
    assert.equal(humanBytes, formatBytes);
    assert.deepEqual([humanBytes(0), humanBytes(1023), humanBytes(1536), humanBytes(5 * 1024 ** 3)], ["0 B", "1,023 B", "1.5 KiB", "5 GiB"]);
    assert.deepEqual([humanDuration(850), humanDuration(12_340), humanDuration(245_000), humanDuration(7_380_000)], ["850ms", "12.3s", "4m05s", "2h03m"]);
  });
});
