import { strict as assert } from "node:assert";
import { budgetLimit, isFullRun, nextLedger, spentWithin, type DeleteLedger } from "../../handlers/engine/deleteBudget";
import { validateRequest } from "../../handlers/engine/validation";

const NOW = new Date("2026-12-06T12:00:00Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000).toISOString();
const LEDGER: DeleteLedger = {
  spends: [
    { at: hoursAgo(25), run: "old", deletes: 50 },
    { at: hoursAgo(23), run: "a", deletes: 3 },
    { at: hoursAgo(1), run: "b", deletes: 4 },
  ],
  fullRuns: [{ at: hoursAgo(30), run: "f1", sourceObjects: 1000, destinationObjects: 900 }],
};

describe("the delete budget", () => {
  it("counts only the spends of the last 24 hours", () => {
    assert.equal(spentWithin(LEDGER, NOW), 7);
    assert.equal(spentWithin(LEDGER, new Date(NOW.getTime() + 2 * 3600_000)), 4, "a spend leaves the window 24 h after it");
  });

  it("takes a share of the destination as the latest full run listed it, and allows nothing before one", () => {
    assert.equal(budgetLimit({ percent: 10 }, LEDGER), 90);
    assert.equal(budgetLimit({ count: 25 }, LEDGER), 25);
    assert.equal(budgetLimit({ percent: 10 }, { spends: [], fullRuns: [] }), 0);
  });

  it("drops spends outside the window and keeps the two latest full runs when it writes", () => {
    const next = nextLedger(LEDGER, NOW, {
      spend: { at: NOW.toISOString(), run: "c", deletes: 1 },
      fullRun: { at: NOW.toISOString(), run: "f2", sourceObjects: 1, destinationObjects: 2 },
    });
    assert.deepEqual(next.spends.map((s) => s.run), ["a", "b", "c"]);
    const again = nextLedger(next, NOW, { fullRun: { at: NOW.toISOString(), run: "f3", sourceObjects: 1, destinationObjects: 2 } });
    assert.deepEqual(again.fullRuns.map((f) => f.run), ["f2", "f3"]);
  });

  it("tells a full run from a narrowed or key-scoped one", () => {
    const config = { bucket: "r", key: "k", perDay: "10%", sourcePrefix: "dev/" };
    const job = (extra: object) => validateRequest({ source: { bucket: "acme-dev", prefix: "dev/" }, destination: { bucket: "acme-prod" }, ...extra });
    assert.equal(isFullRun(job({}), config), true);
    assert.equal(isFullRun(job({ keys: ["a"] }), config), false);
    assert.equal(isFullRun(job({ startAfter: "m" }), config), false);
    assert.equal(isFullRun(job({ source: { bucket: "acme-dev", prefix: "dev/sub/" } }), config), false);
  });
});
