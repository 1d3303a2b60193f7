/**
 * Planning against listing, on a real S3-compatible server: the embedded S3 in this process,
 * two buckets filled with generated keys, then (1) the planner exactly as `plan-partitions` runs
 * it (planRanges over ListObjectsV2 with StartAfter/MaxKeys) and (2) a plain listing of both
 * buckets whole (ListObjectsV2 with continuation tokens), each timed and its LIST calls counted.
 *
 *   npm run bench:plan-vs-list -- --keys 12000 --partitions 8,128
 */
import { parseArgs } from "node:util";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { listObjects, s3KeyLister } from "../handlers/engine/listing";
import { planRanges } from "../handlers/engine/partitions";
import { createS3Client } from "../handlers/engine/s3Client";
import { startEmbeddedS3 } from "../s3-server/embeddedS3";
import { SYNC_SETTINGS } from "../model/settings";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "12000" },
    partitions: { type: "string", default: "8,128" },
    json: { type: "boolean", default: false },
  },
});
const keys = Number(values.keys);
const partitionCounts = values.partitions.split(",").map(Number);

async function main(): Promise<void> {
  const s3 = await startEmbeddedS3();
  try {
    const client = createS3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3 });
    let listCalls = 0;
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === ListObjectsV2Command.name) listCalls++;
        return next(args);
      },
      { step: "initialize", name: "countListCalls" },
    );
    // the source: dated keys; the destination: every other one of them, and some of its own
    const sourceKeys = Array.from({ length: keys }, (_, i) => `logs/2026/${String(1 + Math.floor(i / 1000)).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.gz`);
    const destinationKeys = [...sourceKeys.filter((_, i) => i % 2 === 0), ...Array.from({ length: keys / 10 }, (_, i) => `old/${i}`)];
    const limit = pLimit(32);
    for (const [bucket, bucketKeys] of [["plan-src", sourceKeys], ["plan-dst", destinationKeys]] as const) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await Promise.all(bucketKeys.map((key) => limit(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x" })))));
    }
    const rows = [];
    // a plain listing of both buckets, as a sync would read them (twice: the first warms the server's cache)
    let listing = { seconds: 0, calls: 0 };
    for (let round = 0; round < 2; round++) {
      listCalls = 0;
      const started = performance.now();
      await Promise.all(
        ["plan-src", "plan-dst"].map(async (bucket) => {
          for await (const _page of listObjects(client, { bucket })) void _page;
        }),
      );
      listing = { seconds: (performance.now() - started) / 1000, calls: listCalls };
    }
    for (const partitions of partitionCounts) {
      listCalls = 0;
      const started = performance.now();
      const plan = await planRanges(s3KeyLister(client, { bucket: "plan-src" }), s3KeyLister(client, { bucket: "plan-dst" }), {
        partitions,
        minKeysPerPartition: SYNC_SETTINGS.minKeysPerPartition.default,
      });
      const seconds = (performance.now() - started) / 1000;
      const row = {
        keys: { source: sourceKeys.length, destination: destinationKeys.length },
        partitionsAsked: partitions,
        partitionsPlanned: plan.partitions.length,
        planning: { seconds: Number(seconds.toFixed(2)), calls: listCalls },
        listing: { seconds: Number(listing.seconds.toFixed(2)), calls: listing.calls },
        ratio: Number((seconds / listing.seconds).toFixed(2)),
      };
      rows.push(row);
      if (values.json) console.log(JSON.stringify(row));
      else {
        console.log(
          `${row.keys.source} + ${row.keys.destination} keys, ${partitions} partitions asked (${row.partitionsPlanned} planned): ` +
            `planning ${row.planning.seconds} s / ${row.planning.calls} LIST calls, listing both buckets ${row.listing.seconds} s / ${row.listing.calls} calls (${row.ratio}x)`,
        );
      }
    }
    client.destroy();
  } finally {
    await s3.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
