/**
 * Object operations: details (HeadObject), server-side copies (CopyObject, or multipart
 * UploadPartCopy for large objects) and batched deletes. Bytes never pass through the engine.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  type S3Client,
  type StorageClass,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { describeError } from "./errors";
import { normalizeEtag } from "./listing";
import { type ObjectDetails, SOURCE_ETAG_METADATA } from "./planner";

/** S3's limit for a single CopyObject; above it only a multipart copy works. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** S3's limits on multipart uploads. */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PARTS = 10_000;
/** Most keys one DeleteObjects request takes. */
export const DELETE_BATCH = 1000;

/** Builds `CopySource`: bucket and key encoded per path segment, so `+ ? # %` keys survive. */
export function copySource(bucket: string, key: string): string {
  return [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
}

/**
 * Reads an object's details; undefined when it does not exist.
 *
 * A missing key is not always a 404. S3 answers 404 only to a caller allowed `s3:ListBucket` on
 * the bucket, and 403 to any other ("If the object you request doesn't exist, the error that
 * Amazon S3 returns depends on whether you also have the s3:ListBucket permission",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). A role whose ListBucket
 * is conditioned on `s3:prefix` (the sync roles with a prefix, see infra/iamDocuments.ts) is in
 * the second case, since a HeadObject request has no prefix. So a 403 is settled by listing the
 * key itself, which that role may do: absent there, the object does not exist; present, the 403
 * is a real denial and is thrown.
 */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<ObjectDetails | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    if (status === 403 && !(await isListed(client, bucket, key).catch(() => true))) return undefined;
    throw err; // a listing that fails too, or shows the key, leaves the HEAD's own denial standing
  }
  return toDetails(head);
}

/**
 * True when a listing under the key as prefix shows the key itself: being the shortest key with
 * that prefix, it comes first in S3's byte order, so one key of one page is enough.
 */
export async function isListed(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return page.Contents?.[0]?.Key === key;
}

function toDetails(head: HeadObjectCommandOutput): ObjectDetails {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(head.Metadata ?? {})) metadata[name.toLowerCase()] = value;
  const fullObject = head.ChecksumType === "FULL_OBJECT";
  const checksums: Array<[string, string | undefined]> = [
    ["CRC64NVME", head.ChecksumCRC64NVME],
    ["CRC32", head.ChecksumCRC32],
    ["CRC32C", head.ChecksumCRC32C],
    ["SHA1", head.ChecksumSHA1],
    ["SHA256", head.ChecksumSHA256],
  ];
  const found = fullObject ? checksums.find(([, value]) => value !== undefined) : undefined;
  return {
    size: head.ContentLength ?? 0,
    etag: normalizeEtag(head.ETag),
    lastModified: head.LastModified?.getTime() ?? 0,
    contentType: head.ContentType,
    cacheControl: head.CacheControl,
    contentDisposition: head.ContentDisposition,
    contentEncoding: head.ContentEncoding,
    contentLanguage: head.ContentLanguage,
    expires: head.ExpiresString ?? head.Expires?.toUTCString(),
    metadata,
    checksum: found ? { algorithm: found[0], value: found[1] as string } : undefined,
  };
}

/** How copies are written. */
export interface CopySettings {
  multipartThresholdBytes: number;
  partSizeBytes: number;
  storageClass?: string;
  sseKmsKeyId?: string;
  /** Parallel UploadPartCopy requests per multipart copy. @default 8 */
  partConcurrency?: number;
}

/** One object to copy, as listed. */
export interface CopyRequest {
  sourceBucket: string;
  sourceKey: string;
  destinationBucket: string;
  destinationKey: string;
  size: number;
  etag: string;
}

export interface CopyResult {
  bytes: number;
  method: "copy" | "copy-with-marker" | "multipart";
}

/**
 * Copies objects server-side and keeps copies recognisable (see planner.ts): a plain CopyObject
 * keeps the source's ETag and metadata; where the destination's ETag would differ (multipart
 * copies, SSE-KMS, or a destination that re-encrypts, detected from the first copy's result) the
 * copy records the source's ETag in `x-amz-meta-bucket-sync-source-etag`.
 */
export class Copier {
  /** Set once a plain copy came back with a different ETag: from then on write the marker. */
  private etagsChangeOnCopy: boolean;

  constructor(
    private readonly client: S3Client,
    private readonly settings: CopySettings,
  ) {
    this.etagsChangeOnCopy = settings.sseKmsKeyId !== undefined;
  }

  async copy(request: CopyRequest): Promise<CopyResult> {
    if (request.size >= this.settings.multipartThresholdBytes || request.size > MAX_SINGLE_COPY_BYTES) {
      await this.multipartCopy(request);
      return { bytes: request.size, method: "multipart" };
    }
    if (!this.etagsChangeOnCopy) {
      const result = await this.client.send(
        new CopyObjectCommand({
          ...this.target(request),
          CopySource: copySource(request.sourceBucket, request.sourceKey),
          MetadataDirective: "COPY",
        }),
      );
      const copiedEtag = normalizeEtag(result.CopyObjectResult?.ETag);
      if (copiedEtag === request.etag) return { bytes: request.size, method: "copy" };
      // Either the source was rewritten since it was listed (then the copy is of the new
      // version and matches it), or this destination gives copies new ETags.
      const current = await headObject(this.client, request.sourceBucket, request.sourceKey);
      if (current?.etag === copiedEtag) return { bytes: request.size, method: "copy" };
      this.etagsChangeOnCopy = true;
    }
    await this.copyWithMarker(request);
    return { bytes: request.size, method: "copy-with-marker" };
  }

  private target(request: CopyRequest) {
    return {
      Bucket: request.destinationBucket,
      Key: request.destinationKey,
      StorageClass: this.settings.storageClass as StorageClass | undefined,
      ServerSideEncryption: this.settings.sseKmsKeyId ? ("aws:kms" as const) : undefined,
      SSEKMSKeyId: this.settings.sseKmsKeyId,
    };
  }

  /** The source's carried headers plus the marker, for writes that replace metadata. */
  private async carriedHeaders(request: CopyRequest) {
    const details = await headObject(this.client, request.sourceBucket, request.sourceKey);
    if (!details) throw Object.assign(new Error(`source object vanished: ${request.sourceKey}`), { name: "NoSuchKey" });
    if (details.etag !== request.etag) {
      throw Object.assign(new Error(`source object changed during the sync: ${request.sourceKey}; the next run copies it`), {
        name: "SourceChanged",
      });
    }
    const metadata = { ...details.metadata, [SOURCE_ETAG_METADATA]: request.etag };
    return {
      ContentType: details.contentType,
      CacheControl: details.cacheControl,
      ContentDisposition: details.contentDisposition,
      ContentEncoding: details.contentEncoding,
      ContentLanguage: details.contentLanguage,
      Expires: details.expires === undefined ? undefined : new Date(details.expires),
      Metadata: metadata,
    };
  }

  private async copyWithMarker(request: CopyRequest): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        ...this.target(request),
        ...(await this.carriedHeaders(request)),
        CopySource: copySource(request.sourceBucket, request.sourceKey),
        CopySourceIfMatch: `"${request.etag}"`,
        MetadataDirective: "REPLACE",
      }),
    );
  }

  /** Part size: the setting, raised to stay within 10,000 parts, never below 5 MiB. */
  partSize(size: number): number {
    return Math.max(this.settings.partSizeBytes, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
  }

  private async sourceTagging(request: CopyRequest): Promise<string | undefined> {
    try {
      const tagging = await this.client.send(
        new GetObjectTaggingCommand({ Bucket: request.sourceBucket, Key: request.sourceKey }),
      );
      const tags = tagging.TagSet ?? [];
      if (tags.length === 0) return undefined;
      return new URLSearchParams(tags.map((tag): [string, string] => [tag.Key ?? "", tag.Value ?? ""])).toString();
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501) return undefined;
      throw err;
    }
  }

  /**
   * Copies part by part with UploadPartCopy, every part pinned to the listed ETag so a source
   * rewritten mid-copy fails the copy instead of mixing versions. On any failure the upload is
   * aborted, so no orphaned parts are left to bill.
   */
  private async multipartCopy(request: CopyRequest): Promise<void> {
    const [headers, tagging] = await Promise.all([this.carriedHeaders(request), this.sourceTagging(request)]);
    const upload = await this.client.send(
      new CreateMultipartUploadCommand({ ...this.target(request), ...headers, Tagging: tagging }),
    );
    const uploadId = upload.UploadId;
    if (!uploadId) throw new Error(`no UploadId for ${request.destinationKey}`);
    try {
      const partSize = this.partSize(request.size);
      const count = Math.max(1, Math.ceil(request.size / partSize));
      const limit = pLimit(this.settings.partConcurrency ?? 8);
      const parts = await Promise.all(
        Array.from({ length: count }, (_, index) =>
          limit(async () => {
            const first = index * partSize;
            const last = Math.min(request.size, first + partSize) - 1;
            const result = await this.client.send(
              new UploadPartCopyCommand({
                Bucket: request.destinationBucket,
                Key: request.destinationKey,
                UploadId: uploadId,
                PartNumber: index + 1,
                CopySource: copySource(request.sourceBucket, request.sourceKey),
                CopySourceIfMatch: `"${request.etag}"`,
                CopySourceRange: request.size === 0 ? undefined : `bytes=${first}-${last}`,
              }),
            );
            return { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag };
          }),
        ),
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: request.destinationBucket,
          Key: request.destinationKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client
        .send(
          new AbortMultipartUploadCommand({
            Bucket: request.destinationBucket,
            Key: request.destinationKey,
            UploadId: uploadId,
          }),
        )
        .catch(() => undefined); // the copy's own error is the one to report
      throw err;
    }
  }
}

/** One key a DeleteObjects request could not delete. */
export interface DeleteFailure {
  key: string;
  error: string;
  message: string;
}

/** Deletes keys in batches of at most 1000; returns the keys S3 reported as not deleted. */
export async function deleteObjects(client: S3Client, bucket: string, keys: string[]): Promise<DeleteFailure[]> {
  const failures: DeleteFailure[] = [];
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    try {
      const result = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      for (const error of result.Errors ?? []) {
        failures.push({ key: error.Key ?? "", error: error.Code ?? "DeleteFailed", message: error.Message ?? "" });
      }
    } catch (err) {
      const { error, message } = describeError(err);
      for (const key of batch) failures.push({ key, error, message });
    }
  }
  return failures;
}
