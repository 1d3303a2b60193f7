/**
 * The engine's S3 client. One place decides how the engine talks to S3 and to S3-compatible
 * stores (MinIO, Ceph, OpenStack Swift, the embedded server).
 *
 * Compatibility modes:
 * - `aws` (default): the SDK's defaults (virtual-hosted addressing, flexible checksums).
 * - `generic`: path-style addressing; checksums only where the operation requires one
 *   (`aws-chunked` streaming uploads are not understood by Swift or s3rver); and a
 *   `Content-MD5` header on DeleteObjects, which Swift and older stores demand where the SDK
 *   now sends only a CRC32 checksum.
 * Both use the SDK's adaptive retry mode, which backs off on throttling (`SlowDown`, 503) and
 * rate-limits the client itself.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { S3Client } from "@aws-sdk/client-s3";

export type S3Compatibility = "aws" | "generic";
export const S3_COMPATIBILITIES: readonly S3Compatibility[] = ["aws", "generic"];

export interface S3ClientOptions {
  /** Custom endpoint for an S3-compatible store; absent for AWS. */
  endpoint?: string;
  /** @default process.env.AWS_REGION ?? "us-east-1" */
  region?: string;
  /** @default "generic" when an endpoint is set, else "aws" */
  compatibility?: S3Compatibility;
  /** Total attempts per request, first one included. @default 8 */
  maxAttempts?: number;
  /** Sockets kept per host; at least the engine's concurrency. @default 128 */
  maxSockets?: number;
  /** Give up connecting after this long (then retry as any error). @default the SDK's: no limit */
  connectionTimeoutMs?: number;
  /** Explicit credentials (tests, the embedded server); otherwise the default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Creates the S3 client the engine uses; see the module comment for compatibility modes. */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const compatibility = options.compatibility ?? (options.endpoint ? "generic" : "aws");
  if (!S3_COMPATIBILITIES.includes(compatibility)) {
    throw new Error(`unknown S3 compatibility mode "${compatibility}": use ${S3_COMPATIBILITIES.join(" or ")}`);
  }
  const generic = compatibility === "generic";
  const maxSockets = options.maxSockets ?? 128;
  const client = new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
    endpoint: options.endpoint,
    forcePathStyle: generic,
    credentials: options.credentials,
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? 8,
    requestChecksumCalculation: generic ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    responseChecksumValidation: generic ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    requestHandler: {
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
      connectionTimeout: options.connectionTimeoutMs,
    },
  });
  if (generic) addContentMd5ToDeleteObjects(client);
  return client;
}

/** Adds `Content-MD5` to DeleteObjects requests (their body is a small XML document). */
function addContentMd5ToDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && request.headers && typeof request.body === "string") {
        request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
      }
      return next(args);
    },
    { step: "build", priority: "low", name: "bucketSyncContentMd5" },
  );
}

/**
 * A signal of its own for one SDK request, aborted when `shared` is. A sync-range call aborts all
 * its requests at the function's end through one signal; handed to 64 requests in flight, that
 * one signal would carry 64 `abort` listeners (the SDK's HTTP handler adds one per request) and
 * Node warns of a leak past 10. `AbortSignal.any` links the request's signal to the shared one
 * without a listener on it (https://nodejs.org/api/globals.html#static-method-abortsignalanysignals).
 */
export function requestSignal(shared: AbortSignal | undefined): AbortSignal | undefined {
  return shared === undefined ? undefined : AbortSignal.any([shared]);
}
