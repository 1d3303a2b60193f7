/**
 * The handler table (infra/handlerSpecs.ts): one entry per handler, and the rules that tie its
 * columns to the definition, the bundle's exports and the names.
 */
import { strict as assert } from "node:assert";
import { HANDLER_NAMES, type HandlerName } from "../../model/contract";
import * as lambdaModule from "../../handlers/lambda";
import { buildDefinition } from "../../infra/definition";
import { HANDLER_SPECS, LONGEST_HANDLER_NAME, TASK_TIMEOUT_MARGIN_SECONDS } from "../../infra/handlerSpecs";
import { functionName, longestFunctionName } from "../../infra/names";

type Json = Record<string, unknown>;

/** Every Task of a definition, nested ones included. */
function tasks(states: Record<string, Json>, found: Array<{ name: string; state: Json }> = []) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === "Task") found.push({ name, state });
    for (const sub of [state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])] as Array<{ States?: Record<string, Json> } | undefined>) {
      if (sub?.States) tasks(sub.States, found);
    }
  }
  return found;
}

describe("HANDLER_SPECS", () => {
  for (const syncRangeTimeoutSeconds of [61, 300, 900]) {
    it(`lets every Lambda Task outlive its function by the margin (sync-range timeout ${syncRangeTimeoutSeconds} s)`, () => {
      const functionArns = Object.fromEntries(HANDLER_NAMES.map((h) => [h, `arn:aws:lambda:eu-west-1:123456789012:function:${h}`])) as Record<HandlerName, string>;
      const handlerOf = new Map(Object.entries(functionArns).map(([h, arn]) => [arn, h as HandlerName]));
      const definition = buildDefinition({ functionArns, notificationTopicArn: "arn:aws:sns:eu-west-1:123456789012:t", syncRangeTimeoutSeconds });
      const invokes = tasks(definition.States as unknown as Record<string, Json>).filter((t) => String(t.state.Resource).endsWith(":lambda:invoke"));
      const called = new Set<HandlerName>();
      for (const { name, state } of invokes) {
        const handler = handlerOf.get(String((state.Parameters as Json).FunctionName));
        assert.ok(handler, `${name} calls no handler of the table`);
        called.add(handler);
        const functionSeconds = HANDLER_SPECS[handler].timeoutSeconds({ syncRangeTimeoutSeconds });
        assert.equal(state.TimeoutSeconds, functionSeconds + TASK_TIMEOUT_MARGIN_SECONDS, `${name}: Task ${state.TimeoutSeconds} s, function ${functionSeconds} s`);
      }
      assert.deepEqual([...called].sort(), [...HANDLER_NAMES].sort(), "every handler is called by some Task");
    });
  }

  it("names an export of handlers/lambda.ts for every handler, and nothing else is exported", () => {
    const lambda = lambdaModule as Record<string, unknown>;
    const exports = HANDLER_NAMES.map((h) => HANDLER_SPECS[h].export);
    assert.deepEqual(Object.keys(lambda).filter((k) => k !== "__esModule").sort(), [...exports].sort());
    for (const name of exports) assert.equal(typeof lambda[name], "function", name);
  });

  it("keeps functions within Lambda's limits", () => {
    for (const handler of HANDLER_NAMES) {
      const spec = HANDLER_SPECS[handler];
      assert.ok(spec.memorySizeMb >= 128 && spec.memorySizeMb <= 10_240, `${handler}: memory`);
      assert.ok(spec.timeoutSeconds({ syncRangeTimeoutSeconds: 900 }) <= 900, `${handler}: timeout`);
    }
  });

  it("measures function names by the longest handler name", () => {
    const stem = "bucket-sync-prod";
    const longest = HANDLER_NAMES.map((h) => functionName(stem, h)).reduce((a, b) => (b.length > a.length ? b : a));
    assert.equal(longestFunctionName(stem), longest);
    assert.equal(longest, functionName(stem, LONGEST_HANDLER_NAME));
  });
});
