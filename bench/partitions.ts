/**
 * Partition planning benchmark: plans generated key layouts (bench/lib/keyLayouts.ts) from 10^5
 * to 10^8 keys, with no server, and prints per layout the imbalance (largest partition over the
 * even share: N/P, or the minimum partition size when larger), the listing calls it took against
 * those of listing both buckets whole, the planner's CPU time and heap, and the simulated makespan
 * (engine/schedule.ts): the plan run `partitions / ranges-per-worker` ranges at a time in the order
 * the planner hands them to the Map, against the total work over that many workers.
 *
 *   npm run bench:partitions -- --json
 *   npm run bench:partitions -- --keys 1000000 --partitions 16,256
 */
import { parseArgs } from "node:util";
import { WORK_BYTES_PER_KEY, listCallBudget, planRanges } from "../handlers/engine/partitions";
import { schedulingOrder, simulateMakespan } from "../handlers/engine/schedule";
import { SYNC_SETTINGS } from "../model/settings";
import { AWS_PRICES } from "../pricing/prices";
import { alternatives, paperRun, S3_PREFIX_LIMITS, STEP_FUNCTIONS_LIMITS, type PaperAssumptions } from "./lib/costModel";
import { type KeyLayout, keyLayouts } from "./lib/keyLayouts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "100000,1000000,10000000,100000000" },
    partitions: { type: "string", default: "16,128,1024" },
    // ranges planned per range run at once: maxConcurrency = partitions / this
    "ranges-per-worker": { type: "string", default: "8" },
    "min-keys-per-partition": { type: "string", default: String(SYNC_SETTINGS.minKeysPerPartition.default) },
    layouts: { type: "string" },
    // bench/RESULTS.md, 20,000 × 1 KiB: one partition of 64 requests, 41.08 s for the first sync
    "objects-per-second-per-partition": { type: "string", default: "487" },
    json: { type: "boolean", default: false },
  },
});
const numbers = (text: string, name: string) =>
  text.split(",").map((part) => {
    const n = Number(part);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be positive integers separated by commas, got ${text}`);
    return n;
  });
const keyCounts = numbers(values.keys, "--keys");
const partitionCounts = numbers(values.partitions, "--partitions");
const [minKeysPerPartition] = numbers(values["min-keys-per-partition"], "--min-keys-per-partition");
const [rangesPerWorker] = numbers(values["ranges-per-worker"], "--ranges-per-worker");
const only = values.layouts?.split(",");

export interface PartitionBenchRow {
  layout: string;
  keys: number;
  partitionsAsked: number;
  partitionsPlanned: number;
  /** Largest partition's keys over the even share of keys. */
  keyImbalance: number;
  /** Largest partition's work (keys + bytes / WORK_BYTES_PER_KEY) over the even share of work. */
  workImbalance: number;
  largestPartitionKeys: number;
  listCalls: number;
  listCallBudget: number;
  /** Calls a listing of both buckets whole takes (1,000 keys a page). */
  listingCalls: number;
  estimatedKeys: number;
  seconds: number;
  /** Planner CPU time (user + system), seconds. */
  cpuSeconds: number;
  /** Heap in use right after planning, MiB. */
  heapMiB: number;
  /** Ranges run at once in the makespan simulation: partitions asked / ranges per worker. */
  maxConcurrency: number;
  /** Simulated makespan over the ideal, in the order the planner hands ranges to the Map. */
  makespanRatio: number;
  /** The same, were the ranges started in key order. */
  keyOrderMakespanRatio: number;
}

async function benchOne(layout: KeyLayout, partitions: number): Promise<PartitionBenchRow> {
  const source = layout.source.lister();
  const destination = layout.destination.lister();
  globalThis.gc?.();
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const plan = await planRanges(source, destination, { partitions, minKeysPerPartition });
  const used = process.cpuUsage(cpu);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const heapMiB = process.memoryUsage().heapUsed / 1024 ** 2;
  const union = layout.union;
  const counts = plan.partitions.map((p) => union.countBetween(p.startAfter, p.endBefore));
  const works = plan.partitions.map((p, i) => counts[i] + union.bytesBetween(p.startAfter, p.endBefore) / WORK_BYTES_PER_KEY);
  const totalWork = works.reduce((a, b) => a + b, 0);
  const keyShare = Math.max(union.count / partitions, minKeysPerPartition);
  const workShare = Math.max(totalWork / partitions, (minKeysPerPartition * totalWork) / union.count);
  const maxConcurrency = Math.max(1, Math.floor(partitions / rangesPerWorker));
  const scheduled = simulateMakespan(schedulingOrder(plan.estimatedWork).map((i) => works[i]), maxConcurrency);
  const keyOrder = simulateMakespan(works, maxConcurrency);
  return {
    layout: layout.name,
    keys: union.count,
    partitionsAsked: partitions,
    partitionsPlanned: plan.partitions.length,
    keyImbalance: Number((Math.max(...counts) / keyShare).toFixed(3)),
    workImbalance: Number((Math.max(...works) / workShare).toFixed(3)),
    largestPartitionKeys: Math.max(...counts),
    listCalls: source.calls + destination.calls,
    listCallBudget: 2 * listCallBudget(partitions),
    listingCalls: Math.max(1, Math.ceil(layout.source.count / 1000)) + Math.max(1, Math.ceil(layout.destination.count / 1000)),
    estimatedKeys: plan.estimatedKeys,
    seconds: Number(seconds.toFixed(3)),
    cpuSeconds: Number(((used.user + used.system) / 1e6).toFixed(3)),
    heapMiB: Number(heapMiB.toFixed(1)),
    maxConcurrency,
    makespanRatio: Number(scheduled.ratio.toFixed(3)),
    keyOrderMakespanRatio: Number(keyOrder.ratio.toFixed(3)),
  };
}

/** The deployed machine at 1 and 100 million objects, from the measured per-partition rate. */
function scaleModel(rows: PartitionBenchRow[]) {
  const perPartition = Number(values["objects-per-second-per-partition"]);
  const base: PaperAssumptions = {
    partitions: 16,
    concurrency: 32,
    copyLatencySeconds: 0.06,
    listLatencySeconds: 0.15,
    lambdaGb: 1,
    timeBudgetSeconds: SYNC_SETTINGS.timeBudgetSeconds.default,
    prefixes: 16,
    objectBytes: 1024,
    measuredObjectsPerSecondPerPartition: perPartition,
  };
  const scenarios: Array<{ objects: number; partitions: number; prefixes: number; note: string }> = [
    { objects: 1_000_000, partitions: 16, prefixes: 16, note: "keys over 16 or more prefixes" },
    { objects: 100_000_000, partitions: 128, prefixes: 128, note: "keys over 128 or more prefixes" },
    { objects: 100_000_000, partitions: 128, prefixes: 1, note: "one dominant prefix S3 has not split yet" },
    { objects: 100_000_000, partitions: 1000, prefixes: 1000, note: "keys over 1,000 or more prefixes" },
  ];
  return scenarios.map((scenario) => {
    const planned = rows.filter((r) => r.partitionsAsked === scenario.partitions && r.keys >= Math.min(scenario.objects, 10_000_000));
    const planningListCalls = planned.length > 0 ? Math.max(...planned.map((r) => r.listCalls)) : 2 * listCallBudget(scenario.partitions);
    const run = paperRun(scenario.objects, { ...base, partitions: scenario.partitions, prefixes: scenario.prefixes, planningListCalls });
    const [batchCopy, batchReplication, dataSync] = alternatives(scenario.objects, base.objectBytes);
    return {
      ...scenario,
      planningListCalls,
      lambdaConcurrency: run.lambdaConcurrency,
      objectsPerSecond: Math.round(run.objectsPerSecond),
      bound: run.limit,
      writesPerSecondPerPrefix: Math.round(run.writesPerSecondPerPrefix),
      wallMinutes: Number((run.wallSeconds / 60).toFixed(1)),
      syncRangeCalls: run.syncRangeCalls,
      transitions: run.transitions,
      parentHistoryEvents: run.parentHistoryEvents,
      childHistoryEvents: run.childHistoryEvents,
      orchestrationUsd: Number(run.orchestrationUsd.toFixed(2)),
      s3RequestUsd: Number(run.s3RequestUsd.toFixed(2)),
      batchOperationsCopyUsd: Number(batchCopy.usd.toFixed(2)),
      batchReplicationUsd: Number(batchReplication.usd.toFixed(2)),
      dataSyncEnhancedUsd: Number(dataSync.usd.toFixed(2)),
    };
  });
}

async function main(): Promise<void> {
  const rows: PartitionBenchRow[] = [];
  for (const keys of keyCounts) {
    for (const layout of keyLayouts(keys)) {
      if (only && !only.includes(layout.name)) continue;
      for (const partitions of partitionCounts) {
        const row = await benchOne(layout, partitions);
        rows.push(row);
        if (values.json) console.log(JSON.stringify(row));
        else {
          console.log(
            `${row.layout.padEnd(17)} ${String(row.keys).padStart(10)} keys  ${String(row.partitionsPlanned).padStart(4)}/${String(partitions).padEnd(4)} partitions  ` +
              `imbalance keys ${row.keyImbalance.toFixed(2)} work ${row.workImbalance.toFixed(2)}  ` +
              `makespan ${row.makespanRatio.toFixed(2)}x ideal at ${row.maxConcurrency} at once (key order ${row.keyOrderMakespanRatio.toFixed(2)}x)  ` +
              `${row.listCalls} list calls (listing ${row.listingCalls})  CPU ${row.cpuSeconds} s  heap ${row.heapMiB} MiB`,
          );
        }
      }
    }
  }
  const model = scaleModel(rows);
  if (values.json) {
    console.log(JSON.stringify({ model, perPartitionObjectsPerSecond: Number(values["objects-per-second-per-partition"]) }));
    return;
  }
  console.log(`\npaper model, ${values["objects-per-second-per-partition"]} objects/s per partition (measured), 1 KiB objects:`);
  for (const m of model) {
    console.log(
      `${m.objects.toLocaleString("en-US").padStart(11)} objects ${String(m.partitions).padStart(4)} partitions (${m.note}): ` +
        `${m.objectsPerSecond} obj/s (${m.bound}), ${m.writesPerSecondPerPrefix} writes/s per prefix, ${m.wallMinutes} min, ` +
        `${m.transitions} transitions, ${m.parentHistoryEvents} + ${m.childHistoryEvents} history events (parent + child), ` +
        `orchestration $${m.orchestrationUsd}, S3 requests $${m.s3RequestUsd}; Batch Replication $${m.batchReplicationUsd}, DataSync $${m.dataSyncEnhancedUsd}`,
    );
  }
  console.log(`limits: ${S3_PREFIX_LIMITS.writesPerSecond} writes/s per prefix (${S3_PREFIX_LIMITS.source}); ${STEP_FUNCTIONS_LIMITS.historyEvents} history events (${STEP_FUNCTIONS_LIMITS.source}); prices: ${AWS_PRICES.stateTransition.source}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
