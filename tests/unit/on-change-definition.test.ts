import * as assert from "node:assert/strict";
import { allStates, nextStates, type State } from "../../infra/asl";
import { buildOnChangeDefinition, ON_CHANGE_STATE_NAMES as S } from "../../infra/onChangeDefinition";

/** asl-validator 4 ships no type declarations; this is the part of its API used here. */
const aslValidator: (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string } = require("asl-validator");

const ARGS = {
  syncMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod",
  request: { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" }, mode: "mirror" as const, maxDeletes: "10%", keys: ["stale"] },
  maxDeletes: 100,
  runSlotsTableName: "acme-prod-on-change-run-slots",
  maxConcurrentRuns: 2,
  deadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/acme-prod-on-change-dlq",
  notificationTopicArn: "arn:aws:sns:eu-west-1:123456789012:acme-prod-notifications",
};

describe("buildOnChangeDefinition", () => {
  const definition = buildOnChangeDefinition(ARGS);

  it("is valid ASL for asl-validator, ARNs and paths included", () => {
    const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
    assert.ok(result.isValid, result.errorsText("\n"));
  });

  it("gives back the run slot on every way out after taking it", () => {
    const states = definition.States as Record<string, State>;
    assert.deepEqual([...new Set(nextStates(states[S.syncBatch]))].sort(), [S.giveBackRunSlot, S.giveBackRunSlotAfterFailure].sort());
    assert.deepEqual([...new Set(nextStates(states[S.giveBackRunSlotAfterFailure]))], [S.returnBatch]);
    assert.deepEqual([...new Set(nextStates(states[S.takeRunSlot]))].sort(), [S.returnBatch, S.syncBatch].sort(), "a batch that never got a slot gives none back");
  });

  it("waits for a slot by retrying the conditional update, and takes one only below the limit", () => {
    const take = definition.States[S.takeRunSlot] as unknown as { Parameters: Record<string, any>; Retry: Array<{ ErrorEquals: string[]; MaxAttempts: number; MaxDelaySeconds: number }> };
    assert.equal(take.Parameters.ConditionExpression, "attribute_not_exists(#runs) OR #runs < :max");
    assert.deepEqual(take.Parameters.ExpressionAttributeValues[":max"], { N: "2" });
    const wait = take.Retry.find((r) => r.ErrorEquals.includes("DynamoDB.ConditionalCheckFailedException"));
    assert.ok(wait && wait.MaxAttempts >= 1000 && wait.MaxDelaySeconds <= 60);
  });

  it("builds the run's input before taking a slot: the batch, a count as delete limit, no success message, none of the stack request's keys", () => {
    const hold = definition.States[S.holdBatch] as unknown as { Parameters: { request: Record<string, unknown>; headroom: string } };
    const request = hold.Parameters.request;
    assert.deepEqual(
      { changes: request["changes.$"], maxDeletes: request.maxDeletes, notifyOnSuccess: request.notifyOnSuccess, keys: request.keys },
      { changes: "$", maxDeletes: 100, notifyOnSuccess: false, keys: undefined },
    );
    const sync = definition.States[S.syncBatch] as unknown as { Resource: string; Parameters: Record<string, unknown> };
    assert.equal(sync.Resource, "arn:aws:states:::states:startExecution.sync:2");
    assert.equal(sync.Parameters["Input.$"], "$.request");
    // What Sync batch adds around the request fits in the headroom Hold batch keeps.
    assert.ok(JSON.stringify({ StateMachineArn: ARGS.syncMachineArn, Input: {} }).length < hold.Parameters.headroom.length + '"headroom":""'.length);
  });

  it("keeps no error in the state after taking a slot, so no state grows past the batch's own size", () => {
    for (const { name, state } of allStates(definition)) {
      for (const c of (state as { Catch?: Array<{ ResultPath?: string | null }> }).Catch ?? []) {
        if (name !== S.notifyBatchFailure) assert.equal(c.ResultPath, null, `${name}: Catch keeps its error`);
      }
      if (state.Type === "Task" && name !== S.notifyBatchFailure) assert.equal((state as { ResultPath?: unknown }).ResultPath, null, `${name}: ResultPath`);
    }
  });

  it("ends every path in Batch synced or Batch failed", () => {
    const terminal = allStates(definition).filter(({ state }) => state.Type === "Succeed" || state.Type === "Fail").map(({ name }) => name);
    assert.deepEqual(terminal.sort(), [S.batchFailed, S.batchSynced].sort());
  });

  it("refuses a limit that is not a positive whole number", () => {
    assert.throws(() => buildOnChangeDefinition({ ...ARGS, maxConcurrentRuns: 0 }), /maxConcurrentRuns/);
    assert.throws(() => buildOnChangeDefinition({ ...ARGS, maxDeletes: -1 }), /maxDeletes/);
  });
});
