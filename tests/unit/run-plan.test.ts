import * as assert from "node:assert/strict";
import { ERROR_NAMES, isEngineError } from "../../handlers/engine/errors";
import { parsePlan, planPath } from "../../handlers/engine/runRecords";

describe("run plan", () => {
  const location = { bucket: "reports", key: "reports/run-1/plan.json", partitions: 2 };

  it("is kept beside the run's records", () => {
    assert.equal(planPath("run-1"), "run-1/plan.json");
    assert.throws(() => planPath("../x"), /run must be an execution name/);
  });

  it("reads the partitions of a well-formed plan, in its order", () => {
    assert.deepEqual(parsePlan(JSON.stringify([{ id: 1, startAfter: "m" }, { id: 0, endBefore: "m\u0000" }]), location), [
      { id: 1, startAfter: "m" },
      { id: 0, endBefore: "m\u0000" },
    ]);
  });

  const broken: Array<[string, string, RegExp]> = [
    ["text that is not JSON", "[{", /is not JSON/],
    ["an empty array", "[]", /must be a non-empty JSON array/],
    ["an object", JSON.stringify({ partitions: [] }), /must be a non-empty JSON array/],
    ["a partition without an id", JSON.stringify([{ id: 0 }, { startAfter: "a" }]), /without a distinct whole-number id/],
    ["a repeated id", JSON.stringify([{ id: 0 }, { id: 0 }]), /without a distinct whole-number id/],
    ["fewer partitions than planned", JSON.stringify([{ id: 0 }]), /holds 1 partitions, its run planned 2/],
  ];
  for (const [what, text, message] of broken) {
    it(`refuses ${what} with PlanInvalid, naming the object`, () => {
      assert.throws(() => parsePlan(text, location), (err: Error) => {
        assert.ok(isEngineError(err, ERROR_NAMES.planInvalid));
        assert.match(err.message, /s3:\/\/reports\/reports\/run-1\/plan\.json/);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
