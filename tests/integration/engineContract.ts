/**
 * The engine contract: the same specs run against every real S3-compatible server the tests
 * start (the embedded s3rver and OpenStack Swift's s3api). A spec needing a feature the server
 * lacks is skipped with a message naming both.
 *
 * Every whole run takes the shipped path: the definition the program deploys, executed by the
 * local Step Functions runtime, each Task dispatched to the Lambda handlers over the spec's
 * (counting, sometimes failing) client. Only the report goes through a client the spec does not
 * count, and so do the partition records kept beside it: "writes nothing" means nothing in the
 * synced buckets.
 */
import * as assert from "node:assert/strict";
import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { SyncRequest, SyncStats, SyncSummary } from "../../model/contract";
import { ERROR_NAMES } from "../../handlers/engine/errors";
import { Copier, headObject } from "../../handlers/engine/objects";
import { syncRange } from "../../handlers/engine/syncRange";
import { validateRequest } from "../../handlers/engine/validation";
import { fingerprints } from "../../handlers/engine/faithfulCopy";
import { createHandlers } from "../../handlers/index";
import { s3RunRecords } from "../../handlers/engine/runRecords";
import { buildDefinition } from "../../infra/definition";
import { causeMessage } from "../../cli/sync";
import { localFunctionArns, runLocally, type HandlerTable, type LocalRunResult } from "../../local-stepfunctions/runner";
import { countingClient, getText, listKeys, newBucket, put, putMany, writes } from "../helpers/s3";
import type { RunningS3Server, ServerFeatures } from "../servers/types";
import { AWKWARD_KEYS } from "../helpers/keys";
import { stackIam } from "../helpers/iam";
import { startPrefixScopedProxy, type PrefixScopedProxy } from "../helpers/prefixScopedProxy";
import { s3ObjectStore } from "../../cli/localSync";

/** Waits past the one-second LastModified resolution of listings. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:bucket-sync-notifications" });
/** The error a delete approval's deny command sends (the approval message's `denyCommand`). */
const DELETES_DENIED = "BucketSync.DeletesDenied";

/** One run through the state machine: the interpreter's outcome and the last summary. */
interface MachineRun {
  result: LocalRunResult;
  summary: SyncSummary | undefined;
  /** The delete-approval requests the run published. */
  approvalRequests: Array<Record<string, unknown>>;
  /** The failed execution's message: the handler's errorMessage, or the Fail state's cause. */
  message: string;
}


/** Declares the contract suite for servers started by `start` (once for the whole suite). */
export function engineContract(
  serverName: string,
  start: () => Promise<RunningS3Server | undefined>,
  options: {
    /** Keys in the multi-page spec: more than two listing pages of 1000. */
    bulkKeys: number;
  },
): void {
  describe(`sync engine on ${serverName}`, function () {
    this.timeout(180_000);
    let server: RunningS3Server | undefined;
    let s3: ReturnType<typeof countingClient>;
    let client: S3Client;
    let reportClient: S3Client;
    let reportBucket: string;

    before(async function () {
      server = await start();
      if (!server) this.skip();
      s3 = countingClient(server);
      client = s3.client;
      reportClient = countingClient(server).client;
      reportBucket = await newBucket(reportClient, "reports");
    });

    /** Runs a request through the state machine with the handlers over `over`. */
    async function runMachine(
      over: S3Client,
      input: SyncRequest,
      approve: (message: Record<string, unknown>) => boolean = () => false,
    ): Promise<MachineRun> {
      // Partition results are kept beside the reports, through the uncounted client too.
      const handlers = createHandlers({ client: over, records: s3RunRecords(reportClient, { bucket: reportBucket, prefix: "reports/" }) });
      const reporting = createHandlers({ client: reportClient, reportBucket, reportPrefix: "reports/" });
      let summary: SyncSummary | undefined;
      const approvalRequests: Array<Record<string, unknown>> = [];
      const table: HandlerTable = {
        ...handlers,
        async summarize(event) {
          summary = await handlers.summarize(event);
          return summary;
        },
        "write-report": reporting["write-report"],
      };
      const result = await runLocally({
        definition: DEFINITION,
        functionArns: ARNS,
        handlers: table,
        objects: s3ObjectStore(reportClient),
        input,
        validate: false,
        // Every handler as the role the stack deploys for these buckets.
        iam: await stackIam(input, { reports: { bucket: reportBucket, prefix: "reports/" }, clients: [over, reportClient] }),
        async approve({ message }) {
          approvalRequests.push(message as Record<string, unknown>);
          return approve(message as Record<string, unknown>);
        },
      });
      return { result, summary, approvalRequests, message: causeMessage(result.cause) };
    }

    /** A run that must succeed; resolves with its final summary. */
    async function sync(input: SyncRequest, over: S3Client = client): Promise<SyncSummary> {
      const run = await runMachine(over, input);
      assert.equal(run.result.status, "SUCCEEDED", `${run.result.error}: ${run.message}`);
      assert.ok(run.summary, "the run summarized");
      return run.summary;
    }
    after(async () => server?.stop());

    function requireFeature(context: Mocha.Context, feature: keyof ServerFeatures): void {
      if (!server?.features[feature]) {
        console.log(`      skipped on ${serverName}: the server has no ${feature}`);
        context.skip();
      }
    }

    async function buckets(): Promise<{ source: string; destination: string }> {
      return { source: await newBucket(client, "src"), destination: await newBucket(client, "dst") };
    }

    function request(source: string, destination: string, extra: Partial<SyncRequest> = {}): SyncRequest {
      return { source: { bucket: source }, destination: { bucket: destination }, ...extra };
    }

    function counts(stats: SyncStats): Partial<SyncStats> {
      return Object.fromEntries(Object.entries(stats).filter(([name, value]) => value !== 0 && name !== "bytes"));
    }

    it("copies awkward keys and zero-byte objects faithfully, then a second run writes nothing and only lists", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, AWKWARD_KEYS);
      await put(client, source, "empty", "");
      await put(client, source, "dir/empty-too", Buffer.alloc(0), {
        ContentType: "text/plain",
        CacheControl: "max-age=60",
        Metadata: { owner: "team-a" },
      });
      await settle(); // copies made in the second of their source's write are inspected (planner.ts)

      const first = await sync(request(source, destination, { partitions: 4 }));
      assert.equal(first.stats.copied, AWKWARD_KEYS.length + 2);
      assert.equal(first.stats.failed, 0, JSON.stringify(first.failures));
      assert.deepEqual(await fingerprints(client, { bucket: destination }), await fingerprints(client, { bucket: source }));
      assert.equal(await getText(client, destination, "q?mark"), "content of q?mark");

      s3.reset();
      const second = await sync(request(source, destination, { partitions: 4 }));
      assert.deepEqual(counts(second.stats), {
        sourceObjects: AWKWARD_KEYS.length + 2,
        destinationObjects: AWKWARD_KEYS.length + 2,
        unchanged: AWKWARD_KEYS.length + 2,
      });
      const requests = Object.keys(s3.counts).sort();
      assert.deepEqual(requests, ["ListObjectsV2Command"], JSON.stringify(s3.counts));
    });

    it(`pages through ${options.bulkKeys} keys in several partitions and resumes a range from its cursor`, async () => {
      const { source, destination } = await buckets();
      const total = options.bulkKeys;
      const keys = Array.from({ length: total }, (_, i) => `p${i % 7}/k${String(i).padStart(5, "0")}`);
      await putMany(client, source, keys);
      const job = validateRequest(request(source, destination, { concurrency: 16 }));
      // A clock that passes the time budget whenever 1000 more objects have been copied: the call
      // starts no object after that, lets the (at most 16) copies in flight finish, and returns
      // the last key before which everything is handled, not done.
      let now = 0;
      let copies = 0;
      const clock = () => now;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const output = await next(args);
          if (context.commandName === "CopyObjectCommand" && ++copies % 1000 === 0) now += job.timeBudgetSeconds * 1000;
          return output;
        },
        { step: "initialize", name: "budgetClock" },
      );
      const sorted = keys.slice().sort();
      let result = await syncRange(client, { job, partition: { id: 0 }, phase: "copy" }, { clock });
      assert.equal(result.done, false);
      assert.ok(result.stats.copied >= 1000 && result.stats.copied < 1000 + 16, `${result.stats.copied} copied`);
      assert.equal(result.cursor, sorted[result.stats.copied - 1]);
      let calls = 1;
      while (!result.done) {
        result = await syncRange(
          client,
          { job, partition: { id: 0 }, phase: "copy", cursor: result.cursor, stats: result.stats },
          { clock },
        );
        calls++;
      }
      client.middlewareStack.remove("budgetClock");
      assert.ok(calls <= Math.ceil(total / 1000), `${calls} calls`);
      assert.equal(result.stats.copied, total);
      assert.equal(result.stats.sourceObjects, total);
      const copied = await listKeys(client, destination);
      assert.deepEqual(
        copied.map((o) => o.key),
        keys.slice().sort(),
      );

      const again = await sync(request(source, destination, { partitions: 5 }));
      assert.equal(again.stats.unchanged, total);
      assert.equal(again.stats.sourceObjects, total);
    });

    it("updates changed content (same size and new size) and changed metadata", async () => {
      const { source, destination } = await buckets();
      await put(client, source, "same-size", "aaaa");
      await put(client, source, "grows", "x");
      await put(client, source, "meta", "m", { ContentType: "text/plain", Metadata: { colour: "red" } });
      await put(client, source, "steady", "s");
      await sync(request(source, destination));
      await settle();

      await put(client, source, "same-size", "bbbb");
      await put(client, source, "grows", "xyz");
      await client.send(
        new CopyObjectCommand({
          Bucket: source,
          Key: "meta",
          CopySource: `${source}/meta`,
          MetadataDirective: "REPLACE",
          ContentType: "text/csv",
          CacheControl: "no-cache",
          Metadata: { colour: "blue" },
        }),
      );
      const summary = await sync(request(source, destination));
      assert.deepEqual(counts(summary.stats), { sourceObjects: 4, destinationObjects: 4, updated: 3, unchanged: 1 });
      const reasons = Object.fromEntries(summary.changes.map((c) => [c.key, c.reason]));
      assert.deepEqual(reasons, { grows: "size", meta: "metadata", "same-size": "content" });
      assert.deepEqual(await fingerprints(client, { bucket: destination }), await fingerprints(client, { bucket: source }));
    });

    it("copies large objects part by part, recognises the multipart copy as current, and leaves no upload behind on failure", async function () {
      requireFeature(this, "uploadPartCopy");
      const { source, destination } = await buckets();
      const big = Buffer.alloc(12 * 1024 * 1024 + 17, 7);
      big.write("head-of-a-large-object");
      await put(client, source, "large/object.bin", big, { ContentType: "application/x-test", Metadata: { kind: "big" } });
      const settings = { multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 };

      const first = await sync(request(source, destination, settings));
      assert.equal(first.stats.copied, 1);
      const copied = await client.send(new HeadObjectCommand({ Bucket: destination, Key: "large/object.bin" }));
      assert.match(copied.ETag ?? "", /-3"?$/, "three parts of 5 MiB");
      assert.equal(copied.ContentType, "application/x-test");
      assert.deepEqual(await fingerprints(client, { bucket: destination }), await fingerprints(client, { bucket: source }));

      s3.reset();
      const second = await sync(request(source, destination, settings));
      assert.equal(second.stats.unchanged, 1, "the recorded source ETag identifies the multipart copy");
      assert.equal(writes(s3.counts), 0);

      // Same size, new content: the recorded ETag no longer matches, so the copy is updated.
      await settle();
      big.write("head-of-a-CHANGED-object!");
      await put(client, source, "large/object.bin", big, { ContentType: "application/x-test", Metadata: { kind: "big" } });
      const changed = await sync(request(source, destination, settings));
      assert.deepEqual(changed.changes.map((c) => `${c.action}:${c.reason}`), ["update:content"]);
      assert.deepEqual(await fingerprints(client, { bucket: destination }), await fingerprints(client, { bucket: source }));

      // A part copy fails: the upload is aborted, nothing is left half-written.
      const failing = countingClient(server as RunningS3Server);
      let partCopies = 0;
      failing.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === "UploadPartCopyCommand" && ++partCopies === 2) {
            throw Object.assign(new Error("injected part failure"), { name: "InternalError", $retryable: undefined });
          }
          return next(args);
        },
        { step: "initialize", name: "failSecondPart" },
      );
      const copier = new Copier(failing.client, settings);
      const objects = await listKeys(client, source);
      await assert.rejects(
        copier.copy({
          sourceBucket: source,
          sourceKey: "large/object.bin",
          destinationBucket: destination,
          destinationKey: "large/failed.bin",
          size: objects[0].size,
          etag: objects[0].etag.replace(/"/g, ""),
        }),
        /injected part failure/,
      );
      assert.equal(failing.counts.AbortMultipartUploadCommand, 1);
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: destination }));
      assert.deepEqual(uploads.Uploads ?? [], []);
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["large/object.bin"],
      );
    });

    it("backup keeps extra objects; mirror deletes them only after copying", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["keep/1", "keep/2", "new"]);
      await putMany(client, destination, ["keep/1", "keep/2", "old/1", "old/2"]);

      const backup = await sync(request(source, destination));
      assert.deepEqual(counts(backup.stats), { sourceObjects: 3, destinationObjects: 4, copied: 1, extra: 2, unchanged: 2 });
      assert.equal(backup.deleteDecision, "no-deletes");
      assert.equal((await listKeys(client, destination)).length, 5);

      const mirror = await sync(request(source, destination, { mode: "mirror", maxDeletes: 2 }));
      assert.equal(mirror.stats.deleted, 2);
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["keep/1", "keep/2", "new"],
      );
    });

    it("mirror refuses to delete more than maxDeletes (count or share) and deletes nothing", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["a"]);
      await putMany(client, destination, ["a", "x1", "x2", "x3"]);
      // Over the limit the machine asks a human, naming the planned deletes and the limit; a denial
      // fails the run with nothing deleted.
      const byCount = await runMachine(client, request(source, destination, { mode: "mirror", maxDeletes: 2 }));
      assert.equal(byCount.result.status, "FAILED");
      assert.equal(byCount.result.error, DELETES_DENIED);
      assert.deepEqual(
        byCount.approvalRequests.map((m) => [m.plannedDeletes, m.deleteLimit]),
        [[3, 2]],
      );
      const byShare = await runMachine(client, request(source, destination, { mode: "mirror", maxDeletes: "50%" }));
      assert.equal(byShare.result.status, "FAILED");
      assert.equal(byShare.result.error, DELETES_DENIED);
      assert.deepEqual(
        byShare.approvalRequests.map((m) => [m.plannedDeletes, m.deleteLimit]),
        [[3, 2]],
      );
      assert.equal((await listKeys(client, destination)).length, 4);
      const approvedRun = await runMachine(
        client,
        request(source, destination, { mode: "mirror", maxDeletes: "50%" }),
        (message) => message.plannedDeletes === 3,
      );
      assert.equal(approvedRun.result.status, "SUCCEEDED", approvedRun.message);
      const approved = approvedRun.summary!;
      assert.equal(approved.stats.deleted, 3);
    });

    it("mirror deletes nothing when a copy failed", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["ok", "fails"]);
      await putMany(client, destination, ["extra"]);
      const failing = countingClient(server as RunningS3Server);
      failing.client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string };
          if (context.commandName === "CopyObjectCommand" && input.Key === "fails") {
            throw Object.assign(new Error("injected copy failure"), { name: "AccessDenied" });
          }
          return next(args);
        },
        { step: "initialize", name: "failOneCopy" },
      );
      const run = await runMachine(failing.client, request(source, destination, { mode: "mirror", maxDeletes: 10 }));
      assert.equal(run.result.status, "FAILED", "a run with failed copies fails after its report");
      const summary = run.summary!;
      assert.equal(summary.deleteDecision, "blocked-by-failures");
      assert.equal(summary.stats.failed, 1);
      assert.equal(summary.failures[0].key, "fails");
      assert.equal(failing.counts.DeleteObjectsCommand, undefined);
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["extra", "ok"],
      );
    });

    it("two-way copies what is missing on each side and reports conflicts unless newer-wins", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["only-source", "both-same"]);
      await putMany(client, destination, ["only-destination", "both-same"]);
      await put(client, source, "conflict", "source version");
      await settle();
      await put(client, destination, "conflict", "destination version!");

      const report = await sync(request(source, destination, { mode: "two-way" }));
      assert.equal(report.stats.copied, 1);
      assert.equal(report.stats.copiedToSource, 1);
      assert.equal(report.stats.conflicts, 1);
      assert.deepEqual(report.changes.find((c) => c.action === "conflict")?.key, "conflict");
      assert.equal(await getText(client, source, "conflict"), "source version");
      assert.equal(await getText(client, destination, "conflict"), "destination version!");
      assert.equal(await getText(client, source, "only-destination"), "content of only-destination");

      const newer = await sync(request(source, destination, { mode: "two-way", conflictPolicy: "newer-wins" }));
      assert.equal(newer.stats.copiedToSource, 1);
      assert.equal(await getText(client, source, "conflict"), "destination version!");
      const settled = await sync(request(source, destination, { mode: "two-way" }));
      assert.equal(settled.stats.unchanged, 4);
    });

    it("maps a source prefix to a destination prefix and touches nothing outside them", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["dev/a", "dev/b/c", "other/x"]);
      await putMany(client, destination, ["backup/dev/stale", "unrelated/y"]);
      const summary = await sync(request(source, destination, {
          source: { bucket: source, prefix: "dev/" },
          destination: { bucket: destination, prefix: "backup/dev/" },
          mode: "mirror",
          maxDeletes: 1,
        }),
      );
      assert.deepEqual(counts(summary.stats), { sourceObjects: 2, destinationObjects: 1, copied: 2, deleted: 1, extra: 1 });
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["backup/dev/a", "backup/dev/b/c", "unrelated/y"],
      );
    });

    it("a dry run plans the same changes and writes nothing", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["new", "same"]);
      await putMany(client, destination, ["same", "extra"]);
      s3.reset();
      const summary = await sync(request(source, destination, { mode: "mirror", dryRun: true, maxDeletes: 0 }));
      assert.equal(writes(s3.counts), 0);
      assert.equal(summary.stats.copied, 1);
      assert.equal(summary.plannedDeletes, 1);
      assert.equal(summary.deleteDecision, "no-deletes");
      assert.deepEqual(
        summary.changes.map((c) => `${c.action}:${c.key}`).sort(),
        ["copy:new", "delete:extra"],
      );
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["extra", "same"],
      );
    });

    it("syncs only the given keys in a key-scoped run", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["k/1", "k/2", "k/3"]);
      await putMany(client, destination, ["k/gone"]);
      const summary = await sync(request(source, destination, { keys: ["k/2", "k/gone", "k/missing-everywhere"], mode: "mirror", maxDeletes: 1 }),
      );
      assert.equal(summary.stats.copied, 1);
      assert.equal(summary.stats.deleted, 1);
      assert.deepEqual(
        (await listKeys(client, destination)).map((o) => o.key),
        ["k/2"],
      );
    });

    describe("with a role that may list only under the prefixes (S3 answers 403, not 404, on a missing key)", () => {
      let proxy: PrefixScopedProxy;
      let scoped: ReturnType<typeof countingClient>;
      let source: string;
      let destination: string;

      beforeEach(async () => {
        ({ source, destination } = await buckets());
        proxy = await startPrefixScopedProxy(server!.endpoint, { [source]: "data/", [destination]: "backup/" });
        scoped = countingClient({ ...server!, endpoint: proxy.endpoint });
      });
      afterEach(async () => {
        scoped.client.destroy();
        await proxy.close();
      });

      const prefixes = { source: "data/", destination: "backup/" };
      const scopedRequest = (extra: Partial<SyncRequest>): SyncRequest => ({
        source: { bucket: source, prefix: prefixes.source },
        destination: { bucket: destination, prefix: prefixes.destination },
        ...extra,
      });

      it("a key-scoped run copies not-yet-copied keys, deletes a key gone from the source and skips one present nowhere", async () => {
        await putMany(client, source, ["data/k/1", "data/k/2"]);
        await putMany(client, destination, ["backup/k/2", "backup/k/gone"]);
        const summary = await sync(scopedRequest({ keys: ["k/1", "k/gone", "k/nowhere"], mode: "mirror", maxDeletes: 1 }), scoped.client);
        assert.equal(summary.stats.failed, 0, JSON.stringify(summary.failures));
        assert.deepEqual(counts(summary.stats), { sourceObjects: 1, destinationObjects: 1, copied: 1, extra: 1, deleted: 1 });
        assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["backup/k/1", "backup/k/2"]);
        assert.ok(proxy.stats.missingAsForbidden >= 3, `missing keys answered 403: ${proxy.stats.missingAsForbidden}`);
        assert.equal(proxy.stats.outsideScope, 0, "the engine stays inside its prefixes");
      });

      it("a full run lists and copies under the prefixes only", async () => {
        await putMany(client, source, ["data/a", "data/b/c", "elsewhere/x"]);
        const summary = await sync(scopedRequest({}), scoped.client);
        assert.equal(summary.stats.copied, 2, JSON.stringify(summary));
        assert.deepEqual((await listKeys(client, destination)).map((o) => o.key), ["backup/a", "backup/b/c"]);
        assert.equal(proxy.stats.outsideScope, 0);
      });

      it("a 403 on a key that does exist stays a denial, never taken for a missing object", async () => {
        await putMany(client, destination, ["other/private"]);
        await assert.rejects(headObject(scoped.client, destination, "other/private"), (err: Error) => {
          assert.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
          return true;
        });
        assert.equal(await headObject(scoped.client, destination, "backup/not-there"), undefined);
      });
    });

    it("rejects bad requests with an error naming the problem, before any write", async () => {
      const { source, destination } = await buckets();
      await putMany(client, source, ["a"]);
      s3.reset();
      const cases: Array<[SyncRequest, RegExp]> = [
        [request(source, source), /overlap/],
        [{ source: { bucket: source, prefix: "dev/" }, destination: { bucket: source, prefix: "dev/backup/" } }, /overlap/],
        [request("", destination), /source bucket name is empty/],
        [request(source, "Bad_Name"), /destination bucket name "Bad_Name" is invalid/],
        [request(source, "no-such-bucket-here"), /destination bucket "no-such-bucket-here" does not exist/],
        [request(source, destination, { mode: "sideways" as never }), /mode "sideways" is unknown/],
        [request(source, destination, { maxDeletes: "lots" }), /maxDeletes "lots" is invalid/],
      ];
      for (const [bad, message] of cases) {
        const run = await runMachine(client, bad);
        assert.equal(run.result.status, "FAILED");
        assert.equal(run.result.error, ERROR_NAMES.validation, run.message);
        assert.match(run.message, message);
      }
      assert.equal(writes(s3.counts), 0);
      assert.equal((await listKeys(client, destination)).length, 0);
    });
  });
}
