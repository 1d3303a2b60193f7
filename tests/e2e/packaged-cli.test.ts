/**
 * The CLI as a user installs it: `npm pack`, then `npm install -g` of the tarball into a fresh
 * prefix (no devDependencies, no install scripts of ours), then the installed `bucket-sync`
 * binary starts its own embedded S3 server and syncs one bucket into another on it. This proves
 * that every run-time need is a dependency and that the patched s3rver ships inside the package.
 */
import { strict as assert } from "node:assert";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { cliEnv, ROOT } from "../helpers/cli";
import { listKeys } from "../helpers/s3";

const run = promisify(execFile);

describe("the packed and installed CLI", function () {
  this.timeout(300_000);
  let dir: string;
  let bin: string;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bucket-sync-pack-"));
    // --ignore-scripts: the checkout is already built by `npm ci`; prepare would rebuild it.
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, env: cliEnv() });
    const tarball = (await readdir(dir)).find((file) => file.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote a tarball");
    const prefix = path.join(dir, "prefix");
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", path.join(dir, tarball)], {
      cwd: dir,
      env: cliEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    bin = path.join(prefix, "bin", "bucket-sync");
  });

  after(async () => {
    server?.kill("SIGTERM");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const installed = (args: string[], env: Record<string, string> = {}) =>
    run(bin, args, { cwd: dir, env: { ...cliEnv(env), NODE_NO_WARNINGS: "" } });

  it("ships only the built CLI, its README and the patched embedded server", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, env: cliEnv(), maxBuffer: 64 * 1024 * 1024 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((file) => file.path);
    const top = new Set(files.map((file) => file.split("/")[0]));
    // index.ts is package.json's `main` (the Pulumi program), which npm always packs.
    assert.deepEqual([...top].sort(), ["README.md", "dist", "index.ts", "node_modules", "package.json"]);
    assert.ok(!files.some((file) => file.startsWith("dist/tests/") || (file.startsWith("dist/") && file.endsWith(".map"))), "no tests or source maps");
    assert.ok(files.includes("node_modules/s3rver/lib/controllers/object.js"), "s3rver is bundled");
  });

  it("prints its version and each command's help", async () => {
    const { stdout: version } = await installed(["--version"]);
    assert.match(version.trim(), /^\d+\.\d+\.\d+/);
    for (const command of ["sync", "s3-server", "demo", "check-policy"]) {
      const { stdout } = await installed([command, "--help"]);
      assert.match(stdout, new RegExp(`^Usage: bucket-sync ${command}`), command);
    }
  });

  it("syncs two buckets on its own embedded server, whose s3rver fixes are in the installed copy", async () => {
    server = spawn(bin, ["s3-server"], { cwd: dir, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let out = "";
      server!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /AWS_ENDPOINT_URL=(\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      server!.once("exit", (code) => reject(new Error(`s3-server exited ${code}: ${out}`)));
    });
    const credentials = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    try {
      for (const bucket of ["installed-src", "installed-dst", "installed-reports"]) {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      }
      // More keys than a list page, and keys the unpatched server mishandles ("+", "?", a space
      // at the end): they copy only if the patched files were installed.
      const keys = [...Array.from({ length: 1010 }, (_, i) => `k/${String(i).padStart(4, "0")}`), "plus+sign", "what?", "trailing "];
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((Key) => client.send(new PutObjectCommand({ Bucket: "installed-src", Key, Body: `body of ${Key}` }))));
      }

      const { stdout } = await installed(
        ["sync", "--source", "s3://installed-src", "--destination", "s3://installed-dst", "--endpoint", endpoint, "--report-to", "s3://installed-reports/", "--json"],
        credentials,
      );
      const report = JSON.parse(stdout) as { status: string; copied: number };
      assert.equal(report.status, "SUCCEEDED");
      assert.equal(report.copied, keys.length);
      const copied = (await listKeys(client, "installed-dst")).map((object) => object.key);
      assert.deepEqual(copied, [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    } finally {
      client.destroy();
    }
  });
});
