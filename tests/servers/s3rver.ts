import { startEmbeddedS3 } from "../../s3-server/embeddedS3";
import type { RunningS3Server } from "./types";

/** Name used in skip messages and failures. */
export const S3RVER_SERVER_NAME = "s3rver (embedded)";

/**
 * Starts the embedded s3rver (patched, see s3-server/patches/s3rver+3.7.1.patch) in this process on a free
 * port of 127.0.0.1, with a temp directory that `stop()` removes. Takes a few milliseconds.
 *
 * Clients need `forcePathStyle: true`. Tagging means PutObjectTagging/GetObjectTagging and
 * `x-amz-tagging` on PutObject, CopyObject (with TaggingDirective) and CreateMultipartUpload;
 * GetObject does not return `x-amz-tagging-count`. No versioning and no checksums: s3rver
 * accepts but neither verifies nor stores `x-amz-checksum-*`.
 */
export async function startS3rver(): Promise<RunningS3Server> {
  const s3 = await startEmbeddedS3();
  return {
    name: S3RVER_SERVER_NAME,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    features: { uploadPartCopy: true, versioning: false, tagging: true, checksums: false },
    stop: () => s3.stop(),
  };
}
