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
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
  type StorageClass,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import type { PendingUpload } from "../../model/contract";
import { describeError } from "./errors";
import { requestSignal } from "./s3Client";
import { normalizeEtag } from "./listing";
import { type ObjectDetails, SOURCE_ETAG_METADATA } from "./planner";

/** S3's limit for a single CopyObject; above it only a multipart copy works. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** S3's limits on multipart uploads. */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PARTS = 10_000;
/** Most keys one DeleteObjects request takes. */
export const DELETE_BATCH = 1000;

/**
 * Builds `CopySource`: bucket and key encoded per path segment, so `+ ? # %` keys survive, and
 * `?versionId=` to copy one version (a key's literal `?` is encoded, so the first raw `?` starts
 * the version: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
 */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const path = [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
  return versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`;
}

/**
 * Reads an object's details; undefined when it does not exist. `signal` aborts the request.
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
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
  versionId?: string,
): Promise<ObjectDetails | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: "ENABLED" }), { abortSignal: requestSignal(signal) });
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    if (status === 403 && !(await isListed(client, bucket, key, signal).catch(() => true))) return undefined;
    throw err; // a listing that fails too, or shows the key, leaves the HEAD's own denial standing
  }
  return toDetails(head);
}

/**
 * True when a listing under the key as prefix shows the key itself: being the shortest key with
 * that prefix, it comes first in S3's byte order, so one key of one page is enough.
 */
export async function isListed(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<boolean> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }), { abortSignal: requestSignal(signal) });
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
  /** Parallel S3 requests of the range worker: a multipart copy uses at most as many. */
  concurrency?: number;
  /** Parallel UploadPartCopy requests per multipart copy. @default 8, at most `concurrency` */
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
  /** Copy this version of the source (a restore), not its current object. */
  sourceVersionId?: string;
}

export interface CopyResult {
  bytes: number;
  method: "copy" | "copy-with-marker" | "multipart";
}

/** How one copy is bounded in time, and the multipart copy it continues. */
export interface CopyControl {
  /** Aborts every request of the copy: the call's hard deadline has come. */
  signal?: AbortSignal;
  /**
   * When a multipart copy must have stopped starting parts (milliseconds of `clock`): a part is
   * started only if it can finish by then, judged by the slowest request of the copy so far.
   */
  deadline?: number;
  /** @default Date.now */
  clock?: () => number;
  /** A multipart copy of this object that an earlier call began. */
  resume?: UploadProgress;
}

/** Where a multipart copy stopped: what a later call needs to continue it. */
export type UploadProgress = Omit<PendingUpload, "key" | "toSource" | "action">;

/** A copy either finished, or (multipart only) stopped at the deadline with its upload kept. */
export type CopyOutcome = CopyResult | { pending: UploadProgress };

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

  /** Whether `request` is copied part by part. */
  isMultipart(request: { size: number }): boolean {
    return request.size >= this.settings.multipartThresholdBytes || request.size > MAX_SINGLE_COPY_BYTES;
  }

  async copy(request: CopyRequest, control: CopyControl = {}): Promise<CopyOutcome> {
    if (this.isMultipart(request)) {
      const pending = await this.multipartCopy(request, control);
      return pending ? { pending } : { bytes: request.size, method: "multipart" };
    }
    const signal = control.signal;
    if (!this.etagsChangeOnCopy) {
      const result = await this.client.send(
        new CopyObjectCommand({
          ...this.target(request),
          CopySource: copySource(request.sourceBucket, request.sourceKey, request.sourceVersionId),
          MetadataDirective: "COPY",
        }),
        { abortSignal: requestSignal(signal) },
      );
      const copiedEtag = normalizeEtag(result.CopyObjectResult?.ETag);
      if (copiedEtag === request.etag) return { bytes: request.size, method: "copy" };
      // Either the source was rewritten since it was listed (then the copy is of the new
      // version and matches it), or this destination gives copies new ETags.
      const current = await headObject(this.client, request.sourceBucket, request.sourceKey, signal, request.sourceVersionId);
      if (current?.etag === copiedEtag) return { bytes: request.size, method: "copy" };
      this.etagsChangeOnCopy = true;
    }
    await this.copyWithMarker(request, signal);
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
  private async carriedHeaders(request: CopyRequest, signal?: AbortSignal) {
    const details = await headObject(this.client, request.sourceBucket, request.sourceKey, signal, request.sourceVersionId);
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

  private async copyWithMarker(request: CopyRequest, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        ...this.target(request),
        ...(await this.carriedHeaders(request, signal)),
        CopySource: copySource(request.sourceBucket, request.sourceKey, request.sourceVersionId),
        CopySourceIfMatch: `"${request.etag}"`,
        MetadataDirective: "REPLACE",
      }),
      { abortSignal: requestSignal(signal) },
    );
  }

  /** Part size: the setting, raised to stay within 10,000 parts, never below 5 MiB. */
  partSize(size: number): number {
    return Math.max(this.settings.partSizeBytes, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
  }

  private async sourceTagging(request: CopyRequest, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const tagging = await this.client.send(
        new GetObjectTaggingCommand({ Bucket: request.sourceBucket, Key: request.sourceKey, VersionId: request.sourceVersionId }),
        { abortSignal: requestSignal(signal) },
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
   * Copies part by part with UploadPartCopy, every part pinned to the listed ETag
   * (`x-amz-copy-source-if-match`) so a source rewritten mid-copy fails the copy instead of
   * mixing versions; then the upload is aborted, so no orphaned parts are left to bill.
   *
   * A copy may span calls: parts are started only while they can finish before
   * `control.deadline`; if some are left, the upload stays open and its `PendingUpload` is
   * returned, for the next call to continue with `control.resume`. That call learns which parts
   * are done from S3 itself (ListParts), so no part is copied twice and the upload is completed
   * once. A resumed copy whose source changed since (another ETag or size) aborts the old upload
   * and starts again. Before a new upload, any upload left open on the same key by an abandoned
   * run is aborted (ListMultipartUploads).
   */
  private async multipartCopy(request: CopyRequest, control: CopyControl): Promise<UploadProgress | undefined> {
    const { signal, deadline } = control;
    const clock = control.clock ?? Date.now;
    const target = { Bucket: request.destinationBucket, Key: request.destinationKey };
    // The slowest request of this copy so far: a part is started only if that long fits.
    let slowestMs = 0;
    const timed = async <T>(send: () => Promise<T>): Promise<T> => {
      const started = clock();
      try {
        return await send();
      } finally {
        slowestMs = Math.max(slowestMs, clock() - started);
      }
    };

    let uploadId: string | undefined;
    let partSize = this.partSize(request.size);
    const done = new Map<number, string | undefined>();
    const resume = control.resume;
    if (resume && resume.etag === request.etag && resume.size === request.size) {
      const parts = await timed(() => this.listParts(target, resume.uploadId, signal));
      if (parts) {
        uploadId = resume.uploadId;
        partSize = resume.partSize;
        for (const [number, etag] of parts) done.set(number, etag);
      } else {
        // The upload is gone: completed by a call cut short before it heard so, or aborted.
        const current = await headObject(this.client, target.Bucket, target.Key, signal);
        if (current?.size === request.size && current.metadata[SOURCE_ETAG_METADATA] === request.etag) return undefined;
      }
    } else if (resume) {
      await this.abortUpload(target, resume.uploadId); // the source changed: start again
    }
    if (!uploadId) {
      await timed(() => this.abortAbandonedUploads(target, signal));
      const [headers, tagging] = await timed(() =>
        Promise.all([this.carriedHeaders(request, signal), this.sourceTagging(request, signal)]),
      );
      const upload = await timed(() =>
        this.client.send(new CreateMultipartUploadCommand({ ...this.target(request), ...headers, Tagging: tagging }), {
          abortSignal: requestSignal(signal),
        }),
      );
      uploadId = upload.UploadId;
      if (!uploadId) throw new Error(`no UploadId for ${request.destinationKey}`);
    }
    const id = uploadId;
    const pending = (): UploadProgress => ({
      uploadId: id,
      etag: request.etag,
      size: request.size,
      partSize,
      partsDone: done.size,
    });
    try {
      const count = Math.max(1, Math.ceil(request.size / partSize));
      const limit = pLimit(this.settings.partConcurrency ?? Math.min(8, this.settings.concurrency ?? 8));
      const missing = Array.from({ length: count }, (_, index) => index + 1).filter((number) => !done.has(number));
      await Promise.all(
        missing.map((number) =>
          limit(async () => {
            if (signal?.aborted || (deadline !== undefined && clock() + slowestMs * 1.5 >= deadline)) return;
            const first = (number - 1) * partSize;
            const last = Math.min(request.size, first + partSize) - 1;
            try {
              const result = await timed(() =>
                this.client.send(
                  new UploadPartCopyCommand({
                    ...target,
                    UploadId: id,
                    PartNumber: number,
                    CopySource: copySource(request.sourceBucket, request.sourceKey, request.sourceVersionId),
                    CopySourceIfMatch: `"${request.etag}"`,
                    CopySourceRange: request.size === 0 ? undefined : `bytes=${first}-${last}`,
                  }),
                  { abortSignal: requestSignal(signal) },
                ),
              );
              done.set(number, result.CopyPartResult?.ETag);
            } catch (err) {
              if (!signal?.aborted) throw err; // stopped at the deadline: the next call sees what S3 kept
            }
          }),
        ),
      );
      if (done.size < count || signal?.aborted) return pending();
      await this.client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId: id,
          MultipartUpload: {
            Parts: [...done.entries()].sort(([a], [b]) => a - b).map(([PartNumber, ETag]) => ({ PartNumber, ETag })),
          },
        }),
        { abortSignal: requestSignal(signal) },
      );
      return undefined;
    } catch (err) {
      // Stopped at the deadline: keep the upload for the next call (a completion that went
      // through shows as a current object there, and the stale upload id is then aborted).
      if (signal?.aborted) return pending();
      await this.abortUpload(target, id); // the copy's own error is the one to report
      throw err;
    }
  }

  /** The parts of an upload (number -> ETag), or undefined if the upload is gone. */
  private async listParts(
    target: { Bucket: string; Key: string },
    uploadId: string,
    signal?: AbortSignal,
  ): Promise<Map<number, string | undefined> | undefined> {
    const parts = new Map<number, string | undefined>();
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(new ListPartsCommand({ ...target, UploadId: uploadId, PartNumberMarker: marker }), {
          abortSignal: requestSignal(signal),
        });
        for (const part of page.Parts ?? []) if (part.PartNumber !== undefined) parts.set(part.PartNumber, part.ETag);
        if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
        marker = String(page.NextPartNumberMarker);
      }
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchUpload") return undefined;
      throw err;
    }
  }

  /** Aborts an upload; one already gone (completed, aborted, expired) is fine. */
  async abortUpload(target: { Bucket: string; Key: string }, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId })).catch((err) => {
      if ((err as { name?: string }).name !== "NoSuchUpload") throw err;
    });
  }

  /** Aborts uploads left open on exactly this key (by an abandoned run). */
  private async abortAbandonedUploads(target: { Bucket: string; Key: string }, signal?: AbortSignal): Promise<void> {
    const listed = await this.client.send(new ListMultipartUploadsCommand({ Bucket: target.Bucket, Prefix: target.Key }), {
      abortSignal: requestSignal(signal),
    });
    for (const upload of listed.Uploads ?? []) {
      if (upload.Key === target.Key && upload.UploadId) await this.abortUpload(target, upload.UploadId);
    }
  }
}

/** One key a DeleteObjects request could not delete. */
export interface DeleteFailure {
  key: string;
  error: string;
  message: string;
}

/**
 * Deletes keys in batches of at most 1000; returns the keys S3 reported as not deleted. An
 * aborted request (`signal`) throws: whether its batch was deleted is unknown.
 */
export async function deleteObjects(
  client: S3Client,
  bucket: string,
  keys: string[],
  signal?: AbortSignal,
): Promise<DeleteFailure[]> {
  const failures: DeleteFailure[] = [];
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    try {
      const result = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: requestSignal(signal) },
      );
      for (const error of result.Errors ?? []) {
        failures.push({ key: error.Key ?? "", error: error.Code ?? "DeleteFailed", message: error.Message ?? "" });
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      const { error, message } = describeError(err);
      for (const key of batch) failures.push({ key, error, message });
    }
  }
  return failures;
}
