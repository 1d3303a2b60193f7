/**
 * Test helpers over the Pulumi program run under mocks. The runner itself (config loading, mocks,
 * recording) is product code in offline-pulumi/program.ts, which `bucket-sync preview` uses too;
 * it is re-exported here so specs import one helper module. What stays here is for tests only:
 * reading the IAM documents a run registered, and writing a function's archive to disk and calling
 * its handler in a fresh Node process.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { containsUnknown, type ProgramRun, type RecordedResource } from "../../offline-pulumi/program";
import { checkPolicyDocument, describeFinding, hasWildcard } from "../../policy-pack/rules";

export {
  containsUnknown,
  MOCK_ACCOUNT_ID,
  MOCK_ORGANIZATION,
  MOCK_PARTITION,
  projectConfigDefaults,
  projectName,
  resourcesOfType,
  runProgram,
  stackConfig,
  UNKNOWN,
  type ProgramRun,
  type PulumiProgram,
  type RecordedResource,
  type RunProgramOptions,
} from "../../offline-pulumi/program";

const ROOT = path.join(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------
// IAM documents in a run

/** An IAM document the program registered, parsed, with where it came from. */
export interface RegisteredDocument {
  resource: RecordedResource;
  /** `assumeRolePolicy` or `policy`. */
  property: string;
  /** The raw input (`UNKNOWN`, or JSON text). */
  text: unknown;
  /** Parsed, when the text is known. */
  document?: IamDocument;
}

export interface IamStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
export interface IamDocument {
  Version: string;
  Statement: IamStatement[];
}

/** Where IAM documents live in the resources this program creates. */
const DOCUMENT_PROPERTIES: Record<string, string[]> = {
  "aws:iam/role:Role": ["assumeRolePolicy"],
  "aws:iam/rolePolicy:RolePolicy": ["policy"],
  "aws:iam/policy:Policy": ["policy"],
  "aws:s3/bucketPolicy:BucketPolicy": ["policy"],
  "aws:sqs/queuePolicy:QueuePolicy": ["policy"],
  "aws:sns/topicPolicy:TopicPolicy": ["policy"],
};

/** Every IAM document in a run (roles' trust policies, role policies, bucket and queue policies). */
export function iamDocuments(run: ProgramRun): RegisteredDocument[] {
  const found: RegisteredDocument[] = [];
  for (const resource of run.resources) {
    for (const property of DOCUMENT_PROPERTIES[resource.type] ?? []) {
      const text = resource.inputs[property];
      if (text === undefined) continue;
      const known = typeof text === "string" && !containsUnknown(text);
      found.push({ resource, property, text, document: known ? (JSON.parse(text) as IamDocument) : undefined });
    }
  }
  return found;
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * What a document grants too broadly, one line per finding: the policy pack's wildcard-S3 rule
 * (`checkPolicyDocument` in policy-pack/rules, the only implementation of it), plus what least
 * privilege rules out beyond S3 — a wildcard in any Allow statement's action (`logs:*`, `*`) and
 * `NotAction`/`NotResource` in an Allow statement. Deny statements guard and are not findings.
 */
export function overlyBroadGrants(document: IamDocument): string[] {
  // A trust policy names no Resource (the role is the resource); the rule, written for policies
  // that grant permissions, calls that malformed. Its grants are still judged.
  const trust = document.Statement.every((statement) => statement.Principal !== undefined && list(statement.Action).every((a) => /^sts:AssumeRole/i.test(a)));
  const findings = checkPolicyDocument(document)
    .filter((finding) => !trust || finding.kind === "violation")
    .map(describeFinding);
  for (const [i, statement] of document.Statement.entries()) {
    if (statement.Effect !== "Allow") continue;
    const at = statement.Sid ?? `Statement[${i}]`;
    if (statement.NotAction !== undefined) findings.push(`${at}: NotAction`);
    if (statement.NotResource !== undefined) findings.push(`${at}: NotResource`);
    for (const action of list(statement.Action).filter(hasWildcard)) findings.push(`${at}: wildcard action ${action}`);
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Lambda archives: write a function's `code` to disk and call a handler in a fresh Node process

/**
 * Writes an AssetArchive (a function's `code` input) to a directory: string assets as files,
 * file assets and archives (CallbackFunction's node_modules entries) copied from disk.
 */
export async function materializeArchive(archive: unknown, dir: string): Promise<string[]> {
  if (!(archive instanceof pulumi.asset.AssetArchive)) throw new Error("materializeArchive: not an AssetArchive");
  const assets = (await archive.assets) as Record<string, pulumi.asset.Asset | pulumi.asset.Archive>;
  const written: string[] = [];
  for (const [relative, asset] of Object.entries(assets)) {
    const target = path.join(dir, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (asset instanceof pulumi.asset.StringAsset) {
      fs.writeFileSync(target, await asset.text);
    } else if (asset instanceof pulumi.asset.FileAsset || asset instanceof pulumi.asset.FileArchive) {
      fs.cpSync(path.resolve(ROOT, await asset.path), target, { recursive: true, dereference: true });
    } else {
      throw new Error(`materializeArchive: ${relative} is a ${asset.constructor.name}, which this helper does not write`);
    }
    written.push(relative);
  }
  return written.sort();
}

/**
 * A directory that plays the Lambda runtime's own node_modules (/var/runtime/node_modules). It is
 * empty: the archives carry their pinned AWS SDK, so one that forgot a package (the SDK included)
 * fails to load instead of silently using whatever SDK version the runtime ships.
 */
export function lambdaRuntimeModules(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-sync-runtime-"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  return path.join(dir, "node_modules");
}

/** What a handler invocation returned, shaped as the Lambda runtime reports it. */
export type InvocationResult = (
  | { ok: true; result: unknown }
  | { ok: false; errorType: string; errorMessage: string }
) & {
  /** The JSON lines the handler logged (stdout and stderr), parsed. */
  logs?: Array<Record<string, unknown>>;
};

/**
 * Loads `<dir>/<file>` in a fresh `node` (no access to the project's node_modules) and calls its
 * export with `event`, as the Lambda Node.js runtime would with handler `<file>.<exportName>`.
 * A thrown value is reported the runtime's way: `errorType` is the error's `name` only for a real
 * Error (or an object with string name, message and stack); anything else reports its `typeof`.
 */
export function invokeHandler(args: {
  dir: string;
  file: string;
  exportName: string;
  event: unknown;
  env?: Record<string, string>;
  runtimeModules: string;
}): InvocationResult {
  const script = `
    const util = require("node:util");
    const [file, exportName, eventJson] = process.argv.slice(1);
    const print = (value) => process.stdout.write("\\n@@RESULT@@" + JSON.stringify(value) + "\\n");
    const isError = (e) => util.types.isNativeError(e) || (e && typeof e.name === "string" && typeof e.message === "string" && typeof e.stack === "string");
    Promise.resolve()
      .then(() => {
        const handler = require(file)[exportName];
        if (typeof handler !== "function") throw new TypeError(exportName + " is not a function in " + file);
        // The nodejs24.x runtime no longer supports callback-style handlers (event, context, callback).
        if (handler.length > 2) throw new TypeError(exportName + " takes a callback, which nodejs24.x no longer calls");
        return handler(JSON.parse(eventJson), { functionName: "test", getRemainingTimeInMillis: () => 60000 });
      })
      .then(
        (result) => print({ ok: true, result }),
        (e) => print(isError(e) ? { ok: false, errorType: e.name, errorMessage: e.message } : { ok: false, errorType: typeof e, errorMessage: String(e) }),
      );
  `;
  const child = spawnSync(process.execPath, ["-e", script, path.join(args.dir, args.file), args.exportName, JSON.stringify(args.event)], {
    cwd: args.dir,
    encoding: "utf8",
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_PATH: args.runtimeModules,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      ...args.env,
    },
  });
  const marker = child.stdout.lastIndexOf("@@RESULT@@");
  if (marker < 0) {
    throw new Error(`handler process exited with ${child.status} and no result:\n${child.stderr}\n${child.stdout}`);
  }
  const logs = `${child.stdout.slice(0, marker)}\n${child.stderr}`
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...(JSON.parse(child.stdout.slice(marker + "@@RESULT@@".length)) as InvocationResult), logs };
}
