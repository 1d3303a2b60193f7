/**
 * The `bucket-sync` CLI in a child process, run from source as a user runs it from a checkout.
 *
 * Started with `node --import tsx`, not `node -r tsx/cjs`: the CLI loads each subcommand's
 * modules lazily with `await import()`, which tsx's CommonJS hook alone leaves to Node's ESM
 * resolver, and that cannot find extensionless `.ts` modules (the compiled CLI in dist/ turns
 * those imports into `require` and has no such problem).
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import type { S3Endpoint } from "../servers/types";

export const ROOT = path.join(__dirname, "..", "..");

/** The finished process. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment of a CLI process: this process's, without any AWS settings that could point
 * it elsewhere, plus `env`. The AWS SDK's warning about Node versions is silenced: it is not
 * the CLI's output.
 */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_")));
  return { ...inherited, NODE_NO_WARNINGS: "1", ...env };
}

/** Credentials and region for the embedded server, as a user would export them. */
export function credentialsEnv(server: S3Endpoint): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  };
}

/**
 * Starts `bucket-sync ARGS` from the project root. Every `sync` it runs enforces the IAM of a stack
 * syncing exactly its locations (BUCKET_SYNC_ENFORCE_IAM, cli/stackIam.ts): the CLI specs run
 * the machine as the roles the stack would deploy, as every other spec that runs it does.
 */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "cli/index.ts", ...args], {
    cwd: ROOT,
    env: cliEnv({ BUCKET_SYNC_ENFORCE_IAM: "1", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Waits for a spawned CLI to exit, collecting its output. */
export function finished(child: ChildProcess, started = Date.now()): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
}

/** Runs `bucket-sync ARGS` to the end; kills it (and fails) after `timeoutMs`. */
export async function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = Date.now();
  const child = spawnCli(args, options.env);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const run = await finished(child, started);
    if (run.signal === "SIGKILL") {
      throw new Error(`bucket-sync ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${run.stderr}\n${run.stdout}`);
    }
    return run;
  } finally {
    clearTimeout(timer);
  }
}
