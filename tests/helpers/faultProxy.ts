/**
 * A fault-injecting HTTP proxy for S3 traffic: it listens on 127.0.0.1, forwards each request to
 * a real S3-compatible server (the embedded one in tests) and, decided by a seeded random
 * generator, fails a share of them the ways S3 and networks fail:
 *
 * - `slowDown`: 503 with S3's `SlowDown` XML error, without forwarding (the request never ran);
 * - `internalError`: 500 with S3's `InternalError` XML error, without forwarding;
 * - `dropBefore`: the connection is destroyed before forwarding (the request never ran);
 * - `dropAfter`: the request is forwarded and runs, then the connection is destroyed instead of
 *   answering, so the client cannot know whether a write happened.
 *
 * It can also stop a run midway without any timing: with `holdCopiesAfter: n`, once n copy
 * requests (PUTs with `x-amz-copy-source`) have been answered, every later copy is held — never
 * forwarded, never answered — until the proxy closes; `holding()` resolves at that point.
 *
 * The same seed gives the same sequence of decisions; which request meets which decision still
 * depends on the order requests arrive in. Rates can be changed between runs (`setRates`), so a
 * test can run with faults and then converge without them.
 *
 * Request signatures are kept valid by forwarding every header unchanged (the `Host` the client
 * signed included); the embedded server does not check signatures against its own address.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** The ways a request can fail. */
export type FaultKind = "slowDown" | "internalError" | "dropBefore" | "dropAfter";
export const FAULT_KINDS: readonly FaultKind[] = ["slowDown", "internalError", "dropBefore", "dropAfter"];

/** Share of requests (0 to 1) failed with each kind; their sum must not exceed 1. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxyOptions {
  /** Base URL of the real server, e.g. `http://127.0.0.1:43125`. */
  upstream: string;
  /** Seed of the random generator that picks faults. */
  seed: number;
  /** @default no faults */
  rates?: FaultRates;
  /** Most faults injected in the proxy's lifetime; afterwards every request is forwarded. @default unlimited */
  maxFaults?: number;
  /** Forward this many copy requests, then hold every later one unanswered. @default never hold */
  holdCopiesAfter?: number;
}

export interface FaultProxy {
  /** Base URL to give clients instead of the upstream's. */
  endpoint: string;
  /** Requests seen, forwarded, and failed per kind. */
  readonly stats: { requests: number; forwarded: number; faults: Record<FaultKind, number> };
  /** Total faults injected so far. */
  faultCount(): number;
  /**
   * Resolves once `holdCopiesAfter` copies have been answered and a later one is being held: the
   * destination then holds exactly those copies, and the run can go no further.
   */
  holding(): Promise<void>;
  /** New rates from now on (e.g. `{}` to stop injecting). */
  setRates(rates: FaultRates): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/** mulberry32: a small, well-distributed 32-bit PRNG; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** S3's XML error document. */
export function s3ErrorXml(code: string, message: string, resource: string): string {
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message>` +
    `<Resource>${escape(resource)}</Resource><RequestId>${randomUUID()}</RequestId></Error>`
  );
}

function checkRates(rates: FaultRates): FaultRates {
  const total = FAULT_KINDS.reduce((sum, kind) => sum + (rates[kind] ?? 0), 0);
  if (FAULT_KINDS.some((kind) => (rates[kind] ?? 0) < 0) || total > 1) {
    throw new Error(`fault rates must be shares from 0 to 1 adding up to at most 1, got ${JSON.stringify(rates)}`);
  }
  return { ...rates };
}

/** Starts a proxy in front of `options.upstream` on a free port of 127.0.0.1. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const random = seededRandom(options.seed);
  let rates = checkRates(options.rates ?? {});
  const stats = {
    requests: 0,
    forwarded: 0,
    faults: { slowDown: 0, internalError: 0, dropBefore: 0, dropAfter: 0 } as Record<FaultKind, number>,
  };
  const faultCount = () => FAULT_KINDS.reduce((sum, kind) => sum + stats.faults[kind], 0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const pick = (): FaultKind | undefined => {
    // One draw per request whatever the rates, so the sequence depends on the seed alone.
    const draw = random();
    if (options.maxFaults !== undefined && faultCount() >= options.maxFaults) return undefined;
    let threshold = 0;
    for (const kind of FAULT_KINDS) {
      threshold += rates[kind] ?? 0;
      if (draw < threshold) return kind;
    }
    return undefined;
  };

  const answerWithError = (req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string) => {
    const body = req.method === "HEAD" ? "" : s3ErrorXml(code, message, req.url ?? "/");
    // Read the request body to its end first, so the connection stays usable for the next request.
    req.resume();
    req.on("end", () => {
      res.writeHead(status, {
        "Content-Type": "application/xml",
        "Content-Length": Buffer.byteLength(body),
        "x-amz-request-id": randomUUID(),
      });
      res.end(body);
    });
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, dropAfter: boolean) => {
    stats.forwarded++;
    const outgoing = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        if (dropAfter) {
          // The server did the work; the client never hears about it.
          answer.resume();
          answer.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => req.socket.destroy());
    req.pipe(outgoing);
  };

  const holdAfter = options.holdCopiesAfter;
  let copiesForwarded = 0;
  let copiesAnswered = 0;
  let held = 0;
  let nowHolding: () => void = () => undefined;
  const holdingNow = new Promise<void>((resolve) => (nowHolding = resolve));
  const checkHolding = () => {
    if (holdAfter !== undefined && held > 0 && copiesAnswered >= holdAfter) nowHolding();
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    if (holdAfter !== undefined && req.method === "PUT" && req.headers["x-amz-copy-source"] !== undefined) {
      if (copiesForwarded >= holdAfter) {
        held++;
        req.resume(); // never forwarded, never answered: the client waits until the proxy closes
        checkHolding();
        return;
      }
      copiesForwarded++;
      res.on("finish", () => {
        copiesAnswered++;
        checkHolding();
      });
      return forward(req, res, false);
    }
    const fault = pick();
    if (fault) stats.faults[fault]++;
    switch (fault) {
      case "slowDown":
        return answerWithError(req, res, 503, "SlowDown", "Please reduce your request rate.");
      case "internalError":
        return answerWithError(req, res, 500, "InternalError", "We encountered an internal error. Please try again.");
      case "dropBefore":
        req.socket.destroy();
        return;
      case "dropAfter":
        return forward(req, res, true);
      default:
        return forward(req, res, false);
    }
  });
  // A client may give up on a connection we are still writing to; that is not the proxy's error.
  server.on("clientError", (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    faultCount,
    holding: () => holdingNow,
    setRates(next) {
      rates = checkRates(next);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closed;
    },
  };
}
