import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { startSwift, SWIFT_SERVER_NAME, swiftUnavailableReason } from "../servers/swift";
import type { RunningS3Server } from "../servers/types";
import { AWKWARD_KEYS } from "../helpers/keys";

const EMPTY_KEY = "zero-byte";
const ALL_KEYS = [...AWKWARD_KEYS, EMPTY_KEY];
const MiB = 1024 * 1024;

/** S3 lists keys in the byte order of their UTF-8 encoding, not in UTF-16 or locale order. */
function utf8Sorted(keys: string[]): string[] {
  return [...keys].sort((x, y) => Buffer.compare(Buffer.from(x, "utf8"), Buffer.from(y, "utf8")));
}

/** `bucket/key` for CopySource, each path segment percent-encoded (safe for `+ ? # %`). */
function copySource(bucket: string, key: string): string {
  return [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
}

/**
 * Swift's s3api rejects DeleteObjects without Content-MD5, while SDK v3 sends only a CRC32
 * checksum. Adds the MD5 of the serialized body before signing.
 */
function addContentMd5ToDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && request.headers && request.body != null) {
        const body = request.body as string | Uint8Array;
        request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
      }
      return next(args);
    },
    { step: "build", name: "addContentMd5ToDeleteObjects" },
  );
}

async function listAll(
  client: S3Client,
  input: { Bucket: string; MaxKeys?: number; StartAfter?: string },
): Promise<ListObjectsV2CommandOutput[]> {
  const pages: ListObjectsV2CommandOutput[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ ...input, ContinuationToken }));
    pages.push(page);
    ContinuationToken = page.NextContinuationToken;
    assert.equal(Boolean(ContinuationToken), page.IsTruncated === true, "token iff truncated");
  } while (ContinuationToken);
  return pages;
}

const keysOf = (pages: ListObjectsV2CommandOutput[]) =>
  pages.flatMap((page) => (page.Contents ?? []).map((object) => object.Key!));

describe(SWIFT_SERVER_NAME, function () {
  this.timeout(120_000);
  const bucket = "awkward-keys";
  let server: RunningS3Server | undefined;
  let client: S3Client;

  before(async function () {
    const reason = swiftUnavailableReason();
    if (reason && process.env.CI === "true") throw new Error(reason);
    if (reason) {
      console.warn(`    skipped: ${reason}`);
      this.skip();
    }
    server = await startSwift();
    client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      forcePathStyle: true,
      // s3api answers the aws-chunked uploads that flexible checksums cause with 501.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    addContentMd5ToDeleteObjects(client);

    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of AWKWARD_KEYS) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
    }
    // An explicit length: the SDK sends none for an empty body (and warns about streams).
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: EMPTY_KEY, Body: "", ContentLength: 0 }));
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it("lists every key, the zero-byte one included, in UTF-8 byte order", async () => {
    const pages = await listAll(client, { Bucket: bucket });

    assert.deepEqual(keysOf(pages), utf8Sorted(ALL_KEYS));
    const sizes = new Map(pages.flatMap((p) => p.Contents ?? []).map((o) => [o.Key!, o.Size]));
    assert.equal(sizes.get(EMPTY_KEY), 0);
    assert.equal(sizes.get("é"), Buffer.byteLength("body of é"));
  });

  it("pages by MaxKeys 2 with continuation tokens, exactly", async () => {
    const pages = await listAll(client, { Bucket: bucket, MaxKeys: 2 });

    assert.equal(pages.length, Math.ceil(ALL_KEYS.length / 2));
    for (const page of pages) assert.ok((page.KeyCount ?? 0) <= 2);
    assert.deepEqual(keysOf(pages), utf8Sorted(ALL_KEYS));
  });

  it("starts after StartAfter, across pages", async () => {
    const sorted = utf8Sorted(ALL_KEYS);
    const startAfter = "a/b";

    const pages = await listAll(client, { Bucket: bucket, MaxKeys: 2, StartAfter: startAfter });

    assert.deepEqual(keysOf(pages), sorted.slice(sorted.indexOf(startAfter) + 1));
  });

  it("groups keys under CommonPrefixes with Delimiter / at the root", async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/" }));

    const prefixes = (page.CommonPrefixes ?? []).map((p) => p.Prefix);
    assert.deepEqual(prefixes, utf8Sorted(["a/", "trailing/", "ü/"]));
    const keys = (page.Contents ?? []).map((o) => o.Key);
    assert.deepEqual(keys, utf8Sorted(ALL_KEYS.filter((k) => !k.includes("/"))));
  });

  it("copies every awkward key with a per-segment encoded CopySource", async () => {
    for (const key of AWKWARD_KEYS) {
      const target = `copies/${key}`;

      await client.send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: copySource(bucket, key) }));

      const copy = await client.send(new GetObjectCommand({ Bucket: bucket, Key: target }));
      assert.equal(await copy.Body!.transformToString(), `body of ${key}`, `copy of ${JSON.stringify(key)}`);
    }
  });

  it("gives a multipart upload an ETag ending in -<part count>", async () => {
    const key = "multipart/uploaded";
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.from("last part")];
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));

    const uploaded = [];
    for (const [i, Body] of parts.entries()) {
      const PartNumber = i + 1;
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body }));
      uploaded.push({ ETag, PartNumber });
    }
    const done = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: uploaded } }),
    );

    assert.match(done.ETag ?? "", /^"[0-9a-f]{32}-2"$/);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ETag, done.ETag);
    assert.equal(head.ContentLength, 5 * MiB + parts[1].length);
  });

  it("builds a multipart object from UploadPartCopy parts, ranged and whole", async () => {
    const source = "multipart/source of 5 MiB";
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: source, Body: Buffer.alloc(5 * MiB, 2) }));
    const key = "multipart/copied";
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));

    const whole = await client.send(
      new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, CopySource: copySource(bucket, source) }),
    );
    const ranged = await client.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: 2,
        CopySource: copySource(bucket, "q?mark"),
        CopySourceRange: "bytes=0-6",
      }),
    );
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: whole.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: ranged.CopyPartResult?.ETag },
          ],
        },
      }),
    );

    assert.match(done.ETag ?? "", /-2"$/);
    const body = Buffer.from(
      await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
    );
    assert.equal(body.length, 5 * MiB + 7);
    assert.equal(body.subarray(5 * MiB).toString(), "body of");
  });

  it("deletes a batch with DeleteObjects once Content-MD5 is sent", async () => {
    const keys = ["delete/one", "delete/two ?#", "delete/é"];
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "x" }));

    const result = await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );

    assert.deepEqual(result.Errors ?? [], []);
    assert.deepEqual((result.Deleted ?? []).map((d) => d.Key).sort(), [...keys].sort());
    const left = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "delete/" }));
    assert.equal(left.KeyCount, 0);
  });

  it("returns the standard and user metadata headers that were put", async () => {
    const key = "metadata/all headers";
    const expires = new Date("2030-01-02T03:04:05Z");

    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: "gzipped, supposedly",
        ContentType: "text/plain; charset=utf-8",
        CacheControl: "max-age=60, public",
        ContentDisposition: 'attachment; filename="report.txt"',
        ContentEncoding: "gzip",
        ContentLanguage: "de-CH",
        Expires: expires,
        Metadata: { owner: "team-a", "mixed-case": "Value With Spaces" },
      }),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

    assert.equal(head.ContentType, "text/plain; charset=utf-8");
    assert.equal(head.CacheControl, "max-age=60, public");
    assert.equal(head.ContentDisposition, 'attachment; filename="report.txt"');
    assert.equal(head.ContentEncoding, "gzip");
    assert.equal(head.ContentLanguage, "de-CH");
    assert.equal(new Date(head.ExpiresString!).getTime(), expires.getTime());
    assert.deepEqual(head.Metadata, { owner: "team-a", "mixed-case": "Value With Spaces" });
  });
});
