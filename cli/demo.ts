/**
 * `bucket-sync demo` (what `npm start` runs): the whole system on this machine, no cloud.
 * Starts the embedded S3 server in a temporary directory, creates the dev and prod buckets as
 * the stacks name them, fills dev with a realistic tree, and runs the generated state machine:
 * a dry run, the sync, and a second sync that must change nothing; then a restore drill: some dev
 * objects are corrupted and some deleted, the next backup sync copies the damage into prod, and
 * dev is restored from prod's versions as of before the damage. Exits non-zero unless prod ends
 * up a faithful copy of dev and the drill brings every damaged object back.
 */
import { SUBCOMMANDS } from "./commands";
import type { Command } from "commander";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { SyncRequest } from "../model/contract";
import { createS3Client } from "../handlers/engine/s3Client";
import { compareCopy } from "../handlers/engine/faithfulCopy";
import { bucketName } from "../infra/names";
import { causeMessage, defaultReportDirectory, reportPath, resultDocument, summaryLine } from "./sync";
import { EXIT } from "./exitCodes";

const PROJECT = "bucket-sync";
const ACCOUNT = "000000000000";

/** A realistic tree: sites, logs, user uploads with awkward names, some empty objects. */
export function demoTree(objects: number): Array<{ key: string; body: string; contentType: string }> {
  const tree: Array<{ key: string; body: string; contentType: string }> = [];
  const awkward = ["plus+sign.txt", "q?mark.txt", "hash#.txt", "pct%20.txt", "amp&eq=.txt", "café.txt", "ünï/côdé.txt", "key with space.txt", "emoji-😀.txt"];
  for (const name of awkward) tree.push({ key: `uploads/awkward/${name}`, body: `awkward ${name}`, contentType: "text/plain" });
  tree.push({ key: "uploads/empty.bin", body: "", contentType: "application/octet-stream" });
  for (let i = 0; tree.length < objects; i++) {
    const kind = i % 3;
    if (kind === 0) tree.push({ key: `site/assets/${i % 17}/page-${i}.html`, body: `<h1>page ${i}</h1>`, contentType: "text/html" });
    else if (kind === 1) tree.push({ key: `logs/2026/11/${String(i % 28 + 1).padStart(2, "0")}/app-${i}.log`, body: `line ${i}\n`.repeat(i % 7), contentType: "text/plain" });
    else tree.push({ key: `uploads/user-${i % 41}/photo-${i}.json`, body: JSON.stringify({ id: i }), contentType: "application/json" });
  }
  return tree;
}

async function putAll(client: S3Client, bucket: string, items: Array<{ key: string; body: string; contentType: string }>) {
  for (let i = 0; i < items.length; i += 64) {
    await Promise.all(
      items.slice(i, i + 64).map((item) =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: item.key,
            Body: item.body,
            ContentLength: Buffer.byteLength(item.body),
            ContentType: item.contentType,
          }),
        ),
      ),
    );
  }
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(SUBCOMMANDS["demo"])
    .option("--objects <n>", "objects in the dev bucket", "3000")
    .option("--keep", "keep the server running afterwards, to look around")
    .action(async (options: { objects: string; keep?: boolean }) => {
      process.exitCode = await runDemo(Number(options.objects), options.keep ?? false);
    });
}

async function runDemo(objects: number, keep: boolean): Promise<number> {
  if (!Number.isInteger(objects) || objects < 20) throw new Error(`--objects must be a whole number of at least 20`);
  const { startEmbeddedS3 } = await import("../s3-server/embeddedS3");
  const { runLocalSync } = await import("./localSync");
  const { createProgress } = await import("./progress");
  const server = await startEmbeddedS3();
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const client = createS3Client({ endpoint: server.endpoint, credentials, region: server.region });
  try {
    const dev = bucketName({ project: PROJECT, stack: "dev", accountId: ACCOUNT });
    const prod = bucketName({ project: PROJECT, stack: "prod", accountId: ACCOUNT });
    console.log(`embedded S3 at ${server.endpoint} (data in ${server.directory})`);
    for (const bucket of [dev, prod]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    // prod is the backup: versioned, as the stack's HardenedBucket is, so it can be restored from.
    await client.send(new PutBucketVersioningCommand({ Bucket: prod, VersioningConfiguration: { Status: "Enabled" } }));

    // prod holds last night's backup: one file has changed in dev since, one was deleted from dev.
    const tree = demoTree(objects);
    const changed = tree.find((item) => item.key.startsWith("site/")) ?? tree[0];
    await putAll(client, prod, [
      { ...changed, body: `${changed.body}<!-- old version -->` },
      { key: "site/removed-from-dev.html", body: "<h1>gone from dev</h1>", contentType: "text/html" },
    ]);
    process.stderr.write(`seeding: writing ${tree.length} objects into ${dev}…\n`);
    await putAll(client, dev, tree);
    console.log(`dev bucket ${dev}: ${tree.length} objects; prod bucket ${prod}: last backup with 1 stale and 1 deleted file`);

    const run = async (title: string, dryRun: boolean, request: SyncRequest = { source: { bucket: dev }, destination: { bucket: prod } }) => {
      const progress = createProgress(process.stderr, { dryRun });
      const result = await runLocalSync({
        progress: { observe: progress.observe, summarized: progress.summarized, planned: progress.planned },
        request: { ...request, dryRun },
        endpoint: server.endpoint,
        credentials,
        region: server.region,
        // a directory that stays after the demo, unlike the server's temporary one
        report: { directory: defaultReportDirectory() },
      });
      progress.stop();
      const doc = resultDocument(result);
      console.log(`\n== ${title}: ${doc.status}`);
      console.log(`   ${summaryLine(doc)}`);
      if (doc.report) console.log(`   report: ${reportPath(doc.report)}`);
      if (result.status !== "SUCCEEDED") console.log(`   ${result.error}: ${causeMessage(result.cause)}`);
      return doc;
    };

    const dry = await run("dry run", true);
    const sync = await run("sync", false);
    const again = await run("second sync", false);

    process.stderr.write(`verifying: comparing every object of ${prod} with ${dev} (content and metadata)…\n`);
    const check = await compareCopy(client, { bucket: dev }, { bucket: prod }, { concurrency: 32 });
    const differences = [...check.missing, ...check.changed.map((c) => c.key)];
    const keptExtra = check.extra;
    const faithful =
      dry.status === "SUCCEEDED" &&
      sync.status === "SUCCEEDED" &&
      again.status === "SUCCEEDED" &&
      dry.copied === tree.length - 1 &&
      dry.updated === 1 &&
      sync.copied === tree.length - 1 &&
      sync.updated === 1 &&
      again.copied + again.updated + again.deleted === 0 &&
      differences.length === 0 &&
      keptExtra.join() === "site/removed-from-dev.html";
    console.log(
      `\n${faithful ? "OK" : "NOT FAITHFUL"}: prod holds all ${check.objects} dev objects with equal content and metadata` +
        `${differences.length ? ` except ${differences.slice(0, 5).join(", ")}` : ""}; backup mode kept ${keptExtra.length} object deleted from dev (${keptExtra.join(", ")})`,
    );
    const drilled = await restoreDrill(client, tree, dev, prod, keptExtra.length, run);
    if (keep) {
      console.log(`\nserver still running at ${server.endpoint}; Ctrl-C stops it`);
      await new Promise<void>((resolve) => process.once("SIGINT", resolve));
    }
    return faithful && drilled ? EXIT.ok : EXIT.failed;
  } finally {
    client.destroy();
    await server.stop();
  }
}

/**
 * The restore drill: corrupt and delete some dev objects, let the nightly backup copy the damage
 * into prod (new versions there), then restore dev as of before the damage from prod's versions
 * and check every object is back as it was. True when it is.
 */
async function restoreDrill(
  client: S3Client,
  tree: Array<{ key: string; body: string; contentType: string }>,
  dev: string,
  prod: string,
  /** Objects the backup kept after dev deleted them: they existed at asOf, so they come back too. */
  keptInBackup: number,
  run: (title: string, dryRun: boolean, request?: SyncRequest) => Promise<ReturnType<typeof resultDocument>>,
): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  const asOf = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const corrupted = tree.filter((item) => item.key.startsWith("uploads/user-")).slice(0, 5);
  const deleted = tree.filter((item) => item.key.startsWith("logs/")).slice(0, 5);
  await putAll(client, dev, corrupted.map((item) => ({ ...item, body: "ENCRYPTED BY RANSOMWARE" })));
  await client.send(new DeleteObjectsCommand({ Bucket: dev, Delete: { Objects: deleted.map((item) => ({ Key: item.key })) } }));
  console.log(`
== restore drill: at ${asOf} all was well; then ${corrupted.length} dev objects were corrupted and ${deleted.length} deleted`);
  const damage = await run("nightly backup copies the damage into prod", false);
  const restored = await run(`restore dev from prod as of ${asOf}`, false, {
    source: { bucket: prod },
    destination: { bucket: dev },
    mode: "restore",
    asOf,
    approveOverwrite: true,
    // One partition, as `bucket-sync restore` plans locally (model/settings.ts `localDefault`):
    // every partition of a local run shares one process and one server.
    partitions: 1,
  });
  let intact = 0;
  for (const item of [...corrupted, ...deleted]) {
    const object = await client.send(new GetObjectCommand({ Bucket: dev, Key: item.key })).catch(() => undefined);
    if ((await object?.Body?.transformToString()) === item.body && object?.ContentType === item.contentType) intact++;
  }
  const ok =
    damage.status === "SUCCEEDED" &&
    damage.updated === corrupted.length &&
    restored.status === "SUCCEEDED" &&
    restored.copied === deleted.length + keptInBackup &&
    restored.updated === corrupted.length &&
    intact === corrupted.length + deleted.length;
  console.log(
    `\n${ok ? "OK" : "RESTORE FAILED"}: ${intact} of ${corrupted.length + deleted.length} damaged dev objects are back as they were at ${asOf}, content and Content-Type` +
      ` (and ${keptInBackup} the backup had kept after dev deleted it)`,
  );
  return ok;
}
