/**
 * The fixes in s3-server/patches/s3rver+3.7.1.patch, one `it` each, proved against the real embedded
 * server through @aws-sdk/client-s3. Every `it` in the first `describe` fails on unpatched
 * s3rver 3.7.1; the second `describe` pins behaviour the sync engine relies on that s3rver
 * already had right.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";

/** Keys that break naive encoding, ordering or storage. */
const AWKWARD_KEYS = [
  "a", "a a-", "a/b", "a/b/c", "A", "b", "é", "ü/x", "key with space", "plus+sign",
  "q?mark", "hash#", "pct%20", "amp&eq=", "trailing/", "comma,colon:at@semi;dollar$",
  // Above U+FFFF (UTF-16 surrogates, 0xD83D...) and in U+E000–U+FFFF: UTF-16 order puts the
  // emoji first, UTF-8 byte order (F0 9F... > EF BC...) puts it last.
  "😀", "\uFF21", "\uE000",
];

const MANY_KEYS = 2_600;
const MD5 = (data: Buffer | string) => createHash("md5").update(data).digest();

/** S3's order: UTF-8 bytes. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sortedByBytes = (keys: Iterable<string>) => [...keys].sort(byteOrder);

/** Per-segment encoding, as clients must send `CopySource`. */
const copySource = (bucket: string, key: string) =>
  `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

/** What a delimited listing must return: keys and CommonPrefixes interleaved in byte order. */
function expectedEntries(keys: string[], prefix: string, delimiter: string): string[] {
  const entries = new Set<string>();
  for (const key of sortedByBytes(keys)) {
    if (!key.startsWith(prefix)) continue;
    const idx = key.indexOf(delimiter, prefix.length);
    entries.add(idx === -1 ? key : key.slice(0, idx + delimiter.length));
  }
  return [...entries];
}

describe("s3rver patches (s3-server/patches/s3rver+3.7.1.patch)", function () {
  let s3: EmbeddedS3;
  let client: S3Client;
  let bucketCount = 0;

  const newClient = (overrides: Partial<S3ClientConfig> = {}) =>
    new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...overrides,
    });

  async function newBucket(keys: string[] = [], body: (key: string) => string | Buffer = (key) => `body of ${key}`) {
    const bucket = `bucket-${++bucketCount}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const limit = pLimit(32);
    await Promise.all(
      keys.map((key) =>
        limit(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(key) }))),
      ),
    );
    return bucket;
  }

  async function readBody(bucket: string, key: string, range?: string): Promise<Buffer> {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /** Every page of a v2 listing; asserts each page respects MaxKeys. */
  async function listAllV2(input: ListObjectsV2CommandInput) {
    const pages: { keys: string[]; prefixes: string[] }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ ...input, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => o.Key!);
      const prefixes = (page.CommonPrefixes ?? []).map((p) => p.Prefix!);
      assert.ok(keys.length + prefixes.length <= (input.MaxKeys ?? 1000), "page exceeds MaxKeys");
      assert.equal(page.KeyCount, keys.length + prefixes.length);
      pages.push({ keys, prefixes });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      assert.ok(pages.length <= MANY_KEYS, "listing does not terminate");
    } while (token);
    const keys = pages.flatMap((p) => p.keys);
    const entries = sortedByBytes(pages.flatMap((p) => [...p.keys, ...p.prefixes]));
    return { pages, keys, entries };
  }

  before(async function () {
    s3 = await startS3rverProcess();
    client = newClient();
  });

  after(async function () {
    client?.destroy();
    await s3?.stop();
  });

  describe("fixed by the patch", function () {
    let manyBucket: string;
    let manyKeys: string[];

    before(async function () {
      // Mixed depths and code points so directory order, UTF-16 order and byte order all differ.
      const suffixes = ["😀", "\uFF21", "z", "é", ""];
      manyKeys = [
        ...AWKWARD_KEYS,
        ...Array.from({ length: MANY_KEYS }, (_, i) => {
          const tail = `${i.toString(36)}${suffixes[i % suffixes.length]}`;
          return i % 3 === 0 ? `deep/${i % 7}/${tail}` : i % 3 === 1 ? `flat-${tail}` : `n/${tail}`;
        }),
      ];
      manyBucket = await newBucket(manyKeys);
    });

    it("lists keys in UTF-8 byte order, not file-system order", async function () {
      const bucket = await newBucket(AWKWARD_KEYS);

      const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));

      assert.deepEqual(res.Contents?.map((o) => o.Key), sortedByBytes(AWKWARD_KEYS));
    });

    it("pages 2,600 keys with MaxKeys 1000 and ContinuationToken, losing and repeating none", async function () {
      const { pages, keys } = await listAllV2({ Bucket: manyBucket, MaxKeys: 1000 });

      assert.deepEqual(pages.map((p) => p.keys.length), [1000, 1000, manyKeys.length - 2000]);
      assert.deepEqual(keys, sortedByBytes(manyKeys));
    });

    it("pages by Prefix with StartAfter (v2) and Marker (v1) in byte order", async function () {
      const expected = sortedByBytes(manyKeys.filter((k) => k.startsWith("flat-")));
      const pageByLastKey = async (list: (after: string) => Promise<{ keys: string[]; truncated: boolean }>) => {
        const keys: string[] = [];
        for (let after: string | undefined = expected[400]; after !== undefined; ) {
          const page = await list(after);
          keys.push(...page.keys);
          after = page.truncated ? keys[keys.length - 1] : undefined;
        }
        return keys;
      };

      const v2 = await pageByLastKey(async (after) => {
        const page = await client.send(new ListObjectsV2Command({ Bucket: manyBucket, Prefix: "flat-", StartAfter: after, MaxKeys: 250 }));
        return { keys: (page.Contents ?? []).map((o) => o.Key!), truncated: page.IsTruncated === true };
      });
      const v1 = await pageByLastKey(async (after) => {
        const page = await client.send(new ListObjectsCommand({ Bucket: manyBucket, Prefix: "flat-", Marker: after, MaxKeys: 300 }));
        return { keys: (page.Contents ?? []).map((o) => o.Key!), truncated: page.IsTruncated === true };
      });

      assert.deepEqual(v2, expected.slice(401));
      assert.deepEqual(v1, expected.slice(401));
    });

    it("rolls keys nested two levels deep into root CommonPrefixes, counted against MaxKeys", async function () {
      const keys = ["x/1", "y/z/3", "y/z/4", "zz/deeper/still/5", "top"];
      const bucket = await newBucket(keys);

      const whole = await client.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/" }));
      const paged = await listAllV2({ Bucket: bucket, Delimiter: "/", MaxKeys: 1 });

      assert.deepEqual(whole.CommonPrefixes?.map((p) => p.Prefix), ["x/", "y/", "zz/"]);
      assert.deepEqual(whole.Contents?.map((o) => o.Key), ["top"]);
      assert.equal(paged.pages.length, 4);
      assert.deepEqual(paged.entries, ["top", "x/", "y/", "zz/"]);
    });

    it("pages a Delimiter listing of 2,600 keys exactly at every MaxKeys", async function () {
      for (const [prefix, maxKeys] of [["", 7], ["", 1000], ["deep/", 3], ["a/", 1]] as const) {
        const { entries } = await listAllV2({ Bucket: manyBucket, Prefix: prefix, Delimiter: "/", MaxKeys: maxKeys });

        assert.deepEqual(entries, expectedEntries(manyKeys, prefix, "/"), `prefix "${prefix}" MaxKeys ${maxKeys}`);
      }
    });

    it("accepts its ContinuationTokens on OpenSSL 3 without --openssl-legacy-provider", async function () {
      const bucket = await newBucket(["k1", "k2"]);
      const first = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));

      const second = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, ContinuationToken: first.NextContinuationToken }),
      );

      assert.deepEqual(second.Contents?.map((o) => o.Key), ["k2"]);
      assert.equal(second.IsTruncated, false);
    });

    it("decodes CopySource per segment, so keys with + ? # & = , : @ ; $ % copy", async function () {
      const bucket = await newBucket(AWKWARD_KEYS);

      for (const key of AWKWARD_KEYS) {
        await client.send(new CopyObjectCommand({ Bucket: bucket, Key: `copy/${key}`, CopySource: copySource(bucket, key) }));
      }

      for (const key of AWKWARD_KEYS) {
        assert.equal((await readBody(bucket, `copy/${key}`)).toString(), `body of ${key}`, key);
      }
    });

    it("copies the version \"null\" (?versionId=null) of an unversioned bucket", async function () {
      const bucket = await newBucket(["q?mark"]);

      await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `/${copySource(bucket, "q?mark")}?versionId=null` }),
      );

      assert.equal((await readBody(bucket, "copy")).toString(), "body of q?mark");
    });

    it("stores the payload of aws-chunked streamed uploads, not the chunk framing", async function () {
      const bucket = await newBucket();
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) =>
        data.subarray(i * 65536, (i + 1) * 65536),
      );
      // The SDK's default (WHEN_SUPPORTED) sends stream bodies aws-chunked with a CRC32 trailer.
      const streaming = newClient({ requestChecksumCalculation: "WHEN_SUPPORTED" });

      await streaming.send(
        new PutObjectCommand({ Bucket: bucket, Key: "s", Body: Readable.from(chunks), ContentLength: data.length, ContentEncoding: "gzip" }),
      );
      streaming.destroy();

      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "s" }));
      assert.ok((await readBody(bucket, "s")).equals(data), "stored bytes differ from the upload");
      assert.equal(head.ETag, `"${MD5(data).toString("hex")}"`);
      assert.equal(head.ContentEncoding, "gzip");
    });

    it("gives a CopyObject with REPLACE onto an existing key the source's ETag", async function () {
      const bucket = await newBucket(["src", "dst"], (key) => `content of ${key}`);

      const res = await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: copySource(bucket, "src"), MetadataDirective: "REPLACE", ContentType: "text/plain" }),
      );

      const expected = `"${MD5("content of src").toString("hex")}"`;
      assert.equal(res.CopyObjectResult?.ETag, expected);
      assert.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "dst" }))).ETag, expected);
    });

    it("gives an in-place CopyObject with REPLACE a new LastModified", async function () {
      const bucket = await newBucket(["m"]);
      const lastModified = async () =>
        (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "m" }))).LastModified!.getTime();
      const before = await lastModified();
      await new Promise((resolve) => setTimeout(resolve, 1100)); // LastModified has whole seconds

      const res = await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "m", CopySource: copySource(bucket, "m"), MetadataDirective: "REPLACE", ContentType: "text/csv" }),
      );

      assert.ok(res.CopyObjectResult!.LastModified!.getTime() > before);
      assert.equal(await lastModified(), res.CopyObjectResult!.LastModified!.getTime());
    });

    it("gives a CopyObject to another key a new LastModified, not its source's (fs.copyFile keeps timestamps on Node 24)", async function () {
      const bucket = await newBucket(["src"]);
      const lastModified = async (key: string) =>
        (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).LastModified!.getTime();
      const before = await lastModified("src");
      await new Promise((resolve) => setTimeout(resolve, 1100)); // LastModified has whole seconds

      await client.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: copySource(bucket, "src") }));

      assert.ok((await lastModified("copy")) > before, "the copy is a new object, written after its source");
    });

    it("implements UploadPartCopy with x-amz-copy-source-range", async function () {
      const source = Buffer.concat([Buffer.alloc(5 * 1024 * 1024, "a"), Buffer.from("tail+")]);
      const bucket = await newBucket(["big+source"], () => source);
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "dest" }));
      const ranges = [`bytes=0-${5 * 1024 * 1024 - 1}`, `bytes=${5 * 1024 * 1024}-${source.length - 1}`];

      const parts = [];
      for (const [i, range] of ranges.entries()) {
        const res = await client.send(
          new UploadPartCopyCommand({
            Bucket: bucket, Key: "dest", UploadId, PartNumber: i + 1,
            CopySource: copySource(bucket, "big+source"), CopySourceRange: range,
          }),
        );
        parts.push({ PartNumber: i + 1, ETag: res.CopyPartResult!.ETag });
      }
      const beyondEnd = client.send(
        new UploadPartCopyCommand({
          Bucket: bucket, Key: "dest", UploadId, PartNumber: 3,
          CopySource: copySource(bucket, "big+source"), CopySourceRange: `bytes=0-${source.length}`,
        }),
      );
      await assert.rejects(beyondEnd, { name: "InvalidArgument" });
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "dest", UploadId, MultipartUpload: { Parts: parts } }));

      assert.ok((await readBody(bucket, "dest")).equals(source));
      assert.equal(parts[1].ETag, `"${MD5("tail+").toString("hex")}"`);
    });

    it("aborts multipart uploads, lists those in progress, and refuses parts for aborted ones", async function () {
      const bucket = await newBucket(["src"]);
      const start = async (Key: string) =>
        (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }))).UploadId!;
      const [kept, aborted] = [await start("dir/kept"), await start("dir/aborted")];
      await client.send(new UploadPartCommand({ Bucket: bucket, Key: "dir/aborted", UploadId: aborted, PartNumber: 1, Body: "p" }));

      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "dir/aborted", UploadId: aborted }));

      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "dir/" }));
      assert.deepEqual(listed.Uploads?.map((u) => [u.Key, u.UploadId]), [["dir/kept", kept]]);
      await assert.rejects(
        client.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: "dir/aborted", UploadId: aborted, PartNumber: 2, CopySource: copySource(bucket, "src") }),
        ),
        { name: "NoSuchUpload" },
      );
      await assert.rejects(
        client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "dir/aborted", UploadId: aborted })),
        { name: "NoSuchUpload" },
      );
      const after = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      assert.deepEqual(after.Uploads?.map((u) => u.UploadId), [kept]);
    });

    it("honours x-amz-copy-source-if-match and -if-none-match on CopyObject and UploadPartCopy", async function () {
      const bucket = await newBucket(["src"]);
      const etag = (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "src" }))).ETag!;
      const stale = `"${MD5("an older version").toString("hex")}"`;
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp" }));
      const partCopy = (conditions: { CopySourceIfMatch?: string; CopySourceIfNoneMatch?: string }) =>
        client.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 1, CopySource: copySource(bucket, "src"), ...conditions }),
        );
      const copy = (conditions: { CopySourceIfMatch?: string; CopySourceIfNoneMatch?: string }) =>
        client.send(new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: copySource(bucket, "src"), ...conditions }));

      await copy({ CopySourceIfMatch: etag });
      await partCopy({ CopySourceIfMatch: etag });

      for (const conditions of [{ CopySourceIfMatch: stale }, { CopySourceIfNoneMatch: etag }]) {
        await assert.rejects(copy(conditions), { name: "PreconditionFailed" }, JSON.stringify(conditions));
        await assert.rejects(partCopy(conditions), { name: "PreconditionFailed" }, JSON.stringify(conditions));
      }
    });

    it("gives multipart objects the S3 ETag md5(part md5s)-N", async function () {
      const bucket = await newBucket();
      const partData = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from("last part")];
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp" }));
      const parts = [];
      for (const [i, Body] of partData.entries()) {
        const res = await client.send(new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: i + 1, Body }));
        parts.push({ PartNumber: i + 1, ETag: res.ETag });
      }

      const done = await client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "mp", UploadId, MultipartUpload: { Parts: parts } }),
      );

      const expected = `"${MD5(Buffer.concat(partData.map((p) => MD5(p)))).toString("hex")}-2"`;
      assert.equal(done.ETag, expected);
      assert.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp" }))).ETag, expected);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.equal(listed.Contents?.[0].ETag, expected);
    });

    it("deletes 1,000 keys per DeleteObjects, numeric-looking and space-padded ones too, with or without Content-MD5", async function () {
      const keys = Array.from({ length: 1000 }, (_, i) =>
        i % 4 === 0 ? String(i).padStart(4, "0") : i % 4 === 1 ? `${i}e3` : i % 4 === 2 ? ` pad ${i} ` : `d/${i % 10}/k${i}`,
      );
      const withMd5 = newClient();
      // DeleteObjects must carry a checksum; the SDK sends x-amz-checksum-crc32. Replace it with
      // Content-MD5 (what older clients and Swift need), or with nothing at all.
      const setChecksum = (c: S3Client, md5: boolean) =>
        c.middlewareStack.add(
          (next) => async (args) => {
            const request = args.request as { headers: Record<string, string>; body?: string };
            for (const name of Object.keys(request.headers)) {
              if (/^x-amz-(sdk-)?checksum-/i.test(name)) delete request.headers[name];
            }
            if (md5) request.headers["content-md5"] = MD5(request.body ?? "").toString("base64");
            return next(args);
          },
          { step: "finalizeRequest" },
        );
      const withoutChecksum = newClient();
      setChecksum(withMd5, true);
      setChecksum(withoutChecksum, false);

      for (const c of [withMd5, withoutChecksum]) {
        const bucket = await newBucket(keys);

        const res = await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));

        assert.deepEqual(sortedByBytes(res.Deleted!.map((d) => d.Key!)), sortedByBytes(keys));
        assert.equal(res.Errors, undefined);
        assert.equal((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0);
        c.destroy();
      }
    });

    it("serves Range bytes=0-0 as one byte", async function () {
      const bucket = await newBucket(["r"], () => "xyz");

      const body = await readBody(bucket, "r", "bytes=0-0");

      assert.equal(body.toString(), "x");
    });

    it("replaces tags with the object: x-amz-tagging on PUT, copied or replaced by CopyObject, gone after delete", async function () {
      const bucket = await newBucket();
      const tags = async (key: string) =>
        (await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];

      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "t", Body: "t", Tagging: "team=sync&note=a%26b" }));
      await client.send(new CopyObjectCommand({ Bucket: bucket, Key: "copied", CopySource: copySource(bucket, "t") }));
      await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "replaced", CopySource: copySource(bucket, "t"), TaggingDirective: "REPLACE", Tagging: "x=y" }),
      );
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "t" }] } }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "t", Body: "again" }));

      const expected = [{ Key: "team", Value: "sync" }, { Key: "note", Value: "a&b" }];
      assert.deepEqual(await tags("copied"), expected);
      assert.deepEqual(await tags("replaced"), [{ Key: "x", Value: "y" }]);
      assert.deepEqual(await tags("t"), []);
    });

    it("keeps tag values as strings (\"007\" stays \"007\")", async function () {
      const bucket = await newBucket(["t"]);

      await client.send(
        new PutObjectTaggingCommand({ Bucket: bucket, Key: "t", Tagging: { TagSet: [{ Key: "n", Value: "007" }, { Key: "b", Value: "true" }] } }),
      );

      const res = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "t" }));
      assert.deepEqual(res.TagSet, [{ Key: "n", Value: "007" }, { Key: "b", Value: "true" }]);
    });

    describe("versioning", function () {
      async function versionedBucket(): Promise<string> {
        const bucket = await newBucket();
        await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
        return bucket;
      }

      /** Every version and delete marker of a bucket, paged by key and version markers. */
      async function allVersions(bucket: string, maxKeys = 1000, prefix?: string) {
        const versions: Array<{ key: string; id: string; latest: boolean; marker: boolean; modified: number; etag?: string }> = [];
        let keyMarker: string | undefined;
        let versionIdMarker: string | undefined;
        for (;;) {
          const page = await client.send(
            new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
          );
          const entries = [
            ...(page.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest!, marker: false, modified: v.LastModified!.getTime(), etag: v.ETag })),
            ...(page.DeleteMarkers ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest!, marker: true, modified: v.LastModified!.getTime() })),
          ];
          assert.ok(entries.length <= maxKeys, "page exceeds MaxKeys");
          versions.push(...entries.sort((a, b) => byteOrder(a.key, b.key) || b.modified - a.modified));
          if (!page.IsTruncated) return versions;
          [keyMarker, versionIdMarker] = [page.NextKeyMarker, page.NextVersionIdMarker];
        }
      }

      it("turns versioning on and says so (GetBucketVersioning), and leaves new buckets unversioned", async function () {
        const plain = await newBucket();
        const versioned = await versionedBucket();

        assert.equal((await client.send(new GetBucketVersioningCommand({ Bucket: plain }))).Status, undefined);
        assert.equal((await client.send(new GetBucketVersioningCommand({ Bucket: versioned }))).Status, "Enabled");
      });

      it("keeps every PUT and COPY as a version, readable by GET and HEAD with versionId", async function () {
        const bucket = await versionedBucket();
        const ids: string[] = [];
        for (const body of ["one", "two", "three"]) {
          ids.push((await client.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: body }))).VersionId!);
        }
        const copied = await client.send(new CopyObjectCommand({ Bucket: bucket, Key: "k", CopySource: copySource(bucket, "k"), MetadataDirective: "REPLACE" }));

        assert.equal(new Set([...ids, copied.VersionId]).size, 4, "each write has its own version id");
        for (const [i, body] of ["one", "two", "three"].entries()) {
          const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: ids[i] }));
          assert.equal(await res.Body!.transformToString(), body);
          assert.equal(res.VersionId, ids[i]);
          const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "k", VersionId: ids[i] }));
          assert.equal(head.ContentLength, body.length);
        }
        assert.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }))).VersionId, copied.VersionId);
        await assert.rejects(client.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: "no-such-version" })), { name: "NoSuchVersion" });
      });

      it("copies by ?versionId= (CopyObject and UploadPartCopy), encoded per segment", async function () {
        const bucket = await versionedBucket();
        const key = "dir/q?mark plus+";
        const first = (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "old bytes", ContentType: "text/old" }))).VersionId!;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "new bytes" }));
        const source = `${copySource(bucket, key)}?versionId=${encodeURIComponent(first)}`;

        const copy = await client.send(new CopyObjectCommand({ Bucket: bucket, Key: "restored", CopySource: source }));
        const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "parted" }));
        const part = await client.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: "parted", UploadId: upload.UploadId, PartNumber: 1, CopySource: source, CopySourceRange: "bytes=0-2" }),
        );
        await client.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "parted", UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag }] } }),
        );

        assert.equal(copy.CopySourceVersionId, first);
        const restored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "restored" }));
        assert.equal(await restored.Body!.transformToString(), "old bytes");
        assert.equal(restored.ContentType, "text/old");
        assert.equal((await readBody(bucket, "parted")).toString(), "old");
      });

      it("deletes by writing a delete marker; the versions stay, and deleting the marker brings the object back", async function () {
        const bucket = await versionedBucket();
        const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "kept" }));

        const deleted = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k" }));
        assert.equal(deleted.DeleteMarker, true);
        await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" })), { name: "NotFound" });
        assert.deepEqual((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0);
        const byVersion = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: put.VersionId }));
        assert.equal(await byVersion.Body!.transformToString(), "kept");
        await assert.rejects(
          client.send(new GetObjectCommand({ Bucket: bucket, Key: "k", VersionId: deleted.VersionId })),
          (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 405,
        );

        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", VersionId: deleted.VersionId }));
        assert.equal((await readBody(bucket, "k")).toString(), "kept");
      });

      it("writes delete markers from DeleteObjects and deletes named versions for good", async function () {
        const bucket = await versionedBucket();
        const a = await client.send(new PutObjectCommand({ Bucket: bucket, Key: "a", Body: "a1" }));
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: "b", Body: "b1" }));

        const res = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "a", VersionId: a.VersionId }, { Key: "b" }] } }),
        );

        const deleted = Object.fromEntries((res.Deleted ?? []).map((d) => [d.Key, d]));
        assert.equal(deleted.a.VersionId, a.VersionId);
        assert.equal(deleted.b.DeleteMarker, true);
        const versions = await allVersions(bucket);
        assert.deepEqual(versions.map((v) => [v.key, v.marker, v.latest]), [["b", true, true], ["b", false, false]]);
      });

      it("lists versions newest first per key in byte order, paging by key and version-id markers", async function () {
        const bucket = await versionedBucket();
        const keys = ["a", "é", "b/c", "😀", "\uFF21"];
        for (const key of keys) {
          for (let i = 0; i < 3; i++) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${i}` }));
        }
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "a" }));

        const whole = await allVersions(bucket, 1000);
        const paged = await allVersions(bucket, 2);

        assert.deepEqual(paged.map((v) => v.id), whole.map((v) => v.id), "paging loses or repeats nothing");
        assert.equal(whole.length, 16);
        assert.deepEqual([...new Set(whole.map((v) => v.key))], sortedByBytes(keys));
        for (const key of keys) {
          const own = whole.filter((v) => v.key === key);
          assert.deepEqual(own.map((v) => v.latest), [true, ...own.slice(1).map(() => false)], key);
          assert.ok(own.every((v, i) => i === 0 || own[i - 1].modified >= v.modified), `${key}: newest first`);
        }
        assert.deepEqual(whole.filter((v) => v.key === "a").map((v) => v.marker), [true, false, false, false]);
        assert.deepEqual((await allVersions(bucket, 1000, "b/")).map((v) => v.key), ["b/c", "b/c", "b/c"]);
      });

      it("keeps an object written before versioning as the version \"null\"", async function () {
        const bucket = await newBucket(["old"]);
        await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: "old", Body: "new" }));

        const versions = await allVersions(bucket);
        assert.deepEqual(versions.map((v) => [v.latest, v.id === "null"]), [[true, false], [false, true]]);
        const nullVersion = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "old", VersionId: "null" }));
        assert.equal(await nullVersion.Body!.transformToString(), "body of old");
      });

      it("keeps a lifecycle configuration as sent (GetBucketLifecycleConfiguration)", async function () {
        const bucket = await newBucket();
        await assert.rejects(client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), { name: "NoSuchLifecycleConfiguration" });

        await client.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: { Rules: [{ ID: "history", Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] },
          }),
        );

        const rules = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules;
        assert.equal(rules?.[0].NoncurrentVersionExpiration?.NoncurrentDays, 30);
      });
    });
  });

  describe("already right in s3rver 3.7.1 (kept right)", function () {
    const metadata = {
      ContentType: "text/x-sync",
      CacheControl: "max-age=60",
      ContentDisposition: 'attachment; filename="r.txt"',
      ContentEncoding: "identity",
      ContentLanguage: "de-CH",
      Expires: new Date("2031-01-02T03:04:05Z"),
      Metadata: { color: "blue", "two-words": "x y" },
    };
    const headMetadata = async (bucket: string, key: string) => {
      const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        ContentType: h.ContentType, CacheControl: h.CacheControl, ContentDisposition: h.ContentDisposition,
        ContentEncoding: h.ContentEncoding, ContentLanguage: h.ContentLanguage, Expires: h.Expires, Metadata: h.Metadata,
      };
    };

    it("CopyObject with MetadataDirective COPY keeps every header and x-amz-meta-*", async function () {
      const bucket = await newBucket();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "s", ...metadata }));

      await client.send(new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: copySource(bucket, "src"), MetadataDirective: "COPY" }));

      assert.deepEqual(await headMetadata(bucket, "src"), metadata);
      assert.deepEqual(await headMetadata(bucket, "dst"), metadata);
    });

    it("CopyObject with MetadataDirective REPLACE uses only the new headers", async function () {
      const bucket = await newBucket();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "s", ...metadata }));
      const replacement = { ...metadata, ContentType: "text/plain", CacheControl: "no-store", Metadata: { size: "big" } };

      await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: copySource(bucket, "src"), MetadataDirective: "REPLACE", ...replacement }),
      );

      assert.deepEqual(await headMetadata(bucket, "dst"), replacement);
    });

    it("reports the same LastModified and ETag in listings as HeadObject", async function () {
      const bucket = await newBucket(["a", "b/c", "é"]);

      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));

      for (const object of listed.Contents ?? []) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: object.Key }));
        assert.equal(object.LastModified?.getTime(), head.LastModified?.getTime(), object.Key);
        assert.equal(object.ETag, head.ETag, object.Key);
      }
    });
  });
});
