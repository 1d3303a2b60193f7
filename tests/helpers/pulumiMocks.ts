/**
 * Runs the real Pulumi program (index.ts) under `pulumi.runtime.setMocks`, with the real stack
 * config, and records every resource it registers. No Pulumi CLI, no cloud.
 *
 * - Config: the defaults of Pulumi.yaml, then Pulumi.<stack>.yaml, then the test's overrides,
 *   as the CLI would hand them to the program (strings keyed `<namespace>:<key>`).
 * - Invokes: `aws:index/getCallerIdentity`, `getPartition` and `getRegion` answer with a fixed
 *   account; any other invoke fails the run, so a new one is noticed.
 * - Resources: each is recorded with its inputs and the outputs the mock answered. Like the
 *   engine, a deployment (`preview: false`) returns computed properties (ARNs, ids, URLs); a
 *   preview returns only the inputs, so whatever AWS computes is unknown, as in `pulumi preview`.
 *   Unknown values appear as `UNKNOWN`, the engine's own sentinel string.
 * - StackReferences answer with `stackOutputs` (by default, the dev stack's `bucketName`).
 *
 * The program is a function (index.ts exports it), so one mocha process can run it many times:
 * each run resets the mocks, the config and the monitor.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { parse as parseYaml } from "yaml";

const ROOT = path.join(__dirname, "..", "..");

/** How the engine represents a value that is not known yet; see the module comment. */
export const UNKNOWN: string = unknownValue;

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_PARTITION = "aws";
export const MOCK_ORGANIZATION = "organization";

export interface RunProgramOptions {
  /** Which Pulumi.<stack>.yaml to load. */
  stack: string;
  /**
   * Config overrides: `mode` means `<project>:mode`; namespaced keys (`aws:region`) stay as they
   * are. Values are what `pulumi config set` would store (arrays as JSON). `undefined` removes the
   * stack's value, as `pulumi config rm` does: the Pulumi.yaml default applies again.
   */
  config?: Record<string, string | undefined>;
  /** Run as `pulumi preview`: computed outputs are unknown. @default false */
  preview?: boolean;
  /**
   * Outputs of stacks the program references, by fully qualified name.
   * @default the dev stack (`organization/<project>/dev`) with the `bucketName` it would export
   */
  stackOutputs?: Record<string, Record<string, unknown>>;
}

export interface RecordedResource {
  /** Type token, e.g. `aws:iam/rolePolicy:RolePolicy`. */
  type: string;
  /** The name the program gave it. */
  name: string;
  urn: string;
  /** URN of the parent resource (the stack for top-level components). */
  parent?: string;
  /** False for component resources. */
  custom: boolean;
  /** The `protect` resource option. */
  protect: boolean;
  /** URNs each input was computed from, as the engine is told (`{ role: [<role URN>] }`). */
  propertyDependencies: Record<string, string[]>;
  /** Inputs as the engine received them: plain values, `UNKNOWN` where not known yet; assets stay Asset objects. */
  inputs: Record<string, unknown>;
  /** What the mock answered: the inputs plus, outside preview, computed properties. */
  outputs: Record<string, unknown>;
}

export interface ProgramRun {
  resources: RecordedResource[];
  /** The stack outputs, resolved (`UNKNOWN` where not known). */
  outputs: Record<string, unknown>;
  /** The config the program saw. */
  config: Record<string, string>;
}

interface ProjectFile {
  name: string;
  config?: Record<string, unknown>;
}

function readYaml<T>(file: string): T {
  return parseYaml(fs.readFileSync(path.join(ROOT, file), "utf8")) as T;
}

/** The project's name, from Pulumi.yaml. */
export function projectName(): string {
  return readYaml<ProjectFile>("Pulumi.yaml").name;
}

/** A YAML config value as the CLI passes it to the program: scalars as text, the rest as JSON. */
function configText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Every default and value Pulumi.yaml declares, keyed `<namespace>:<key>`. */
export function projectConfigDefaults(): Record<string, string> {
  const project = readYaml<ProjectFile>("Pulumi.yaml");
  const values: Record<string, string> = {};
  for (const [key, spec] of Object.entries(project.config ?? {})) {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (spec !== null && typeof spec === "object" && !Array.isArray(spec)) {
      const declared = spec as { default?: unknown; value?: unknown };
      const value = declared.default !== undefined ? declared.default : declared.value;
      if (value !== undefined) values[full] = configText(value);
    } else {
      values[full] = configText(spec);
    }
  }
  return values;
}

/** The config a stack's program sees: Pulumi.yaml defaults, Pulumi.<stack>.yaml, then overrides. */
export function stackConfig(stack: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const project = projectName();
  const qualify = (key: string) => (key.includes(":") ? key : `${project}:${key}`);
  const defaults = projectConfigDefaults();
  const values = { ...defaults };
  const stackFile = readYaml<{ config?: Record<string, unknown> } | null>(`Pulumi.${stack}.yaml`);
  for (const [key, value] of Object.entries(stackFile?.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in value) {
      throw new Error(`Pulumi.${stack}.yaml: ${key} is a secret; the mocks cannot decrypt it`);
    }
    values[qualify(key)] = configText(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    const full = qualify(key);
    if (value !== undefined) values[full] = value;
    else if (full in defaults) values[full] = defaults[full];
    else delete values[full];
  }
  return values;
}

/** Outputs the mocks give a stack's StackReference when the test names none. */
function defaultStackOutputs(project: string): Record<string, Record<string, unknown>> {
  const devBucket = `${project}-${MOCK_ACCOUNT_ID}-dev`;
  return {
    [`${MOCK_ORGANIZATION}/${project}/dev`]: { bucketName: devBucket, bucketArn: `arn:aws:s3:::${devBucket}` },
  };
}

/** Computed properties AWS would return for a created resource of this type. */
function computedOutputs(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const physical = typeof inputs.name === "string" ? inputs.name : name;
  const at = `${region}:${MOCK_ACCOUNT_ID}`;
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = typeof inputs.bucket === "string" ? inputs.bucket : name;
      return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com` };
    }
    case "aws:lambda/function:Function":
      return { id: physical, name: physical, arn: `arn:aws:lambda:${at}:function:${physical}`, version: "$LATEST" };
    case "aws:iam/role:Role":
      return { id: physical, name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical}` };
    case "aws:sfn/stateMachine:StateMachine":
      return { id: physical, name: physical, arn: `arn:aws:states:${at}:stateMachine:${physical}` };
    case "aws:sns/topic:Topic":
      return { id: physical, name: physical, arn: `arn:aws:sns:${at}:${physical}` };
    case "aws:sqs/queue:Queue":
      return {
        name: physical,
        arn: `arn:aws:sqs:${at}:${physical}`,
        url: `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT_ID}/${physical}`,
        id: `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT_ID}/${physical}`,
      };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { id: physical, name: physical, arn: `arn:aws:logs:${at}:log-group:${physical}` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { id: physical, name: physical, arn: `arn:aws:events:${at}:rule/${physical}` };
    case "aws:scheduler/schedule:Schedule":
      return { id: physical, name: physical, arn: `arn:aws:scheduler:${at}:schedule/default/${physical}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { id: physical, name: physical, arn: `arn:aws:cloudwatch:${at}:alarm:${physical}` };
    default:
      return { id: `${name}-id`, arn: `arn:aws:mock:${at}:${type}/${name}` };
  }
}

/** Replaces the engine's unknowns with `UNKNOWN` and drops undefined keys; assets stay objects. */
function plain(value: unknown): unknown {
  if (pulumi.isUnknown(value) || value === unknownValue) return UNKNOWN;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) result[k] = plain(v);
    return result;
  }
  return value;
}

/** The internal view of an Output the settle step needs (not in the public typings). */
interface OutputInternals {
  isKnown: Promise<boolean>;
  promise(withUnknowns?: boolean): Promise<unknown>;
}

/** Resolves Outputs (and Outputs inside values) to plain values, `UNKNOWN` where unknown. */
async function settle(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as unknown as OutputInternals;
    if (!(await output.isKnown)) return UNKNOWN;
    return settle(await output.promise(true));
  }
  if (pulumi.isUnknown(value)) return UNKNOWN;
  if (Array.isArray(value)) return Promise.all(value.map(settle));
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await settle(v)] as const));
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}

/** The monitor calls the helper wraps to learn URNs, parents and options. */
interface ResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect?(): boolean;
  getPropertydependenciesMap?(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}
interface ResourceResponse {
  getUrn(): string;
}
type MonitorCall = (req: ResourceRequest, callback: (err: Error | null, resp?: ResourceResponse) => void) => void;

/**
 * Runs the program for a stack under mocks and returns what it registered and exported.
 * Rejects with the program's error (a configuration problem, for instance) after the run has
 * settled.
 */
export async function runProgram(options: RunProgramOptions): Promise<ProgramRun> {
  const project = projectName();
  const config = stackConfig(options.stack, options.config);
  const region = config["aws:region"] ?? "us-east-1";
  const stackOutputs = options.stackOutputs ?? defaultStackOutputs(project);
  const preview = options.preview ?? false;
  const resources: RecordedResource[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        const inputs = plain(args.inputs) as Record<string, unknown>;
        let id: string | undefined;
        let state: Record<string, unknown>;
        if (args.type === "pulumi:pulumi:StackReference") {
          // A read: known at preview too, as `pulumi preview` reads the referenced stack.
          const stackName = String(args.inputs.name);
          id = stackName;
          state = { name: stackName, outputs: stackOutputs[stackName] ?? {}, secretOutputNames: [] };
        } else if (preview || !args.custom) {
          id = preview ? undefined : `${args.name}-id`;
          state = { ...args.inputs };
        } else {
          const computed = computedOutputs(args.type, args.name, inputs, region);
          id = String(computed.id);
          state = { ...args.inputs, ...computed };
        }
        resources.push({
          type: args.type,
          name: args.name,
          urn: "",
          custom: args.custom ?? true,
          protect: false,
          propertyDependencies: {},
          inputs,
          outputs: plain(state) as Record<string, unknown>,
        });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId: MOCK_ACCOUNT_ID,
              arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/ci`,
              id: MOCK_ACCOUNT_ID,
              userId: "AIDAMOCK",
            };
          case "aws:index/getPartition:getPartition":
            return { id: MOCK_PARTITION, partition: MOCK_PARTITION, dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
          case "aws:index/getRegion:getRegion":
            return { id: region, name: region, region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
          default:
            throw new Error(`runProgram: no mock for invoke ${args.token}; add one to tests/helpers/pulumiMocks.ts`);
        }
      },
    },
    project,
    options.stack,
    preview,
    MOCK_ORGANIZATION,
  );
  pulumi.runtime.setAllConfig(config, []);

  // Learn each resource's URN, parent and `protect` from the requests the mock monitor answers
  // (registrations, and reads such as StackReferences).
  const monitor = pulumi.runtime.getMonitor() as unknown as Record<"registerResource" | "readResource", MonitorCall>;
  for (const method of ["registerResource", "readResource"] as const) {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req, callback) =>
      original(req, (err, resp) => {
        const record = resources.find((r) => r.urn === "" && r.type === req.getType() && r.name === req.getName());
        if (!err && resp && record) {
          record.urn = resp.getUrn();
          record.parent = req.getParent() || undefined;
          record.protect = req.getProtect?.() ?? false;
          req.getPropertydependenciesMap?.().forEach((deps, key) => {
            const urns = deps.getUrnsList();
            if (urns.length > 0) record.propertyDependencies[key] = urns;
          });
        }
        callback(err, resp);
      });
  }

  // Loaded here, not at the top: the program module must see the mocks' settings when it loads
  // its own dependencies' config (and a test that never runs the program need not load it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require("../../index") as () => Promise<Record<string, unknown>>;
  let exported: Record<string, unknown> = {};
  let failure: unknown;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      exported = await program();
      return exported;
    });
  } catch (err) {
    failure = err;
  }
  // Every registration (including asynchronous inputs such as serialized code) has finished.
  await pulumi.runtime.disconnect();
  if (failure !== undefined) throw failure;

  return { resources, outputs: (await settle(exported)) as Record<string, unknown>, config };
}

// ---------------------------------------------------------------------------------------------
// Queries over a run

/** Resources of a type token. */
export function resourcesOfType(run: ProgramRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** True if a value is, or contains, `UNKNOWN`. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (typeof value === "string") return value.includes(UNKNOWN);
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

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
 * What an Allow statement grants too broadly on S3, one line per finding: a wildcard in an action
 * (`s3:*`, `s3:Get*`, `*`), `NotAction`/`NotResource`, or an S3 action on a resource that is `*`
 * or whose bucket name has a wildcard. Keys under a named bucket (`arn:aws:s3:::name/prefix/*`)
 * are fine. Deny statements guard and are not findings.
 */
export function s3WildcardGrants(document: IamDocument): string[] {
  const findings: string[] = [];
  for (const [i, statement] of document.Statement.entries()) {
    if (statement.Effect !== "Allow") continue;
    const at = statement.Sid ?? `Statement[${i}]`;
    if (statement.NotAction !== undefined) findings.push(`${at}: NotAction`);
    if (statement.NotResource !== undefined) findings.push(`${at}: NotResource`);
    const actions = list(statement.Action);
    for (const action of actions) {
      if (/[*?]/.test(action)) findings.push(`${at}: wildcard action ${action}`);
    }
    if (!actions.some((action) => action === "*" || action.toLowerCase().startsWith("s3:"))) continue;
    for (const resource of list(statement.Resource)) {
      const match = /^arn:[^:]+:s3:::([^/]*)(\/.*)?$/.exec(resource);
      if (!match) findings.push(`${at}: S3 action on non-S3 resource ${resource}`);
      else if (match[1] === "" || /[*?]/.test(match[1])) findings.push(`${at}: wildcard bucket in ${resource}`);
    }
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
 * A directory that plays the Lambda runtime's own node_modules (/var/runtime/node_modules): it
 * provides the AWS SDK v3 and nothing else, so an archive that forgot a package fails to load.
 */
export function lambdaRuntimeModules(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-sync-runtime-"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk"), path.join(dir, "node_modules", "@aws-sdk"), "dir");
  return path.join(dir, "node_modules");
}

/** What a handler invocation returned, shaped as the Lambda runtime reports it. */
export type InvocationResult =
  | { ok: true; result: unknown }
  | { ok: false; errorType: string; errorMessage: string };

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
  return JSON.parse(child.stdout.slice(marker + "@@RESULT@@".length)) as InvocationResult;
}
