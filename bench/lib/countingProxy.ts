/**
 * A forwarding HTTP proxy on 127.0.0.1 that counts S3 requests by operation, so every tool's
 * requests are counted the same way, whatever client library it uses. Requests are forwarded
 * byte for byte (the Host header included, since SigV4 signs it) to one upstream S3 endpoint.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** Requests per S3 operation, e.g. `{ ListObjectsV2: 4, CopyObject: 2000 }`. */
export type RequestCounts = Record<string, number>;

export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: give this to the tools as their endpoint. */
  endpoint: string;
  /** Counts since the last reset. */
  counts(): RequestCounts;
  /** Most requests in flight at once since the last reset. */
  peakInFlight(): number;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Names the S3 operation of a path-style request from its method, path, query and headers.
 * Only the operations S3 sync tools use are named; anything else is `<METHOD> other`.
 */
export function s3Operation(method: string, url: string, headers: http.IncomingHttpHeaders): string {
  const parsed = new URL(url, "http://s3.invalid");
  const q = parsed.searchParams;
  const segments = parsed.pathname.split("/").filter((s) => s !== "");
  const onObject = segments.length > 1;
  const copy = headers["x-amz-copy-source"] !== undefined;
  if (segments.length === 0) return method === "GET" ? "ListBuckets" : `${method} other`;
  switch (method) {
    case "GET":
      if (!onObject) {
        if (q.get("list-type") === "2") return "ListObjectsV2";
        if (q.has("location")) return "GetBucketLocation";
        if (q.has("uploads")) return "ListMultipartUploads";
        if (q.has("versioning")) return "GetBucketVersioning";
        return "ListObjects";
      }
      if (q.has("tagging")) return "GetObjectTagging";
      if (q.has("uploadId")) return "ListParts";
      return "GetObject";
    case "HEAD":
      return onObject ? "HeadObject" : "HeadBucket";
    case "PUT":
      if (!onObject) return "CreateBucket";
      if (q.has("partNumber")) return copy ? "UploadPartCopy" : "UploadPart";
      if (q.has("tagging")) return "PutObjectTagging";
      return copy ? "CopyObject" : "PutObject";
    case "POST":
      if (!onObject && q.has("delete")) return "DeleteObjects";
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return "POST other";
    case "DELETE":
      if (!onObject) return "DeleteBucket";
      return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    default:
      return `${method} other`;
  }
}

/** Starts a counting proxy in front of `upstream` (an `http://host:port` URL). */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  let counts: RequestCounts = {};
  let inFlight = 0;
  let peak = 0;
  const server = http.createServer((req, res) => {
    const operation = s3Operation(req.method ?? "GET", req.url ?? "/", req.headers);
    counts[operation] = (counts[operation] ?? 0) + 1;
    inFlight++;
    peak = Math.max(peak, inFlight);
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        inFlight--;
      }
    };
    res.on("close", finish);
    const upstreamRequest = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.rawHeaders);
        upstreamResponse.pipe(res);
      },
    );
    upstreamRequest.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(upstreamRequest);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    peakInFlight: () => peak,
    reset() {
      counts = {};
      peak = inFlight;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
