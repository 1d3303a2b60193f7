/**
 * A proxy in front of a real S3-compatible server that answers as AWS S3 answers a role allowed
 * only under a prefix of a bucket — the sync roles the program builds with a `sourcePrefix` or
 * `destinationPrefix` (infra/iamDocuments.ts): `s3:ListBucket` conditioned on `s3:prefix`, object
 * actions on `arn:aws:s3:::bucket/prefix*`.
 *
 * For a scoped bucket:
 * - a listing whose `prefix` parameter is not under the scope's prefix is denied (403);
 * - an object request (or the source of a copy) outside the prefix is denied (403);
 * - a HEAD or GET of a missing key under the prefix is answered 403, not the server's 404: S3
 *   answers 404 only to a caller allowed ListBucket on the bucket, and a HeadObject request
 *   carries no `s3:prefix`, so the conditioned grant does not apply
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 * Buckets without a scope, and bucket-level requests other than listings, pass unchanged.
 * Every header is forwarded as signed (path-style requests, as the engine's generic mode sends).
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { s3ErrorXml } from "./faultProxy";

export interface PrefixScopedProxy {
  endpoint: string;
  /** Requests denied for being outside a scope, and missing keys answered 403 instead of 404. */
  readonly stats: { outsideScope: number; missingAsForbidden: number };
  close(): Promise<void>;
}

/** `bucket -> prefix` the caller is limited to. */
export type PrefixScopes = Readonly<Record<string, string>>;

function decodePath(path: string): string[] {
  return path.split("/").slice(1).map(decodeURIComponent);
}

/** Starts the proxy in front of `upstream` (e.g. `http://127.0.0.1:4568`) on a free port. */
export async function startPrefixScopedProxy(upstream: string, scopes: PrefixScopes): Promise<PrefixScopedProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const stats = { outsideScope: 0, missingAsForbidden: 0 };

  const answerDenied = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = req.method === "HEAD" ? "" : s3ErrorXml("AccessDenied", "Access Denied", req.url ?? "/");
    res.writeHead(403, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body), "x-amz-request-id": randomUUID() });
    res.end(body);
  };
  /** Denies without forwarding, after reading the body so the connection stays usable. */
  const deny = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on("end", () => answerDenied(req, res));
  };

  /** True when a (bucket, key) is outside its bucket's scope. */
  const outside = (bucket: string, key: string) => bucket in scopes && !key.startsWith(scopes[bucket]);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const [bucket = "", ...keyParts] = decodePath(url.pathname);
    const key = keyParts.join("/");
    const isObject = keyParts.length > 0 && key !== "";
    const isListing = !isObject && req.method === "GET" && bucket in scopes && !hasSubresource(url);

    let denied = false;
    if (isListing) denied = outside(bucket, url.searchParams.get("prefix") ?? "");
    else if (isObject) {
      denied = outside(bucket, key);
      const copySource = req.headers["x-amz-copy-source"];
      if (!denied && typeof copySource === "string") {
        const [sourceBucket = "", ...sourceKey] = decodePath(`/${copySource.replace(/^\//, "").split("?")[0]}`);
        denied = outside(sourceBucket, sourceKey.join("/"));
      }
    }
    if (denied) {
      stats.outsideScope++;
      return deny(req, res);
    }

    const missingIsForbidden = isObject && bucket in scopes && (req.method === "HEAD" || req.method === "GET");
    const outgoing = http.request(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        if (missingIsForbidden && answer.statusCode === 404) {
          stats.missingAsForbidden++;
          answer.resume();
          return answerDenied(req, res);
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => req.socket.destroy());
    req.pipe(outgoing);
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
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

/** Bucket subresources (`?versioning`, `?delete`, ...) are not listings. */
function hasSubresource(url: URL): boolean {
  const listingParameters = new Set(["list-type", "prefix", "delimiter", "max-keys", "start-after", "continuation-token", "encoding-type", "fetch-owner", "marker", "x-id"]);
  return [...url.searchParams.keys()].some((name) => !listingParameters.has(name));
}
