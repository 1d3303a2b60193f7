/** Test helpers over a real S3-compatible server: clients that count requests, fixtures, snapshots. */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createS3Client } from "../../handlers/engine/s3Client";
import type { S3Endpoint } from "../servers/types";

/** Requests by command name (ListObjectsV2Command, CopyObjectCommand, …). */
export type RequestCounts = Record<string, number>;

/** The engine's client for a test server, counting every command it sends. */
export function countingClient(server: S3Endpoint): { client: S3Client; counts: RequestCounts; reset(): void } {
  const client = createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  let counts: RequestCounts = {};
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? "unknown";
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "countRequests" },
  );
  return {
    client,
    get counts() {
      return counts;
    },
    reset() {
      counts = {};
    },
  };
}

/** Commands that change a bucket. */
export const WRITE_COMMANDS = [
  "PutObjectCommand",
  "CopyObjectCommand",
  "CreateMultipartUploadCommand",
  "UploadPartCopyCommand",
  "CompleteMultipartUploadCommand",
  "DeleteObjectsCommand",
  "DeleteObjectCommand",
];

export function writes(counts: RequestCounts): number {
  return WRITE_COMMANDS.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
}

let bucketCounter = 0;
/** Creates a bucket with a fresh name. */
export async function newBucket(client: S3Client, label: string): Promise<string> {
  const name = `${label}-${process.pid}-${Date.now().toString(36)}-${bucketCounter++}`.toLowerCase();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

export async function put(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Buffer,
  extra: Partial<PutObjectCommandInput> = {},
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

/** Puts many small objects with bounded parallelism. */
export async function putMany(client: S3Client, bucket: string, keys: string[], body: (key: string) => string | Buffer = (key) => `content of ${key}`) {
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((key) => put(client, bucket, key, body(key))));
  }
}

/** Every key under a prefix, following pagination, in listing order. */
export async function listKeys(client: S3Client, bucket: string, prefix = ""): Promise<Array<{ key: string; size: number; etag: string }>> {
  const keys: Array<{ key: string; size: number; etag: string }> = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
    );
    for (const item of page.Contents ?? []) {
      keys.push({ key: (item.Key ?? "").slice(prefix.length), size: item.Size ?? 0, etag: item.ETag ?? "" });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function getText(client: S3Client, bucket: string, key: string): Promise<string> {
  const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await result.Body?.transformToString()) ?? "";
}
