/**
 * Restore through the local state machine (the definition the stack deploys, its Lambda tasks
 * dispatched to the handlers) against real versioned stores: the embedded server and, where
 * installed, OpenStack Swift's s3api. Versions are chosen by ListObjectVersions at asOf and
 * copied by version id; a restore outside its grant is refused before any write.
 */
import { restoreIam } from "../../cli/stackIam";
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { type LocalSyncResult, runLocalSync } from "../../cli/localSync";
import type { SyncRequest } from "../../model/contract";
import { createS3Client } from "../../handlers/engine/s3Client";
import { startS3rverProcess } from "../servers/s3rver";
import { startSwift, swiftUnavailableReason } from "../servers/swift";
import type { RunningS3Server, S3Endpoint } from "../servers/types";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Tier {
  name: string;
  start(): Promise<(S3Endpoint & { stop(): Promise<void> }) | undefined>;
  /** Pause around an asOf: the store's LastModified resolution. */
  resolutionMs: number;
}

const TIERS: Tier[] = [
  { name: "s3rver (embedded)", start: startS3rverProcess, resolutionMs: 20 },
  {
    name: "OpenStack Swift s3api",
    resolutionMs: 1100, // s3api lists LastModified in whole seconds
    async start(): Promise<RunningS3Server | undefined> {
      const unavailable = swiftUnavailableReason();
      if (unavailable) {
        if (process.env.CI === "true") throw new Error(`OpenStack Swift s3api is required in CI: ${unavailable}`);
        console.log(`      skipped: OpenStack Swift s3api tier: ${unavailable}`);
        return undefined;
      }
      return startSwift();
    },
  },
];

for (const tier of TIERS) {
  describe(`restore through the local state machine on ${tier.name}`, function () {
    this.timeout(180_000);
    let server: (S3Endpoint & { stop(): Promise<void> }) | undefined;
    let client: S3Client;
    let reports: string;
    let count = 0;

    before(async function () {
      server = await tier.start();
      if (!server) return this.skip();
      client = createS3Client({ endpoint: server.endpoint, region: server.region, credentials: server, compatibility: "generic" });
      reports = await mkdtemp(join(tmpdir(), "restore-records-"));
    });
    after(async () => {
      client?.destroy();
      await server?.stop();
      if (reports) await rm(reports, { recursive: true, force: true });
    });

    async function bucket(label: string, versioned: boolean): Promise<string> {
      const name = `${label}-${process.pid}-${count++}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      if (versioned) await client.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }));
      return name;
    }
    const put = (b: string, key: string, body: string) => client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }));
    async function contents(b: string, prefix = ""): Promise<Record<string, string>> {
      const page = await client.send(new ListObjectsV2Command({ Bucket: b, Prefix: prefix || undefined }));
      const found: Record<string, string> = {};
      for (const item of page.Contents ?? []) {
        const object = await client.send(new GetObjectCommand({ Bucket: b, Key: item.Key }));
        found[item.Key!.slice(prefix.length)] = await object.Body!.transformToString();
      }
      return found;
    }
    async function moment(): Promise<string> {
      await pause(tier.resolutionMs);
      const at = new Date().toISOString();
      await pause(tier.resolutionMs);
      return at;
    }
    // Every restore runs as the restore role the stack deploys (cli/stackIam.ts restoreIam).
    const run = async (request: SyncRequest, restoreTarget?: { bucket: string; prefix?: string }): Promise<LocalSyncResult> =>
      runLocalSync({
        iam: await restoreIam({ backup: request.source, target: restoreTarget ?? request.destination, reports: { directory: reports } }),
        request,
        endpoint: server!.endpoint,
        credentials: server!,
        region: server!.region,
        compatibility: "generic",
        report: { directory: reports },
        restoreTarget,
      });

    it("restores the versions current at asOf into a scratch prefix, rewrites and deletes after it undone", async () => {
      const backup = await bucket("backup", true);
      const scratch = await bucket("scratch", false);
      for (const key of ["a", "b/c", "key with space", "gone"]) await put(backup, key, `v1 ${key}`);
      await put(backup, "a", "v2 a");
      const asOf = await moment();
      await put(backup, "a", "v3 a");
      await put(backup, "b/c", "v2 b/c");
      await client.send(new DeleteObjectCommand({ Bucket: backup, Key: "gone" }));
      await put(backup, "later", "new");

      const result = await run({ source: { bucket: backup }, destination: { bucket: scratch, prefix: "drill/" }, mode: "restore", asOf });

      assert.equal(result.status, "SUCCEEDED", result.cause);
      assert.deepEqual(await contents(scratch, "drill/"), { a: "v2 a", "b/c": "v1 b/c", gone: "v1 gone", "key with space": "v1 key with space" });
      assert.equal(result.summary?.stats.copied, 4);
    });

    it("refuses a destination outside the restore role's grant before any write", async () => {
      const backup = await bucket("backup", true);
      const scratch = await bucket("scratch", false);
      await put(backup, "a", "x");
      const asOf = await moment();

      const result = await run(
        { source: { bucket: backup }, destination: { bucket: scratch, prefix: "elsewhere/" }, mode: "restore", asOf },
        { bucket: scratch, prefix: "restored/" },
      );

      assert.equal(result.status, "FAILED");
      assert.equal(result.error, "ValidationError");
      assert.match(result.cause ?? "", /destination s3:\/\/scratch-\S+\/elsewhere\/ is outside the restore role's grant s3:\/\/scratch-\S+\/restored\//);
      assert.deepEqual(await contents(scratch), {});
    });
  });
}
