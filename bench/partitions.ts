/**
 * Partition planning benchmark: plans generated key layouts (bench/lib/keyLayouts.ts) from 10^5
 * to 10^8 keys, with no server, and prints per layout the imbalance (largest partition over the
 * even share: N/P, or the minimum partition size when larger) and the listing calls it took.
 *
 *   npm run bench:partitions -- --json
 *   npm run bench:partitions -- --keys 1000000 --partitions 16,256
 */
import { parseArgs } from "node:util";
import { WORK_BYTES_PER_KEY, listCallBudget, planRanges } from "../handlers/engine/partitions";
import { DEFAULTS } from "../handlers/engine/validation";
import { type KeyLayout, keyLayouts } from "./lib/keyLayouts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "100000,1000000,10000000,100000000" },
    partitions: { type: "string", default: "16,128" },
    "min-keys-per-partition": { type: "string", default: String(DEFAULTS.minKeysPerPartition) },
    layouts: { type: "string" },
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
  estimatedKeys: number;
  seconds: number;
}

async function benchOne(layout: KeyLayout, partitions: number): Promise<PartitionBenchRow> {
  const source = layout.source.lister();
  const destination = layout.destination.lister();
  const started = process.hrtime.bigint();
  const plan = await planRanges(source, destination, { partitions, minKeysPerPartition });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const union = layout.union;
  const counts = plan.partitions.map((p) => union.countBetween(p.startAfter, p.endBefore));
  const works = plan.partitions.map((p, i) => counts[i] + union.bytesBetween(p.startAfter, p.endBefore) / WORK_BYTES_PER_KEY);
  const totalWork = works.reduce((a, b) => a + b, 0);
  const keyShare = Math.max(union.count / partitions, minKeysPerPartition);
  const workShare = Math.max(totalWork / partitions, (minKeysPerPartition * totalWork) / union.count);
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
    estimatedKeys: plan.estimatedKeys,
    seconds: Number(seconds.toFixed(3)),
  };
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
              `imbalance keys ${row.keyImbalance.toFixed(2)} work ${row.workImbalance.toFixed(2)}  ${row.listCalls} list calls  ${row.seconds} s`,
          );
        }
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
