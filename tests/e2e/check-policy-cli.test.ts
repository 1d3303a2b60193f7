import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURES = path.join("tests", "fixtures", "iam-policies");
const fixture = (name: string) => path.join(FIXTURES, `${name}.json`);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bucket-sync check-policy ARGS` from the project root, as a user would. */
function checkPolicy(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "tsx/cjs", "cli/index.ts", "check-policy", ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/** The fixture files hold `{ why, expect, document }`; the CLI reads bare documents. */
let tmp: string;
function documentFile(name: string, document: unknown): string {
  const file = path.join(tmp, `${name}.json`);
  writeFileSync(file, typeof document === "string" ? document : JSON.stringify(document, null, 2));
  return file;
}

const S3_STAR = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::sync-dev" }] };
const LEAST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::sync-dev/*" }],
};

describe("bucket-sync check-policy", () => {
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "check-policy-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("exits 0 and says pass for documents without wildcard S3 access", async () => {
    const run = await checkPolicy([documentFile("least", LEAST)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /least\.json: pass\n/);
    assert.match(run.stdout, /checked 1 file: 1 pass\n$/);
  });

  it("exits 1 and prints file, statement, action, resource and reason for a violation", async () => {
    const run = await checkPolicy([documentFile("least", LEAST), documentFile("star", S3_STAR)]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stdout,
      /star\.json: violation: Statement\[0\] \(Sid "All"\): action "s3:\*" on "arn:aws:s3:::sync-dev": "s3:\*" grants every action of S3.* Instead: /,
    );
    assert.match(run.stdout, /checked 2 files: 1 pass, 1 violation/);
  });

  it("exits 2 for a file that is not JSON, naming the parse error", async () => {
    const run = await checkPolicy([documentFile("broken", "{ \"Statement\": [")]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /broken\.json: malformed: document: the policy document is not valid JSON/);
  });

  it("exits 2 for a malformed statement, and 2 wins over a violation", async () => {
    const both = { Statement: [{ Effect: "Allow", Action: "s3:GetObject", NotAction: "s3:PutObject", Resource: "*" }] };
    const run = await checkPolicy([documentFile("both", both), documentFile("star", S3_STAR)]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /both\.json: malformed: Statement\[0\]: action "s3:GetObject" on "\*": the statement has both Action and NotAction/);
    assert.match(run.stdout, /star\.json: violation: /);
  });

  it("exits 2 for a file it cannot read", async () => {
    const run = await checkPolicy([path.join(tmp, "missing.json")]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /missing\.json: unreadable: ENOENT/);
  });

  it("exits 2 for values it cannot check, such as template intrinsics", async () => {
    const run = await checkPolicy([
      documentFile("intrinsic", { Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: { "Fn::Sub": "arn:aws:s3:::${Bucket}/*" } }] }),
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /intrinsic\.json: unchecked: .*Resource is \{"Fn::Sub"/);
  });

  it("exits 2 with usage when no file is given", async () => {
    const run = await checkPolicy([]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing required argument 'file'/);
  });

  it("reads standard input for -, and the AWS CLI's get-policy-version output", async () => {
    const awsCli = JSON.stringify({ PolicyVersion: { Document: S3_STAR, VersionId: "v1", IsDefaultVersion: true } });
    const run = await checkPolicy(["-"], awsCli);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /<stdin>: violation: Statement\[0\] \(Sid "All"\)/);
  });

  it("prints machine-readable findings with --json", async () => {
    const run = await checkPolicy(["--json", documentFile("star", S3_STAR), documentFile("least", LEAST), path.join(tmp, "missing.json")]);
    assert.equal(run.code, 2);
    const report = JSON.parse(run.stdout) as {
      exitCode: number;
      files: Array<{ file: string; verdict: string; error?: string; findings: Array<Record<string, unknown>> }>;
    };
    assert.equal(report.exitCode, 2);
    assert.deepEqual(report.files.map((f) => f.verdict), ["violation", "pass", "unreadable"]);
    assert.deepEqual(
      { ...report.files[0].findings[0], reason: "", fix: "" },
      { kind: "violation", rule: "wildcard-action", statementIndex: 0, sid: "All", statement: 'Statement[0] (Sid "All")', action: "s3:*", resource: "arn:aws:s3:::sync-dev", reason: "", fix: "" },
    );
    assert.match(report.files[2].error ?? "", /ENOENT/);
  });

  it("accepts the pack's account-level allowance", async () => {
    const listing = documentFile("listing", { Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] });
    assert.equal((await checkPolicy([listing])).code, 1);
    assert.equal((await checkPolicy(["--allow-account-level-action", "s3:ListAllMyBuckets", listing])).code, 0);
  });

  it("agrees with the rule tests on the corpus' documents", async () => {
    const run = await checkPolicy([
      "--json",
      documentFile("a", require(path.join(ROOT, fixture("cfn-nag-misses-s3-get-star"))).document),
      documentFile("b", require(path.join(ROOT, fixture("resource-key-prefix-wildcard"))).document),
      documentFile("c", require(path.join(ROOT, fixture("aws-managed-poweruseraccess"))).document),
    ]);
    const report = JSON.parse(run.stdout) as { files: Array<{ verdict: string }> };
    assert.deepEqual(report.files.map((f) => f.verdict), ["violation", "pass", "violation"]);
  });

  it("starts without loading any @pulumi package", async () => {
    const probe = [
      "require('tsx/cjs');",
      "require('./cli/checkPolicy.ts');",
      "const loaded = Object.keys(require.cache).filter((k) => k.includes('@pulumi'));",
      "process.stdout.write(JSON.stringify(loaded));",
    ].join("");
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", probe], { cwd: ROOT });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.on("error", reject);
      child.on("close", () => resolve(stdout));
    });
    assert.deepEqual(JSON.parse(out), []);
  });
});
