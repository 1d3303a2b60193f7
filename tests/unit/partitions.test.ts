import * as assert from "node:assert/strict";
import { GeneratedListing, keyLayouts } from "../../bench/lib/keyLayouts";
import { inRange } from "../../handlers/engine/keys";
import { listCallBudget, planRanges, partitionsFromBoundaries, WORK_BYTES_PER_KEY } from "../../handlers/engine/partitions";
import type { Partition } from "../../model/contract";

/** Keys of `listing` per partition, checking that the partitions are contiguous and ordered. */
function countsPerPartition(listing: GeneratedListing, partitions: Partition[], startAfter?: string): number[] {
  assert.equal(partitions[0].startAfter, startAfter);
  assert.equal(partitions[partitions.length - 1].endBefore, undefined);
  partitions.forEach((p, i) => assert.equal(p.id, i));
  for (let i = 1; i < partitions.length; i++) {
    // partition i starts right after the last key partition i-1 may hold: no gap, no overlap
    assert.equal(`${partitions[i].startAfter}\u0000`, partitions[i - 1].endBefore);
  }
  return partitions.map((p) => listing.countBetween(p.startAfter, p.endBefore));
}

describe("planRanges", function () {
  this.timeout(120_000);
  // Enough keys that the budget cannot list them all: the planner must sample.
  const KEYS = 1_000_000;
  const PARTITIONS = 16;
  const MIN_KEYS = 1000;

  for (const layout of keyLayouts(KEYS)) {
    it(`balances ${layout.description} (${KEYS.toLocaleString("en")} keys, ${PARTITIONS} partitions) within 1.5x the even share, listing a fraction of the bucket`, async () => {
      const source = layout.source.lister();
      const destination = layout.destination.lister();
      const plan = await planRanges(source, destination, { partitions: PARTITIONS, minKeysPerPartition: MIN_KEYS });
      assert.equal(plan.partitions.length, PARTITIONS);
      const union = layout.union;
      const counts = countsPerPartition(union, plan.partitions);
      // every key of source and destination in exactly one partition
      assert.equal(counts.reduce((a, b) => a + b, 0), union.count);
      const works = plan.partitions.map((p, i) => counts[i] + union.bytesBetween(p.startAfter, p.endBefore) / WORK_BYTES_PER_KEY);
      const totalWork = works.reduce((a, b) => a + b, 0);
      const largest = Math.max(...works) / Math.max(totalWork / PARTITIONS, (MIN_KEYS * totalWork) / union.count);
      assert.ok(largest <= 1.5, `largest partition holds ${largest.toFixed(2)}x the even share of work: ${counts.join(", ")}`);
      // cost grows with the partitions asked, not the keys: at most the budget, a fraction of all pages
      assert.ok(source.calls <= listCallBudget(PARTITIONS) && destination.calls <= listCallBudget(PARTITIONS));
      assert.ok(source.calls + destination.calls < (layout.source.count + layout.destination.count) / 1000 / 2);
    });
  }

  it("balances by keys where objects are alike in size", async () => {
    const layout = keyLayouts(KEYS).find((l) => l.name === "tiny-prefixes")!;
    const plan = await planRanges(layout.source.lister(), layout.destination.lister(), { partitions: PARTITIONS, minKeysPerPartition: MIN_KEYS });
    const counts = countsPerPartition(layout.union, plan.partitions);
    assert.ok(Math.max(...counts) <= 1.5 * (KEYS / PARTITIONS), counts.join(", "));
  });

  it("lists a small bucket whole and gives it fewer partitions than asked, of at least the minimum size", async () => {
    const listing = new GeneratedListing([{ count: 4_500, key: (i) => `photos/${String(i).padStart(6, "0")}.jpg`, size: 10 }]);
    const source = listing.lister();
    const plan = await planRanges(source, listing.lister(), { partitions: 16, minKeysPerPartition: 1000 });
    const counts = countsPerPartition(listing, plan.partitions);
    assert.equal(plan.partitions.length, 4);
    // boundaries fall on the keys a page keeps as anchors (every 31st): within a few percent
    for (const count of counts) assert.ok(Math.abs(count - 1125) <= 40, counts.join(", "));
    assert.equal(plan.estimatedKeys, 4_500);
    // five pages, and one-key probes for the end of the key space
    assert.ok(source.calls <= 5 + 22, `${source.calls} calls`);
  });

  it("plans a bucket of a few pages from its listing alone: exactly one call per page, no probes", async () => {
    // 3,500 keys in the source (4 pages), 1,200 in the destination (2 pages)
    const source = new GeneratedListing([{ count: 3_500, key: (i) => `a/${String(i).padStart(6, "0")}`, size: 10 }]);
    const destination = new GeneratedListing([{ count: 1_200, key: (i) => `a/${String(i * 3).padStart(6, "0")}`, size: 10 }]);
    const sourceLister = source.lister();
    const destinationLister = destination.lister();
    const plan = await planRanges(sourceLister, destinationLister, { partitions: 4, minKeysPerPartition: 100 });
    assert.deepEqual(plan.listCalls, { source: 4, destination: 2 });
    assert.equal(sourceLister.calls, 4);
    assert.equal(destinationLister.calls, 2);
    // the union: the destination's keys above a/003499 are work too
    const union = new GeneratedListing([{ count: 3_533, key: (i) => `a/${String(i < 3_500 ? i : (i - 3_500 + 1_167) * 3).padStart(6, "0")}`, size: 10 }]);
    assert.equal(plan.estimatedKeys, 3_533);
    const counts = countsPerPartition(union, plan.partitions);
    assert.equal(counts.reduce((a, b) => a + b, 0), 3_533);
    for (const count of counts) assert.ok(Math.abs(count - 883) <= 40, counts.join(", "));
  });

  it("lists a bucket the budget covers whole, spending about what a listing does", async () => {
    // 60 pages per side, more than the head: listed through in parallel runs, not sampled
    const listing = new GeneratedListing([{ count: 60_000, key: (i) => `logs/${String(i * 7).padStart(8, "0")}.gz`, size: 10 }]);
    const source = listing.lister();
    const destination = listing.lister();
    const plan = await planRanges(source, destination, { partitions: 16, minKeysPerPartition: 1000 });
    // exact: every key counted, every partition within an anchor's spacing of the even share
    assert.equal(plan.estimatedKeys, 60_000);
    const counts = countsPerPartition(listing, plan.partitions);
    for (const count of counts) assert.ok(Math.abs(count - 3750) <= 40, counts.join(", "));
    // 60 pages, the one-key calls that find the end of the key space, and a call per split run
    for (const lister of [source, destination]) assert.ok(lister.calls <= 60 + 22 + 16, `${lister.calls} calls`);
  });

  it("sends each round's probes at once", async () => {
    const listing = keyLayouts(1_000_000).find((l) => l.name === "flat-hashed")!.union;
    const generated = listing.lister();
    let inFlight = 0;
    let most = 0;
    // every call waits until the next macrotask: calls sent together are in flight together
    const lister = {
      async list(startAfter: string | undefined, maxKeys: number) {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((resolve) => setImmediate(resolve));
        inFlight--;
        return generated.list(startAfter, maxKeys);
      },
    };
    await planRanges(lister, listing.lister(), { partitions: 64, minKeysPerPartition: 1000 });
    assert.ok(most >= 16, `at most ${most} calls were in flight at once`);
  });

  it("plans only keys after startAfter", async () => {
    const listing = new GeneratedListing([{ count: 10_000, key: (i) => `k${String(i).padStart(6, "0")}`, size: 1 }]);
    const startAfter = "k004999";
    const plan = await planRanges(listing.lister(), listing.lister(), { partitions: 5, minKeysPerPartition: 100, startAfter });
    const counts = countsPerPartition(listing, plan.partitions, startAfter);
    assert.equal(counts.reduce((a, b) => a + b, 0), 5_000);
    for (const count of counts) assert.ok(Math.abs(count - 1000) <= 40, counts.join(", "));
  });

  it("gives one partition for an empty bucket", async () => {
    const empty = new GeneratedListing([]);
    const plan = await planRanges(empty.lister(), empty.lister(), { partitions: 8, minKeysPerPartition: 1 });
    assert.deepEqual(plan.partitions, [{ id: 0, startAfter: undefined }]);
  });
});

describe("partitionsFromBoundaries", () => {
  it("covers the whole key space without gaps or overlaps", () => {
    const partitions = partitionsFromBoundaries(["a/x", "c/", "top"]);
    const keys = ["0", "a/", "a/x", "a/y", "b/1", "bz", "c/", "c/y", "d/z", "top", "zz", "😀"];
    for (const key of keys) {
      const owners = partitions.filter((p) => inRange(key, p.startAfter, p.endBefore));
      assert.equal(owners.length, 1, `key ${key} is in ${owners.length} partitions`);
    }
  });
});
