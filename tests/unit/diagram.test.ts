import { strict as assert } from "node:assert";
import { buildDefinition, STATE_NAMES } from "../../infra/definition";
import { condition, toMermaid } from "../../local-stepfunctions/diagram";
import { localFunctionArns } from "../../local-stepfunctions/runner";

const S = STATE_NAMES;

/** The node id Mermaid uses for a state, found from its label. */
function idOf(chart: string, name: string): string {
  const match = new RegExp(`^\\s*(?:subgraph )?(s\\d+)[\\[{(/]+"${name.replace(/[?()]/g, "\\$&")}[ <"]`, "m").exec(chart);
  assert.ok(match, `no node for "${name}"`);
  return match[1];
}

/** The lines between a subgraph's opening and its matching `end`. */
function subgraphBody(chart: string, id: string): string[] {
  const lines = chart.split("\n");
  const start = lines.findIndex((l) => l.trim().startsWith(`subgraph ${id}[`));
  assert.ok(start >= 0, `no subgraph ${id}`);
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t.startsWith("subgraph ")) depth++;
    if (t === "end") depth--;
    if (depth === 0) return lines.slice(start + 1, i);
  }
  throw new Error(`subgraph ${id} is not closed`);
}

describe("toMermaid", () => {
  const chart = toMermaid(
    buildDefinition({ functionArns: localFunctionArns(), notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:t" }),
  );

  it("draws a top-down flowchart from a start node into the first state", () => {
    assert.match(chart, /^flowchart TD\n/);
    assert.ok(chart.includes(`start --> ${idOf(chart, S.validateInput)}`));
  });

  it("draws every state once, shaped by its type, Tasks with what they call", () => {
    for (const name of Object.values(S)) idOf(chart, name);
    assert.ok(chart.includes(`${idOf(chart, S.deleteDecision)}{"${S.deleteDecision}"}`));
    assert.ok(chart.includes(`${idOf(chart, S.syncFailed)}(["${S.syncFailed}"])`));
    assert.ok(chart.includes(`["${S.copyRange}<br/>lambda: bucket-sync-sync-range"]`));
    assert.ok(chart.includes(`["${S.requestDeleteApproval}<br/>sns:publish.waitForTaskToken"]`));
  });

  it("nests each Map's iteration and the Parallel's branch in subgraphs", () => {
    const copy = subgraphBody(chart, idOf(chart, S.copyPartitions)).join("\n");
    assert.match(chart, new RegExp(`subgraph ${idOf(chart, S.copyPartitions)}\\["Copy partitions \\(Map, distributed\\)"\\]`));
    for (const inner of [S.copyRange, S.copyRangeDone, S.continueCopyRange, S.keepCopyResult]) assert.ok(copy.includes(`"${inner}`), inner);
    assert.ok(!copy.includes(S.deleteRange));
    const report = subgraphBody(chart, idOf(chart, S.report)).join("\n");
    assert.match(report, /subgraph s\d+_b0\["branch 1"\]/);
    assert.ok(report.includes(S.writeReport) && report.includes(S.publishResult));
  });

  it("labels Choice branches with their conditions, the Default as otherwise", () => {
    const decision = idOf(chart, S.deleteDecision);
    assert.ok(chart.includes(`${decision} -->|"$.summary.deleteDecision == #quot;over-limit#quot;"| ${idOf(chart, S.requestDeleteApproval)}`));
    assert.ok(chart.includes(`${decision} -->|"otherwise"| ${idOf(chart, S.unexpectedDeleteDecision)}`));
    assert.ok(chart.includes(`${idOf(chart, S.copyRangeDone)} -->|"$.range.result.done == true"| ${idOf(chart, S.keepCopyResult)}`));
  });

  it("draws the range loop back to its Task", () => {
    assert.ok(chart.includes(`${idOf(chart, S.continueCopyRange)} --> ${idOf(chart, S.copyRange)}`));
  });

  it("draws Catch edges dashed, labelled with the errors they catch", () => {
    assert.ok(chart.includes(`${idOf(chart, S.copyPartitions)} -.->|"States.ALL"| ${idOf(chart, S.notifyFailure)}`));
    assert.ok(chart.includes(`${idOf(chart, S.report)} -.->|"States.ALL"| ${idOf(chart, S.notifyFailure)}`));
    const dashed = chart.split("\n").filter((l) => l.includes("-.->"));
    assert.ok(dashed.every((l) => /-\.->\|"[^"]+"\|/.test(l)));
  });

  it("writes conditions with And, Or, Not and type tests readably", () => {
    assert.equal(
      condition({
        Or: [
          { And: [{ Variable: "$.a", NumericGreaterThanEquals: 2 }, { Variable: "$.b", IsPresent: false }] },
          { Not: { Variable: "$.c", StringEqualsPath: "$.d" } },
        ],
      }),
      "(($.a >= 2) and ($.b is absent)) or (not ($.c == $.d))",
    );
  });
});
