/**
 * An S3-compatible server in this process, for the demo (`npm start`), the
 * `bucket-sync s3-server` command and the sync engine's contract tests.
 *
 * It is s3rver 3.7.1 with `s3-server/patches/s3rver+3.7.1.patch` applied (by `patch-package` in the
 * checkout's `prepare`; the packed CLI bundles the patched copy): UTF-8 byte-order listings with exact pagination, root-level CommonPrefixes,
 * continuation tokens that work on OpenSSL 3, per-segment-decoded `CopySource`, `aws-chunked`
 * upload bodies, UploadPartCopy, Abort/ListMultipartUploads, `x-amz-copy-source-if-(none-)match`,
 * S3-form multipart ETags, tags that follow their object, and versioning (PutBucketVersioning,
 * versioned PUT and COPY, ListObjectVersions, GET, HEAD and copy by `versionId`, delete markers) with
 * a lifecycle configuration kept as sent but never applied.
 *
 * Clients must use path-style addressing (`forcePathStyle: true`). s3rver does not verify
 * SigV4 signatures, only that the access key is {@link EMBEDDED_S3_CREDENTIALS}'s. It accepts
 * but neither verifies nor returns `x-amz-checksum-*`; SDK v3's default
 * `requestChecksumCalculation: "WHEN_SUPPORTED"` works (streamed bodies arrive `aws-chunked`,
 * which the patch decodes). Set `"WHEN_REQUIRED"` to send plain bodies, as unpatched s3rver and
 * Swift s3api need.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The only key pair s3rver accepts: it hard-codes one account whose access key id and secret
 * are both `S3RVER`. Any other access key id is rejected with `InvalidAccessKeyId`.
 */
export const EMBEDDED_S3_CREDENTIALS = {
  accessKeyId: "S3RVER",
  secretAccessKey: "S3RVER",
} as const;

/** The region clients should sign for; s3rver ignores it, its continuation tokens name it. */
const REGION = "us-east-1";

/** A running embedded S3 server and how to reach it. */
export interface EmbeddedS3 {
  /** Base URL, e.g. `http://127.0.0.1:43125`; use with `forcePathStyle: true`. */
  endpoint: string;
  /** Region to sign requests for (`us-east-1`). */
  region: string;
  /** Always {@link EMBEDDED_S3_CREDENTIALS}`.accessKeyId`. */
  accessKeyId: string;
  /** Always {@link EMBEDDED_S3_CREDENTIALS}`.secretAccessKey`. */
  secretAccessKey: string;
  /** Where buckets and objects are stored on disk. */
  directory: string;
  /**
   * Closes the server (dropping idle keep-alive connections so it returns promptly) and, if the
   * directory was a temporary one created by {@link startEmbeddedS3}, removes it.
   */
  stop(): Promise<void>;
}

/** Options of {@link startEmbeddedS3}. */
export interface EmbeddedS3Options {
  /** TCP port on 127.0.0.1. @default 0 (a free port chosen by the OS) */
  port?: number;
  /** Storage directory, kept on stop. @default a new temporary directory, removed on stop */
  directory?: string;
  /** Suppress s3rver's per-request log lines. @default true */
  silent?: boolean;
  /**
   * Called for each object created or deleted, as S3 event notifications report it: what
   * `bucket-sync watch` feeds to the local on-change chain. @default none
   */
  onObjectEvent?: (record: S3NotificationRecord) => void;
}

/**
 * The part of s3rver's API used here. s3rver ships no type declarations; typing the one
 * constructor we call keeps `any` out of this module without a separate `.d.ts`.
 */
interface S3rverApp {
  callback(): Parameters<typeof createServer>[0];
  logger: { close(): void };
  /** s3rver emits an S3 event notification (`{ Records: [...] }`) for each put, copy and delete. */
  on(event: "event", listener: (notification: { Records: S3NotificationRecord[] }) => void): void;
}

/** One record of an S3 event notification, the fields read here. */
export interface S3NotificationRecord {
  /** `ObjectCreated:Put`, `ObjectCreated:Copy`, `ObjectCreated:Post`, `ObjectRemoved:Delete`. */
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string } };
}
type S3rverConstructor = new (options: {
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
}) => S3rverApp;

/**
 * Starts s3rver in this process on 127.0.0.1.
 *
 * @example
 * const s3 = await startEmbeddedS3();
 * const client = new S3Client({ ...s3, credentials: s3, forcePathStyle: true });
 * // ...
 * await s3.stop();
 */
export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "bucket-sync-s3-")));

  // Loaded lazily so that importing this module (e.g. by the CLI) costs nothing until a server
  // is started.
  const S3rver = require("s3rver") as S3rverConstructor;
  // Requests reach us as http://127.0.0.1:<port>/<bucket>/<key>; vhostBuckets off so that a
  // Host header such as "localhost.localdomain" is never taken for a bucket name.
  const app = new S3rver({ directory, silent: options.silent ?? true, vhostBuckets: false });
  const onObjectEvent = options.onObjectEvent;
  if (onObjectEvent) app.on("event", (notification) => notification.Records.forEach((record) => onObjectEvent(record)));

  // Our own http.Server rather than s3rver's run(): its listen() never rejects when the port
  // is taken (the 'error' event goes unhandled), and we need closeAllConnections() on stop.
  const server: Server = createServer(app.callback());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    app.logger.close();
    if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    accessKeyId: EMBEDDED_S3_CREDENTIALS.accessKeyId,
    secretAccessKey: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    directory,
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeAllConnections();
        });
        app.logger.close();
        if (ownsDirectory) await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
