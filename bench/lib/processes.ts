/**
 * Processes the benchmark runs: the embedded S3 server as its own process (as a user starts it),
 * and each tool's command, timed from spawn to exit, with the CPU time it used.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) of a running process, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
}

/** CPU seconds used by this process's children that have exited and been waited for. */
export function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND; // cutime, cstime
}

export interface EmbeddedServer {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `node dist/cli/index.js s3-server --dir <dir>` and waits for its endpoint line. */
export async function startServerProcess(cliPath: string, directory: string, port = 0): Promise<EmbeddedServer> {
  const child = spawn(process.execPath, [cliPath, "s3-server", "--port", String(port), "--dir", directory], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const endpoint = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /embedded S3 on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`s3-server exited with ${code} before it listened:\n${output}`)));
    setTimeout(() => reject(new Error(`s3-server did not start in 60 s:\n${output}`)), 60_000).unref();
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    endpoint,
    pid: child.pid as number,
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
  /** User + system CPU seconds of the command. */
  cpuSeconds: number;
}

/**
 * Runs a command to completion without blocking this process (the counting proxy lives here).
 * Commands run one at a time, so the change in waited-for children's CPU time is this one's.
 */
export function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutSeconds = 1800,
): Promise<CommandResult> {
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutSeconds * 1000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, seconds, cpuSeconds: childrenCpuSeconds() - cpuBefore });
    });
  });
}
