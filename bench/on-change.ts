/**
 * `npm run bench:on-change`: what the on-change chain costs, on paper, for 1M object writes an hour
 * and for a 50,000-object burst, beside S3 Replication; and the latency a write waits, modelled.
 *
 * The per-run figures that can be measured here are measured: one batch run of the sync machine over
 * `BATCH` fresh keys, run locally against the embedded S3 server, gives its state transitions
 * (exactly what AWS bills: the same definition, the same states) and the batch record size. What
 * cannot be measured here (S3 latency on AWS, Lambda time per key) is an assumption, stated below.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { applyRecordTemplate, s3ObjectEvent } from "../cli/onChangeChain";
import { runLocalSync } from "../cli/localSync";
import { createS3Client } from "../handlers/engine/s3Client";
import { ON_CHANGE_LIMITS, ON_CHANGE_RECORD_TEMPLATE } from "../model/onChange";
import { AWS_PRICES as P } from "../pricing/prices";
import { startEmbeddedS3 } from "../s3-server/embeddedS3";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BATCH = 1000;
/** Batch machine transitions per batch: Hold batch, Take run slot, Sync batch, Give back run slot, Batch synced. */
const BATCH_MACHINE_TRANSITIONS = 5;
/** Assumed on AWS: Lambda time a batch run spends, fixed part (validate, plan, summarize, report; 512 MB average) and per key (sync-range at 1024 MB, 32 copies in flight, ~40 ms a CopyObject). */
const FIXED_GB_S = 0.8 * 0.5 + 0.3 * 0.25;
const PER_KEY_GB_S = (0.04 / 32) * 1;
/** Assumed on AWS: a batch run's wall time, fixed (Distributed Map start, Lambda calls, report) and per key. */
const RUN_FIXED_S = 12;
const RUN_PER_KEY_S = 0.04 / 32;

async function measureBatchRun(): Promise<{ transitions: number; recordChars: number }> {
  const server = await startEmbeddedS3();
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const client = createS3Client({ endpoint: server.endpoint, credentials, region: server.region });
  try {
    for (const bucket of ["bench-dev", "bench-prod"]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = Array.from({ length: BATCH }, (_, i) => `site/assets/2026/12/page-${String(i).padStart(6, "0")}.html`);
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((key) => client.send(new PutObjectCommand({ Bucket: "bench-dev", Key: key, Body: key }))));
    }
    const records = keys.map((key, i) => applyRecordTemplate(ON_CHANGE_RECORD_TEMPLATE, { messageId: `m-${i}`, body: JSON.stringify(s3ObjectEvent({ bucket: "bench-dev", key, type: "Object Created" })) }));
    const result = await runLocalSync({
      request: { source: { bucket: "bench-dev" }, destination: { bucket: "bench-prod" }, maxDeletes: 100, notifyOnSuccess: false, changes: records },
      endpoint: server.endpoint,
      credentials,
      region: server.region,
      report: { directory: await mkdtemp(join(tmpdir(), "bench-on-change-")) },
    });
    if (result.status !== "SUCCEEDED") throw new Error(`the batch run failed: ${result.error} ${result.cause}`);
    return { transitions: result.transitions, recordChars: JSON.stringify(records).length / BATCH };
  } finally {
    client.destroy();
    await server.stop();
  }
}

function usd(n: number): string {
  return n >= 100 ? `$${n.toFixed(0)}` : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`;
}

async function main(): Promise<void> {
  const measured = await measureBatchRun();
  const perBatchLimit = Math.floor(ON_CHANGE_LIMITS.targetPayloadChars / measured.recordChars);
  console.log(`measured: one batch run of ${BATCH} keys = ${measured.transitions} state transitions (sync machine, local run of the deployed definition)`);
  console.log(`measured: one buffered record = ${measured.recordChars.toFixed(0)} characters, so a batch holds at most ${perBatchLimit} events (262,144-character target limit)`);

  const scenario = (title: string, events: number, batchSize: number, windowSeconds: number, concurrentRuns: number) => {
    const batch = Math.min(batchSize, perBatchLimit);
    const runs = Math.ceil(events / batch);
    const syncTransitions = runs * measured.transitions;
    const batchTransitions = runs * BATCH_MACHINE_TRANSITIONS;
    const transitions = syncTransitions + batchTransitions;
    const gbSeconds = runs * FIXED_GB_S + events * PER_KEY_GB_S;
    const lambdaRequests = runs * (4 + Math.ceil(batch / 1000));
    // SQS: SendMessage per event (EventBridge), ReceiveMessage and DeleteMessageBatch per 10 messages.
    const sqsRequests = events * 1.2;
    // Pipes: one request per 64 KB chunk of each batch's payload.
    const pipesRequests = runs * Math.ceil((batch * measured.recordChars) / 65_536);
    const dynamo = runs * 2;
    const cost = {
      transitions: transitions * P.stateTransition.usd,
      lambda: gbSeconds * P.lambdaGbSecond.usd + lambdaRequests * P.lambdaRequest.usd,
      sqs: sqsRequests * P.sqsRequest.usd,
      pipes: pipesRequests * P.pipesRequest.usd,
      dynamo: dynamo * P.dynamoDbWrite.usd,
      // the copies themselves: a CopyObject per key (destination PUT-class) and a HEAD per key on each side
      s3: events * (P.s3Tier1.usd + 2 * P.s3Tier2.usd),
    };
    const total = Object.values(cost).reduce((a, b) => a + b, 0);
    // S3 Replication (same region): each replicated object is a PUT in the destination; no other fee.
    const replication = events * P.s3Tier1.usd;
    const runSeconds = RUN_FIXED_S + batch * RUN_PER_KEY_S;
    const capacityPerHour = (3600 / runSeconds) * concurrentRuns * batch;
    console.log(`\n## ${title}`);
    console.log(`batches of ${batch} events (window ${windowSeconds} s), onChangeMaxConcurrentRuns ${concurrentRuns}`);
    console.log(`sync runs (executions): ${runs}; batch executions: ${runs}`);
    console.log(`state transitions: ${transitions.toLocaleString("en")} (${syncTransitions.toLocaleString("en")} sync + ${batchTransitions.toLocaleString("en")} batch machine)`);
    console.log(`Lambda: ${gbSeconds.toFixed(0)} GB-s, ${lambdaRequests.toLocaleString("en")} requests`);
    console.log(
      `dollars: transitions ${usd(cost.transitions)}, Lambda ${usd(cost.lambda)}, SQS ${usd(cost.sqs)}, Pipes ${usd(cost.pipes)}, DynamoDB ${usd(cost.dynamo)}, S3 requests ${usd(cost.s3)} = ${usd(total)}`,
    );
    console.log(`S3 Replication (same region) for the same objects: ${usd(replication)} (+${usd(P.interRegionTransferGb.usd)}/GB across regions, +${usd(P.s3ReplicationTimeControlGb.usd)}/GB with RTC)`);
    console.log(`one run ~${runSeconds.toFixed(0)} s (assumed); the chain keeps up with ${Math.round(capacityPerHour).toLocaleString("en")} events/hour`);
    // Latency from a write to its copy: waiting for the batch (at most the window, or until it fills),
    // waiting for a slot (none while the chain keeps up), and the run.
    const fillSeconds = Math.min(windowSeconds, (batch / events) * (title.includes("hour") ? 3600 : 60));
    return { p50: fillSeconds / 2 + runSeconds, p99: fillSeconds * 0.99 + runSeconds };
  };
  const hourly = scenario("1M object writes an hour", 1_000_000, 1000, 60, 8);
  console.log(`latency, write in dev to object in prod (model): p50 ~${hourly.p50.toFixed(0)} s, p99 ~${hourly.p99.toFixed(0)} s`);
  const burst = scenario("a 50,000-object burst (in about a minute)", 50_000, 1000, 60, 1);
  const runSeconds = RUN_FIXED_S + Math.min(1000, perBatchLimit) * RUN_PER_KEY_S;
  const runs = Math.ceil(50_000 / Math.min(1000, perBatchLimit));
  console.log(`latency (model, 1 run at a time): the first batch lands after ~${(runSeconds + 1).toFixed(0)} s, the last after ~${(runs * runSeconds).toFixed(0)} s; p50 ~${((runs * runSeconds) / 2).toFixed(0)} s, p99 ~${(runs * runSeconds * 0.99).toFixed(0)} s`);
  void burst;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
