/**
 * `bucket-sync watch --stack prod`: the on-change chain of a stack, running on this machine. An
 * embedded S3 server holds the stack's source and destination buckets; every object it writes or
 * deletes becomes the EventBridge event S3 would send, and goes through the same chain the stack
 * deploys (cli/onChangeChain.ts): the rule's pattern, the buffer, batches as the pipe forms them
 * (the stack's onChangeBatchWindowSeconds and onChangeMaxBatchKeys), the batch machine with its
 * onChangeMaxConcurrentRuns run slots, and one local sync run per batch. A burst of writes shows
 * it: each batch is printed as it starts and ends.
 */
import type { Command } from "commander";
import { setMaxListeners } from "node:events";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SyncRequest } from "../model/contract";
import type { BatchExecution, OnChangeChain } from "./onChangeChain";
import { EXIT } from "./exitCodes";

const ACCOUNT = "000000000000";

export interface WatchOptions {
  stack: string;
  /** Objects the burst writes into the source bucket. */
  burst: number;
  /** The batching window in seconds; the stack's own when absent. */
  windowSeconds?: number;
  log?: (line: string) => void;
}

/** Runs the watch: a burst, its batches, and a check that the destination holds every key. */
export async function runWatch(options: WatchOptions): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  // Loaded when the command runs: nothing heavy before a subcommand starts (cli/index.ts).
  const { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
  const { createS3Client } = await import("../handlers/engine/s3Client");
  const { compareCopy } = await import("../handlers/engine/faithfulCopy");
  const { parseStackConfig } = await import("../infra/config");
  const { bucketName } = await import("../infra/names");
  const { buildSyncRequest } = await import("../infra/syncRequest");
  const { onChangeEventPattern } = await import("../infra/triggers");
  const { stackConfig, projectName } = await import("../offline-pulumi/program");
  const { OnChangeChain: Chain, s3ObjectEvent } = await import("./onChangeChain");
  const { defaultReportDirectory } = await import("./sync");
  // Batches waiting for a run slot each hold an abort listener of the interpreter: many at once is
  // the point here, not a leak.
  setMaxListeners(1000);
  const config = parseStackConfig(stackConfig(options.stack), { project: projectName(), stack: options.stack, organization: "organization" });
  if (!config.syncMachine) throw new Error(`stack "${options.stack}" has no sync machine (syncMachine: false): nothing to watch`);
  const windowMs = (options.windowSeconds ?? config.onChangeBatchWindowSeconds) * 1000;
  const source = bucketName({ project: config.project, stack: "dev", accountId: ACCOUNT });
  const destination = bucketName({ ...config, accountId: ACCOUNT });
  const request: SyncRequest = buildSyncRequest(config, { sourceBucket: source, destinationBucket: destination });

  const { startEmbeddedS3 } = await import("../s3-server/embeddedS3");
  const { runLocalSync } = await import("./localSync");
  let chain: OnChangeChain | undefined;
  const pending: Array<Promise<BatchExecution>> = [];
  let windowTimer: NodeJS.Timeout | undefined;
  let batches = 0;
  const startBatch = () => {
    const batch = chain!.takeBatch();
    if (batch.length === 0) return;
    const number = ++batches;
    const started = performance.now();
    log(`batch ${number}: ${batch.length} events -> batch execution started`);
    pending.push(
      chain!.execute(batch).then((execution) => {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const details = execution.run?.details as { copied?: number; deleted?: number; onChange?: { keys: number; duplicates: number; scope: string } } | undefined;
        log(
          `batch ${number}: ${execution.status} in ${seconds} s` +
            (details ? ` - ${details.onChange?.keys ?? "?"} keys (${details.onChange?.duplicates ?? 0} duplicate events, ${details.onChange?.scope} run), copied ${details.copied ?? 0}, deleted ${details.deleted ?? 0}` : "") +
            (execution.error ? ` - ${execution.error}; its events are in the dead-letter queue` : ""),
        );
        return execution;
      }),
    );
  };
  // The pipe: a batch starts when it is full, or when the window since its first event ends.
  const onEvent = (event: unknown) => {
    if (!chain?.publish(event)) return;
    while (chain.buffer.length >= config.onChangeMaxBatchKeys) startBatch();
    if (chain.buffer.length > 0 && !windowTimer) {
      windowTimer = setTimeout(() => {
        windowTimer = undefined;
        while (chain!.buffer.length > 0) startBatch();
      }, windowMs);
    }
  };

  const server = await startEmbeddedS3({
    onObjectEvent: (record) =>
      onEvent(
        s3ObjectEvent({
          bucket: record.s3.bucket.name,
          key: record.s3.object.key,
          type: record.eventName.startsWith("ObjectRemoved") ? "Object Deleted" : "Object Created",
          reason: record.eventName.endsWith("Delete") ? "DeleteObject" : record.eventName.endsWith("Copy") ? "CopyObject" : "PutObject",
        }),
      ),
  });
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const client: S3Client = createS3Client({ endpoint: server.endpoint, credentials, region: server.region });
  try {
    for (const bucket of [source, destination]) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    chain = new Chain({
      request,
      eventPattern: onChangeEventPattern(source, ""),
      maxDeletes: config.onChangeMaxDeletes,
      maxBatchKeys: config.onChangeMaxBatchKeys,
      maxConcurrentRuns: config.onChangeMaxConcurrentRuns,
      runSync: async (input) => {
        const result = await runLocalSync({ request: input, endpoint: server.endpoint, credentials, region: server.region, report: { directory: defaultReportDirectory() } });
        const stats = result.summary?.stats;
        return { status: result.status, error: result.error, cause: result.cause, details: { copied: (stats?.copied ?? 0) + (stats?.updated ?? 0), deleted: stats?.deleted ?? 0, onChange: result.summary?.job.onChange } };
      },
    });
    log(`embedded S3 at ${server.endpoint}: ${source} -> ${destination}, stack "${options.stack}" (mode ${config.mode})`);
    log(
      `chain: rule -> buffer -> pipe (window ${windowMs / 1000} s, at most ${config.onChangeMaxBatchKeys} events) -> batch machine (${config.onChangeMaxConcurrentRuns} run slot${config.onChangeMaxConcurrentRuns === 1 ? "" : "s"}) -> sync run`,
    );
    log(`writing a burst of ${options.burst} objects into ${source}, one of them twice, and deleting one`);
    const keys = Array.from({ length: options.burst }, (_, i) => `burst/${String(i).padStart(6, "0")}.txt`);
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((key) => client.send(new PutObjectCommand({ Bucket: source, Key: key, Body: `content of ${key}` }))));
    }
    await client.send(new PutObjectCommand({ Bucket: source, Key: keys[0], Body: `content of ${keys[0]}, written again` }));
    await client.send(new PutObjectCommand({ Bucket: source, Key: "burst/short-lived.txt", Body: "here a moment" }));
    await client.send(new DeleteObjectCommand({ Bucket: source, Key: "burst/short-lived.txt" }));
    const expired = chain.publish(s3ObjectEvent({ bucket: source, key: "burst/old-version.txt", type: "Object Deleted", reason: "Lifecycle Expiration" }));
    log(`a lifecycle expiration of burst/old-version.txt: ${expired ? "buffered (wrong)" : "not buffered, as the rule says"}`);

    // Wait for the window to close and every batch to end.
    while (windowTimer || chain.buffer.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const executions = await Promise.all(pending);
    const check = await compareCopy(client, { bucket: source }, { bucket: destination }, { concurrency: 32 });
    const events = executions.reduce((sum, e) => sum + e.events, 0);
    const faithful = check.missing.length === 0 && check.changed.length === 0 && executions.every((e) => e.status === "SUCCEEDED");
    log(
      `\n${faithful ? "OK" : "NOT IN SYNC"}: ${events} events in ${executions.length} batch runs (at most ${chain.maxRunsAtOnce} at once), ` +
        `${chain.deadLetters.length} in the dead-letter queue; ${destination} holds all ${check.objects} objects of ${source}` +
        (check.missing.length ? `, except ${check.missing.slice(0, 5).join(", ")}` : ""),
    );
    return faithful ? EXIT.ok : EXIT.failed;
  } finally {
    if (windowTimer) clearTimeout(windowTimer);
    client.destroy();
    await server.stop();
  }
}

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("run a stack's on-change chain (buffer, batches, run slots, sync runs) on an embedded S3 server, and watch a burst of writes go through it")
    .requiredOption("--stack <stack>", "the stack whose Pulumi.<stack>.yaml settings to use, e.g. prod")
    .option("--burst <n>", "objects the burst writes", "2500")
    .option("--window <seconds>", "the batching window (default: the stack's onChangeBatchWindowSeconds)")
    .action(async (options: { stack: string; burst: string; window?: string }) => {
      const burst = Number(options.burst);
      if (!Number.isInteger(burst) || burst < 1) throw new Error(`--burst must be a whole number of at least 1, got ${JSON.stringify(options.burst)}`);
      const windowSeconds = options.window === undefined ? undefined : Number(options.window);
      if (windowSeconds !== undefined && (!Number.isInteger(windowSeconds) || windowSeconds < 0 || windowSeconds > 300)) {
        throw new Error(`--window must be a whole number of seconds from 0 to 300, got ${JSON.stringify(options.window)}`);
      }
      process.exitCode = await runWatch({ stack: options.stack, burst, windowSeconds });
    });
}
