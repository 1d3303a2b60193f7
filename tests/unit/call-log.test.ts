/**
 * The deployed handlers' call log: one JSON line per call, through Powertools' Logger, for a call
 * that succeeds and one that fails; the call's own result and error are unchanged.
 */
import { strict as assert } from "node:assert";
import { CONTRACT_VERSION, UNKNOWN_CONTRACT_VERSION, type SyncRangeResult } from "../../model/contract";
import { CALL_LOG_MESSAGE, createLambdaHandlers } from "../../handlers/callLog";
import { createS3Client } from "../../handlers/engine/s3Client";
import { emptyStats } from "../../handlers/engine/stats";
import { validateRequest } from "../../handlers/engine/validation";

/**
 * Runs `act` with stdout and stderr captured (Powertools writes INFO to stdout and ERROR to
 * stderr; Lambda sends both to the function's log group); returns what was written, by line.
 */
async function captured(act: () => Promise<unknown>): Promise<{ lines: string[]; outcome: PromiseSettledResult<unknown> }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof stream.write;
  }
  let outcome: PromiseSettledResult<unknown>;
  try {
    outcome = await act().then((value) => ({ status: "fulfilled", value }) as const, (reason) => ({ status: "rejected", reason }) as const);
  } finally {
    streams.forEach((stream, i) => (stream.write = writes[i]));
  }
  return { lines: chunks.join("").split("\n").filter((line) => line.trim() !== ""), outcome };
}

describe("call log (deployed handlers)", () => {
  // No S3 request is made: summarize is given its results, and the refused call is refused first.
  const client = createS3Client({ endpoint: "http://127.0.0.1:9", region: "eu-west-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
  const handlers = createLambdaHandlers({ client, reportBucket: "reports" });
  const job = validateRequest({ source: { bucket: "dev-data" }, destination: { bucket: "prod-data" }, mode: "mirror" });
  after(() => client.destroy());

  it("writes one JSON line for a call: handler, execution, phase, counts, duration, contract version", async () => {
    const result: SyncRangeResult = {
      partition: { id: 3 }, phase: "copy", cursor: null, done: true, stats: { ...emptyStats(), sourceObjects: 5, copied: 2, unchanged: 3 },
      plannedDeletes: 0, failures: [], changes: [], uploads: [], handledAhead: [],
    };
    const { lines, outcome } = await captured(() => handlers.summarize({ job, phase: "copy", run: "nightly-42", results: [result] }));
    assert.equal(outcome.status, "fulfilled");
    assert.equal(lines.length, 1, lines.join("\n"));
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(line.message, CALL_LOG_MESSAGE);
    assert.equal(line.level, "INFO");
    assert.equal(line.service, "bucket-sync");
    assert.equal(line.handler, "summarize");
    assert.equal(line.execution, "nightly-42");
    assert.equal(line.phase, "copy");
    assert.equal(line.outcome, "ok");
    assert.equal(line.contractVersion, CONTRACT_VERSION);
    assert.equal(line.deleteDecision, "no-deletes");
    assert.deepEqual(line.stats, (outcome as PromiseFulfilledResult<{ stats: unknown }>).value.stats);
    assert.equal(typeof line.durationMs, "number");
    assert.match(String(line.timestamp), /^\d{4}-\d\d-\d\dT/);
  });

  it("writes one ERROR line naming the error of a failed call, and the caller gets the same error", async () => {
    const event = { job: { ...job, version: CONTRACT_VERSION + 1 }, partition: { id: 7 }, phase: "delete" as const, run: "nightly-43" };
    const { lines, outcome } = await captured(() => handlers["sync-range"](event));
    assert.equal(outcome.status, "rejected");
    assert.equal((outcome as PromiseRejectedResult).reason.name, UNKNOWN_CONTRACT_VERSION);
    assert.equal(lines.length, 1, lines.join("\n"));
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(
      { level: line.level, handler: line.handler, execution: line.execution, partition: line.partition, phase: line.phase, outcome: line.outcome, contractVersion: line.contractVersion },
      { level: "ERROR", handler: "sync-range", execution: "nightly-43", partition: 7, phase: "delete", outcome: "error", contractVersion: CONTRACT_VERSION + 1 },
    );
    assert.equal((line.error as { name: string }).name, UNKNOWN_CONTRACT_VERSION);
    assert.match((line.error as { message: string }).message, /knows only version 1/);
  });
});
