import * as assert from "node:assert/strict";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Partition } from "../../model/contract";
import { createHandlers } from "../../handlers/index";
import { inRange } from "../../handlers/engine/keys";
import { validateRequest } from "../../handlers/engine/validation";
import { countingClient, listKeys, newBucket, putMany } from "../helpers/s3";
import { startS3rver } from "../servers/s3rver";
import type { RunningS3Server } from "../servers/types";

/**
 * The plan-partitions handler against the embedded S3: an Amplify-style bucket (most keys under
 * public/, a few per user under protected/<id>/ and private/<id>/) whose destination also holds
 * keys the source lacks.
 */
describe("plan-partitions on the embedded S3", function () {
  this.timeout(300_000);
  let s3: RunningS3Server;
  let client: S3Client;
  let counting: ReturnType<typeof countingClient>;
  let source: string;
  let destination: string;
  const PUBLIC = Array.from({ length: 1_080 }, (_, i) => `public/${(i * 7919).toString(16).padStart(6, "0")}-photo.jpg`);
  const USERS = Array.from({ length: 120 }, (_, i) => `${i % 2 ? "private" : "protected"}/us-east-1:${String(i).padStart(4, "0")}/file-${i % 3}.jpg`);
  const ONLY_IN_DESTINATION = Array.from({ length: 300 }, (_, i) => `zz-archive/${String(i).padStart(5, "0")}.gz`);

  before(async () => {
    s3 = await startS3rver();
    counting = countingClient(s3);
    client = counting.client;
    source = await newBucket(client, "plan-src");
    destination = await newBucket(client, "plan-dst");
    await putMany(client, source, [...PUBLIC, ...USERS]);
    await putMany(client, destination, [...PUBLIC.slice(0, 500), ...ONLY_IN_DESTINATION]);
  });

  after(async () => {
    await s3?.stop();
  });

  it("plans balanced ranges over source and destination keys, each key in exactly one", async () => {
    const handlers = createHandlers({ client });
    const job = validateRequest({ source: { bucket: source }, destination: { bucket: destination }, partitions: 8, minKeysPerPartition: 100 });
    counting.reset();
    const partitions: Partition[] = await handlers["plan-partitions"]({ job });
    const listCalls = countingClientCalls();
    const keys = [...new Set([...(await listKeys(client, source)), ...(await listKeys(client, destination))].map((o) => o.key))];
    assert.equal(keys.length, PUBLIC.length + USERS.length + ONLY_IN_DESTINATION.length);
    const perPartition = partitions.map(() => 0);
    for (const key of keys) {
      const owners = partitions.filter((p) => inRange(key, p.startAfter, p.endBefore));
      assert.equal(owners.length, 1, `${key} is in ${owners.length} partitions`);
      perPartition[owners[0].id]++;
    }
    assert.equal(partitions.length, 8);
    const share = keys.length / 8;
    assert.ok(Math.max(...perPartition) <= 1.5 * share, `keys per partition: ${perPartition.join(", ")}`);
    assert.ok(perPartition.slice(-2).some((n) => n > 0), "the destination-only keys at the end have partitions of their own");
    assert.ok(listCalls > 0 && listCalls <= 2 * (64 + 16 * 8), `${listCalls} list calls`);
  });

  it("plans only keys after startAfter", async () => {
    const handlers = createHandlers({ client });
    const startAfter = "public/";
    const job = validateRequest({ source: { bucket: source }, destination: { bucket: destination }, partitions: 4, minKeysPerPartition: 100, startAfter });
    const partitions = await handlers["plan-partitions"]({ job });
    assert.equal(partitions.find((p) => p.id === 0)?.startAfter, startAfter);
    const keys = [...PUBLIC, ...USERS, ...ONLY_IN_DESTINATION].filter((key) => key > startAfter);
    const perPartition = partitions.map((p) => keys.filter((key) => inRange(key, p.startAfter, p.endBefore)).length);
    assert.equal(perPartition.reduce((a, b) => a + b, 0), keys.length);
    assert.ok(Math.max(...perPartition) <= 1.5 * (keys.length / 4), perPartition.join(", "));
  });

  function countingClientCalls(): number {
    return counting.counts.ListObjectsV2Command ?? 0;
  }
});
