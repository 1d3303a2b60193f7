/**
 * "Check outcome" fails closed: the built definition's own Choice state and its targets, run by the
 * ASL interpreter on summaries of every shape. Only a summary whose failure count is present,
 * numeric and 0 reaches Sync succeeded.
 */
import { strict as assert } from "node:assert";
import { StateMachine } from "aws-local-stepfunctions";
import { HANDLER_NAMES } from "../../model/contract";
import { buildDefinition, STATE_NAMES as S } from "../../infra/definition";

const definition = buildDefinition({
  functionArns: Object.fromEntries(
    HANDLER_NAMES.map((name) => [name, `arn:aws:lambda:eu-west-1:123456789012:function:${name}`]),
  ) as Record<(typeof HANDLER_NAMES)[number], string>,
  notificationTopicArn: "arn:aws:sns:eu-west-1:123456789012:t",
});

/** The outcome check and the states it can end in, as a machine of its own. */
const OUTCOME_STATES = [S.checkOutcome, S.syncSucceeded, S.copiesFailed, S.objectsFailed, S.unexpectedSummary];
const outcomeMachine = {
  StartAt: S.checkOutcome,
  States: Object.fromEntries(OUTCOME_STATES.map((name) => [name, definition.States[name]])),
};

/** Runs the outcome check on `input`: "succeeded", or the error it failed with. */
async function outcomeOf(input: unknown): Promise<string> {
  const machine = new StateMachine(structuredClone(outcomeMachine) as never);
  try {
    await machine.run(input as never).result;
    return "succeeded";
  } catch (err) {
    // The interpreter wraps the Fail state's error; its `cause` carries the Error name.
    const cause = (err as { cause?: { name?: string } }).cause;
    assert.ok(cause?.name, `not a Fail state's error: ${String(err)}`);
    return cause.name;
  }
}

describe("Check outcome", () => {
  it("ends every path in a Succeed or a Fail state of the built definition", () => {
    for (const name of OUTCOME_STATES.slice(1)) assert.match(definition.States[name].Type, /^(Succeed|Fail)$/);
  });

  it("succeeds on a summary with 0 failed objects", async () => {
    assert.equal(await outcomeOf({ summary: { phase: "copy", deleteDecision: "none", stats: { failed: 0 } } }), "succeeded");
    assert.equal(await outcomeOf({ summary: { phase: "delete", stats: { failed: 0 } } }), "succeeded");
  });

  it("fails a run whose copies failed, or whose objects failed", async () => {
    assert.equal(
      await outcomeOf({ summary: { phase: "copy", deleteDecision: "blocked-by-failures", stats: { failed: 2 } } }),
      "BucketSync.CopiesFailed",
    );
    assert.equal(await outcomeOf({ summary: { phase: "delete", stats: { failed: 1 } } }), "BucketSync.ObjectsFailed");
  });

  for (const [shape, input] of [
    ["no summary", {}],
    ["a summary without stats", { summary: { phase: "copy" } }],
    ["a failure count that is a string", { summary: { phase: "copy", stats: { failed: "0" } } }],
    ["a failure count that is null", { summary: { phase: "copy", stats: { failed: null } } }],
    ["a failure count under another name", { summary: { phase: "copy", stats: { errors: 3 } } }],
  ] as const) {
    it(`fails, never succeeds, on ${shape}`, async () => {
      const outcome = await outcomeOf(input);
      assert.notEqual(outcome, "succeeded");
      assert.equal(outcome, "BucketSync.UnexpectedSummary");
    });
  }
});
