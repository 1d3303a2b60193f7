/**
 * The canary's checks on real AWS accounts (.github/workflows/canary.yml), one subcommand per step:
 *
 *   npm run canary -- seed              puts a small tree into the dev bucket (dev account's credentials)
 *   npm run canary -- delete-one        deletes one dev object (dev account's credentials)
 *   npm run canary -- sync backup       runs the prod machine (backup) and checks the copy
 *   npm run canary -- sync mirror       runs a mirror and checks the deleted object is gone from prod
 *   npm run canary -- rest              starts a run through the REST trigger (SigV4-signed POST /syncs)
 *   npm run canary -- simulate          `aws iam simulate-principal-policy` on every deployed role for
 *                                       the actions the local runs exercised (infra/exercisedActions.json)
 *   npm run canary -- validate-policies IAM Access Analyzer `validate-policy` on every role's policy
 *
 * What the local enforcement (local-stepfunctions/iam.ts) cannot see, this sees: SCPs, RCPs,
 * permission boundaries, VPC endpoint policies, the account's public-access block. It reads the
 * stacks' outputs from the environment (DEV_BUCKET, PROD_BUCKET, STATE_MACHINE_ARN, API_URL,
 * PROD_ACCOUNT_ID, STACK_STEM) and calls AWS through the `aws` CLI of the runner. Each step runs
 * with one account's credentials: what dev holds is kept in a manifest file (CANARY_MANIFEST) by
 * the dev steps and compared with prod by the prod steps.
 */
import { execFileSync } from "node:child_process";
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HANDLER_NAMES } from "../model/contract";
import exercised from "../infra/exercisedActions.json";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the canary workflow passes the stacks' outputs in the environment`);
  return value;
}

function aws(args: string[]): any {
  const out = execFileSync("aws", [...args, "--output", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim() ? JSON.parse(out) : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(executionArn: string): Promise<void> {
  for (let i = 0; i < 180; i++) {
    const { status, error, cause } = aws(["stepfunctions", "describe-execution", "--execution-arn", executionArn]);
    if (status === "SUCCEEDED") return;
    if (status !== "RUNNING") throw new Error(`${executionArn} ended ${status}: ${error}: ${cause}`);
    await sleep(10_000);
  }
  throw new Error(`${executionArn} still running after 30 minutes`);
}

function keys(bucket: string): Map<string, string> {
  const listed = aws(["s3api", "list-objects-v2", "--bucket", bucket]);
  return new Map((listed?.Contents ?? []).map((o: { Key: string; Size: number }) => [o.Key, String(o.Size)]));
}

const MANIFEST = process.env.CANARY_MANIFEST ?? "canary-dev-keys.json";
const saveManifest = (bucket: string) => writeFileSync(MANIFEST, JSON.stringify([...keys(bucket)]));

function assertCopy(mode: "backup" | "mirror"): void {
  const dev = new Map<string, string>(JSON.parse(readFileSync(MANIFEST, "utf8")) as Array<[string, string]>);
  const prod = keys(env("PROD_BUCKET"));
  for (const [key, size] of dev) if (prod.get(key) !== size) throw new Error(`s3://${env("PROD_BUCKET")}/${key} is missing or differs`);
  if (mode === "mirror") for (const key of prod.keys()) if (!dev.has(key)) throw new Error(`mirror left s3://${env("PROD_BUCKET")}/${key}`);
  console.log(`${mode}: prod holds the ${dev.size} objects of dev`);
}

async function startAndWait(request: object): Promise<void> {
  const { executionArn } = aws(["stepfunctions", "start-execution", "--state-machine-arn", env("STATE_MACHINE_ARN"), "--input", JSON.stringify(request)]);
  console.log(`started ${executionArn}`);
  await waitFor(executionArn);
}

/** SHA-256 (and its HMAC) as the SigV4 signer takes it, from node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
class Sha256 {
  private hash: Hash | Hmac;
  private readonly secret?: string | Uint8Array;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.secret ? createHmac("sha256", this.secret) : createHash("sha256");
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret ? createHmac("sha256", this.secret) : createHash("sha256");
  }
}

/** POST /syncs signed with the runner's credentials (the API's AWS_IAM authorization). */
async function restRun(): Promise<void> {
  const { SignatureV4 } = await import("@smithy/signature-v4");
  const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
  const url = new URL(`${env("API_URL").replace(/\/$/, "")}`);
  const region = url.hostname.split(".")[2];
  const body = JSON.stringify({ source: { bucket: env("DEV_BUCKET") }, destination: { bucket: env("PROD_BUCKET") } });
  const signer = new SignatureV4({ credentials: defaultProvider(), region, service: "execute-api", sha256: Sha256 });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    path: url.pathname,
    headers: { host: url.hostname, "content-type": "application/json" },
    body,
  });
  const response = await fetch(url, { method: "POST", headers: signed.headers as Record<string, string>, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  const { executionArn } = JSON.parse(text) as { executionArn: string };
  console.log(`the REST trigger started ${executionArn}`);
  await waitFor(executionArn);
  assertCopy("backup");
}

/** The deployed role of each handler, and the machine's (found by its policy's name). */
function roleArns(): Record<string, string> {
  const stem = env("STACK_STEM");
  const account = env("PROD_ACCOUNT_ID");
  const roles: Record<string, string> = Object.fromEntries(HANDLER_NAMES.map((h) => [h, `arn:aws:iam::${account}:role/${stem}-${h}`]));
  const machine = aws(["stepfunctions", "describe-state-machine", "--state-machine-arn", env("STATE_MACHINE_ARN")]);
  roles["state-machine"] = machine.roleArn;
  return roles;
}

function simulate(): void {
  const roles = roleArns();
  const denied: string[] = [];
  for (const [role, actions] of Object.entries(exercised as Record<string, string[]>)) {
    // Resources are the role's own (its policy names them); "*" asks whether any statement allows the action at all.
    const result = aws(["iam", "simulate-principal-policy", "--policy-source-arn", roles[role], "--action-names", ...actions]);
    for (const r of result.EvaluationResults) if (r.EvalDecision !== "allowed") denied.push(`${role}: ${r.EvalActionName} ${r.EvalDecision}`);
  }
  if (denied.length > 0) throw new Error(`simulate-principal-policy denies what the runs need:\n${denied.join("\n")}`);
  console.log("simulate-principal-policy allows every exercised action of every role");
}

function validatePolicies(): void {
  const dir = mkdtempSync(join(tmpdir(), "canary-"));
  const findings: string[] = [];
  for (const [role, arn] of Object.entries(roleArns())) {
    const name = arn.split("/").pop()!;
    const { PolicyNames } = aws(["iam", "list-role-policies", "--role-name", name]);
    for (const policyName of PolicyNames as string[]) {
      const { PolicyDocument } = aws(["iam", "get-role-policy", "--role-name", name, "--policy-name", policyName]);
      const file = join(dir, `${name}-${policyName}.json`);
      writeFileSync(file, JSON.stringify(PolicyDocument));
      const { findings: found } = aws(["accessanalyzer", "validate-policy", "--policy-type", "IDENTITY_POLICY", "--policy-document", `file://${file}`]);
      for (const f of found as Array<{ findingType: string; issueCode: string; findingDetails: string }>) {
        if (f.findingType === "ERROR" || f.findingType === "SECURITY_WARNING") findings.push(`${role} (${policyName}): ${f.findingType} ${f.issueCode}: ${f.findingDetails}`);
      }
    }
  }
  if (findings.length > 0) throw new Error(`Access Analyzer:\n${findings.join("\n")}`);
  console.log("Access Analyzer finds no error or security warning in any role's policy");
}

async function main(): Promise<void> {
  const [command, argument] = process.argv.slice(2);
  switch (command) {
    case "seed": {
      const dir = mkdtempSync(join(tmpdir(), "canary-seed-"));
      for (const key of ["site/index.html", "site/app.js", "data/2026/a.csv", "data/2026/b.csv", "to-delete.txt"]) {
        const file = join(dir, key.replace(/\//g, "_"));
        writeFileSync(file, `canary ${key}\n`);
        aws(["s3api", "put-object", "--bucket", env("DEV_BUCKET"), "--key", key, "--body", file]);
      }
      return saveManifest(env("DEV_BUCKET"));
    }
    case "delete-one":
      aws(["s3api", "delete-object", "--bucket", env("DEV_BUCKET"), "--key", "to-delete.txt"]);
      return saveManifest(env("DEV_BUCKET"));
    case "sync":
      if (argument === "backup") {
        await startAndWait({ source: { bucket: env("DEV_BUCKET") }, destination: { bucket: env("PROD_BUCKET") } });
        return assertCopy("backup");
      }
      if (argument === "mirror") {
        await startAndWait({ source: { bucket: env("DEV_BUCKET") }, destination: { bucket: env("PROD_BUCKET") }, mode: "mirror", maxDeletes: "1" });
        return assertCopy("mirror");
      }
      throw new Error(`sync ${argument}: use sync backup or sync mirror`);
    case "rest":
      return restRun();
    case "simulate":
      return simulate();
    case "validate-policies":
      return validatePolicies();
    default:
      throw new Error(`unknown canary step "${command}": seed, delete-one, sync backup, sync mirror, rest, simulate, validate-policies`);
  }
}

main().catch((err: unknown) => {
  console.error(`canary: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
