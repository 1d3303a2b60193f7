import { spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import type { RunningS3Server } from "./types";

/** Name used in skip messages and failures. */
export const S3RVER_SERVER_NAME = "s3rver (embedded)";

/**
 * Starts the embedded S3 server (s3-server/embeddedS3.ts: s3rver with its patch) in a process of
 * its own, on a free port of 127.0.0.1, with a temporary directory that `stop()` removes.
 *
 * Its own process, not the test's: a server sharing the test's event loop waits whenever the test
 * (or the engine under test) computes, and serves a few times fewer requests per second. The
 * server code is the same module the CLI's `s3-server` and `demo` run in-process (the CLI specs
 * and the packed-install spec run those).
 */
export async function startS3rverProcess(): Promise<EmbeddedS3> {
  const child = spawn(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "embeddedS3Child.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const announced = await new Promise<Omit<EmbeddedS3, "stop">>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      lines.close();
      try {
        resolve(JSON.parse(line) as Omit<EmbeddedS3, "stop">);
      } catch {
        reject(new Error(`the embedded S3 server process announced ${JSON.stringify(line)}, not its address`));
      }
    });
    child.once("exit", (code, signal) => reject(new Error(`the embedded S3 server process exited (${signal ?? code}) before it listened`)));
    child.once("error", reject);
  });
  let stopped: Promise<void> | undefined;
  return {
    ...announced,
    stop() {
      // Closing stdin asks the server to stop and remove its directory, then exit.
      stopped ??= (child.stdin!.end(), exited);
      return stopped;
    },
  };
}

/**
 * The embedded server as a {@link RunningS3Server} for the engine contract. Clients need
 * `forcePathStyle: true`. Tagging means PutObjectTagging/GetObjectTagging and `x-amz-tagging`
 * on PutObject, CopyObject (with TaggingDirective) and CreateMultipartUpload; GetObject does not
 * return `x-amz-tagging-count`. No versioning and no checksums: s3rver accepts but neither
 * verifies nor stores `x-amz-checksum-*`.
 */
export async function startS3rver(): Promise<RunningS3Server> {
  const s3 = await startS3rverProcess();
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
