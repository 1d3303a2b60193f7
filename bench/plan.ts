/**
 * Planning benchmark: merge two sorted listings of N keys each (generated a page at a time, as
 * S3 would return them) and decide every pair, with no server. Prints one JSON line:
 * `{"keys", "seconds", "peakRssMiB", "keysPerSecond", "actions"}`.
 *
 *   npm run bench:plan -- --keys 1000000 --json
 */
import { parseArgs } from "node:util";
import type { ListedObject } from "../handlers/engine/listing";
import { decideListed, pairListings } from "../handlers/engine/planner";

const { values } = parseArgs({
  options: { keys: { type: "string", default: "1000000" }, json: { type: "boolean", default: false } },
});
const keys = Number(values.keys);
if (!Number.isInteger(keys) || keys < 1) throw new Error(`--keys must be a positive integer, got ${values.keys}`);

const PAGE = 1000;
const key = (i: number) => `data/${String(i % 97).padStart(2, "0")}/object-${String(i).padStart(9, "0")}.json`;

/** A listing of `count` keys (sorted), where `variant(i)` decides each object's shape. */
async function* listing(count: number, variant: (i: number) => ListedObject | undefined): AsyncGenerator<ListedObject[]> {
  const order = Array.from({ length: 97 }, (_, bucket) => bucket); // keys sort by their two-digit shard first
  let page: ListedObject[] = [];
  for (const shard of order) {
    for (let i = shard; i < count; i += 97) {
      const item = variant(i);
      if (item) page.push(item);
      if (page.length === PAGE) {
        yield page;
        page = [];
      }
    }
  }
  if (page.length > 0) yield page;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const source = listing(keys, (i) => ({ key: key(i), size: 1024, etag: `e${i}`, lastModified: 1 }));
  // destination: 95% of the keys, 1% of those with other content
  const destination = listing(keys, (i) =>
    i % 20 === 0 ? undefined : { key: key(i), size: 1024, etag: i % 100 === 1 ? `x${i}` : `e${i}`, lastModified: 2 },
  );
  const actions: Record<string, number> = {};
  const settings = { mode: "mirror", conflictPolicy: "report" } as const;
  for await (const batch of pairListings(source, destination)) {
    for (const pair of batch) {
      const { action } = decideListed(pair, settings);
      actions[action] = (actions[action] ?? 0) + 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result = {
    keys,
    seconds: Number(seconds.toFixed(3)),
    keysPerSecond: Math.round(keys / seconds),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    actions,
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(`planned ${keys} keys per side in ${result.seconds} s (${result.keysPerSecond}/s), peak RSS ${result.peakRssMiB} MiB`, actions);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
