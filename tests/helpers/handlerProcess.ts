/**
 * A packaged Lambda handler in its own `node` process, callable from the parent: the child
 * `require`s the packaged file at start (a cold start: module scope runs once), then answers each
 * event sent over IPC by calling the export, as the Lambda Node.js runtime calls `<file>.<export>`.
 * A thrown error comes back with its name and message, so the local runner reports it as the
 * runtime would (error name as the Step Functions `Error`).
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface HandlerProcessOptions {
  /** The packaged file, absolute. */
  file: string;
  /** Its export that serves the handler (`syncRange`, `handler`, ...). */
  exportName: string;
  /** The function's environment (HANDLER_ENV variables, credentials, region). */
  env: Record<string, string>;
  /** Directories searched for packages the file requires (the Lambda runtime's node_modules). */
  nodePath: string[];
  /** Working directory of the process (the unpacked archive). */
  cwd: string;
}

/** A running handler process. */
export interface HandlerProcess {
  invoke(event: unknown): Promise<unknown>;
  /** Calls answered so far. */
  readonly calls: number;
  stop(): Promise<void>;
}

const CHILD = `
  const util = require("node:util");
  const [file, exportName] = process.argv.slice(1);
  let handler;
  try {
    handler = require(file)[exportName];
    if (typeof handler !== "function") throw new TypeError(exportName + " is not a function in " + file);
  } catch (e) {
    process.send({ ready: false, errorType: e && e.name, errorMessage: e && e.message, stack: e && e.stack });
    process.exit(1);
  }
  const context = { functionName: exportName, getRemainingTimeInMillis: () => 900000 };
  process.on("message", ({ id, event }) => {
    Promise.resolve()
      .then(() => handler(event, context))
      .then(
        (result) => process.send({ id, ok: true, result: result === undefined ? null : result }),
        (e) => {
          const isError = util.types.isNativeError(e) || (e && typeof e.name === "string" && typeof e.message === "string");
          process.send(isError
            ? { id, ok: false, errorType: e.name, errorMessage: e.message, stack: e.stack }
            : { id, ok: false, errorType: typeof e, errorMessage: String(e) });
        },
      );
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ ready: true });
`;

interface Reply {
  id?: number;
  ready?: boolean;
  ok?: boolean;
  result?: unknown;
  errorType?: string;
  errorMessage?: string;
  stack?: string;
}

/** Starts the process and resolves once the packaged module has loaded. */
export async function startHandlerProcess(options: HandlerProcessOptions): Promise<HandlerProcess> {
  const child: ChildProcess = spawn(process.execPath, ["-e", CHILD, options.file, options.exportName], {
    cwd: options.cwd,
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    env: {
      PATH: process.env.PATH ?? "",
      NODE_PATH: options.nodePath.join(":"),
      // The AWS SDK warns about Node versions on load; it is not part of what is tested.
      NODE_NO_WARNINGS: "1",
      ...options.env,
    },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  let nextId = 0;
  let calls = 0;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${options.file} exited with ${code} while loading:\n${stderr}`));
    child.once("exit", onExit);
    child.once("message", (message: Reply) => {
      child.off("exit", onExit);
      if (message.ready) resolve();
      else reject(new Error(`${options.file} failed to load: ${message.errorType}: ${message.errorMessage}\n${message.stack ?? ""}`));
    });
  });

  child.on("message", (message: Reply) => {
    const waiting = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id as number);
    calls++;
    if (message.ok) {
      waiting.resolve(message.result);
    } else {
      const err = new Error(message.errorMessage ?? "");
      err.name = message.errorType ?? "Error";
      if (message.stack) err.stack = message.stack;
      waiting.reject(err);
    }
  });
  child.on("exit", (code) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`${options.file} exited with ${code}:\n${stderr}`));
    pending.clear();
  });

  return {
    invoke(event) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, event });
      });
    },
    get calls() {
      return calls;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}
