/**
 * The delete ledger on OpenStack Swift's s3api, which refuses conditional PutObject (501
 * NotImplemented, "Conditional object PUTs are not supported."): the budget fails closed there,
 * naming the reason, rather than spending without the guarantee that two runs cannot overspend.
 */
import { strict as assert } from "node:assert";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { reserveDeletes } from "../../handlers/engine/deleteBudget";
import { createS3Client } from "../../handlers/engine/s3Client";
import { startSwift, swiftUnavailableReason } from "../servers/swift";
import type { RunningS3Server } from "../servers/types";

describe("the delete ledger on OpenStack Swift s3api", function () {
  this.timeout(180_000);
  let server: RunningS3Server | undefined;
  let client: S3Client;

  before(async function () {
    const reason = swiftUnavailableReason();
    if (reason && process.env.CI === "true") throw new Error(reason);
    if (reason) {
      console.log(`      skipped: OpenStack Swift s3api tier: ${reason}`);
      this.skip();
    }
    server = await startSwift();
    client = createS3Client({ endpoint: server.endpoint, region: server.region, credentials: server, compatibility: "generic" });
    await client.send(new CreateBucketCommand({ Bucket: "reports" }));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it("fails closed, naming the missing conditional writes, and records nothing", async () => {
    const budget = { bucket: "reports", key: "ledger.json", perDay: { count: 100 } };
    await assert.rejects(
      reserveDeletes(client, budget, { run: "r", deletes: 5 }),
      /cannot be written conditionally \(the store refuses If-Match\/If-None-Match on PutObject\).*so nothing is deleted/,
    );
  });
});
