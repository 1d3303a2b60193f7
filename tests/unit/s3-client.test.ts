/**
 * The engine's S3 client: how each compatibility mode configures the SDK, and the Content-MD5
 * header DeleteObjects carries in `generic` mode. Requests are built by the real SDK middleware
 * stack and inspected just before they would be sent; nothing goes over the network.
 */
import { strict as assert } from "node:assert";
import { DeleteObjectsCommand, type S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { createS3Client } from "../../handlers/engine/s3Client";

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };

/** The HTTP request `client` would send for a DeleteObjects of two keys. */
async function builtDeleteObjects(client: S3Client): Promise<{ headers: Record<string, string>; body: string }> {
  let captured: { headers: Record<string, string>; body: string } | undefined;
  client.middlewareStack.add(
    () => async (args) => {
      captured = args.request as { headers: Record<string, string>; body: string };
      throw Object.assign(new Error("captured"), { name: "Captured" });
    },
    { step: "finalizeRequest", priority: "low", name: "captureRequest" },
  );
  await assert.rejects(client.send(new DeleteObjectsCommand({ Bucket: "b", Delete: { Objects: [{ Key: "a" }, { Key: "b+c" }] } })), /captured/);
  assert.ok(captured, "the request was built");
  return captured;
}

describe("createS3Client", () => {
  it("uses path-style addressing and checksums only where required when given an endpoint (generic)", async () => {
    const client = createS3Client({ endpoint: "http://127.0.0.1:9", credentials: CREDENTIALS, maxAttempts: 1 });
    assert.equal(client.config.forcePathStyle, true);
    assert.equal(await client.config.requestChecksumCalculation(), "WHEN_REQUIRED");
    assert.equal(await client.config.responseChecksumValidation(), "WHEN_REQUIRED");
    const retryMode = client.config.retryMode;
    assert.equal(typeof retryMode === "function" ? await retryMode() : retryMode, "adaptive");
    client.destroy();
  });

  it("keeps the SDK's defaults for AWS", async () => {
    const client = createS3Client({ region: "eu-west-1", credentials: CREDENTIALS, maxAttempts: 1 });
    assert.equal(client.config.forcePathStyle, false);
    assert.equal(await client.config.requestChecksumCalculation(), "WHEN_SUPPORTED");
    assert.equal(await client.config.region(), "eu-west-1");
    assert.equal(await client.config.maxAttempts(), 1);
    client.destroy();
  });

  it("adds Content-MD5 of the body to DeleteObjects in generic mode, as Swift and older stores demand", async () => {
    const client = createS3Client({ endpoint: "http://127.0.0.1:9", credentials: CREDENTIALS, maxAttempts: 1 });
    const { headers, body } = await builtDeleteObjects(client);
    assert.equal(headers["content-md5"], createHash("md5").update(body).digest("base64"));
    client.destroy();
  });

  it("leaves DeleteObjects to the SDK's own checksum for AWS", async () => {
    const client = createS3Client({ credentials: CREDENTIALS, maxAttempts: 1 });
    const { headers } = await builtDeleteObjects(client);
    assert.equal(headers["content-md5"], undefined);
    client.destroy();
  });

  it("rejects an unknown compatibility mode, naming the ones there are", () => {
    assert.throws(() => createS3Client({ compatibility: "minio" as never }), /unknown S3 compatibility mode "minio": use aws or generic/);
  });
});
