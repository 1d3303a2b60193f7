import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import type { RunningS3Server } from "./types";

const run = promisify(execFile);

/** Name used in skip messages and failures. */
export const SWIFT_SERVER_NAME = "OpenStack Swift s3api";

const SCRIPT = resolve(__dirname, "../../scripts/swift-s3/swift-s3");
/** Debian's python3-swift lives in the system interpreter; a PATH python3 may be pyenv's. */
const SYSTEM_PYTHON = "/usr/bin/python3";
const READY_TIMEOUT_MS = 60_000;

let unavailable: { reason: string | undefined } | undefined;

/**
 * Why the Swift tier cannot run on this machine, or undefined when it can.
 *
 * Rule for callers: when this returns a reason and `process.env.CI === "true"`, throw it (CI
 * installs Swift through scripts/swift-s3/install.sh, so a missing server is a broken build);
 * otherwise skip the tier and print the reason, which names the server.
 *
 * @example
 * before(function () {
 *   const reason = swiftUnavailableReason();
 *   if (reason && process.env.CI === "true") throw new Error(reason);
 *   if (reason) { console.warn(`skipped: ${reason}`); this.skip(); }
 * });
 */
export function swiftUnavailableReason(): string | undefined {
  unavailable ??= { reason: probe() };
  return unavailable.reason;
}

function probe(): string | undefined {
  const install = "run scripts/swift-s3/install.sh as root";
  if (process.platform !== "linux") {
    return `${SWIFT_SERVER_NAME} runs only on Linux, not ${process.platform}`;
  }
  const swift = spawnSync(SYSTEM_PYTHON, ["-c", "import swift"], { stdio: "ignore" });
  if (swift.status !== 0) {
    return `${SWIFT_SERVER_NAME} is not installed (${SYSTEM_PYTHON} cannot import swift; ${install})`;
  }
  const memcached = spawnSync("sh", ["-c", "command -v memcached"], { stdio: "ignore" });
  if (memcached.status !== 0) {
    return `${SWIFT_SERVER_NAME} needs memcached, which is not installed (${install})`;
  }
  return undefined;
}

/**
 * Starts a private single-node Swift with s3api on 127.0.0.1 (about 3 s) and resolves once an
 * S3 ListBuckets succeeds. Everything lives in a fresh temp dir that `stop()` removes; the
 * servers also stop by themselves if this process dies.
 *
 * Clients need `forcePathStyle: true` and `requestChecksumCalculation: "WHEN_REQUIRED"` (s3api
 * answers `aws-chunked` uploads with 501), and must add Content-MD5 to DeleteObjects.
 * Call {@link swiftUnavailableReason} first; this throws when Swift is not installed.
 */
export async function startSwift(): Promise<RunningS3Server> {
  const reason = swiftUnavailableReason();
  if (reason) throw new Error(reason);

  const dir = await mkdtemp(join(tmpdir(), "bucket-sync-swift-"));
  const stop = async (): Promise<void> => {
    try {
      await run("bash", [SCRIPT, "stop", dir]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    // The script's parent is this process: the servers watch it and stop when it exits,
    // removing the temp dir too, since no stop() will run then.
    const { stdout } = await run("bash", [SCRIPT, "start", dir], {
      env: { ...process.env, SWIFT_S3_REMOVE_ON_ORPHAN: "1" },
    });
    const endpoint = /^endpoint=(\S+)$/m.exec(stdout)?.[1];
    if (!endpoint) throw new Error(`no endpoint in the output of swift-s3 start: ${stdout}`);
    const server: RunningS3Server = {
      name: SWIFT_SERVER_NAME,
      endpoint,
      region: "us-east-1",
      accessKeyId: "test:tester",
      secretAccessKey: "testing",
      features: { uploadPartCopy: true, versioning: true, tagging: false, checksums: false },
      stop,
    };
    await waitForListBuckets(server);
    return server;
  } catch (err) {
    await stop().catch(() => undefined);
    const detail = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`${SWIFT_SERVER_NAME} failed to start: ${(err as Error).message}${detail}`);
  }
}

async function waitForListBuckets(server: RunningS3Server): Promise<void> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    forcePathStyle: true,
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await client.send(new ListBucketsCommand({}));
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}
