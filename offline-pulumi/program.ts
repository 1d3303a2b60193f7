/**
 * The Pulumi program (index.ts), run offline: under `pulumi.runtime.setMocks`, with a stack's real
 * config, recording every resource it registers — no Pulumi CLI, no backend, no cloud. The tests
 * use it to prove what the program creates; `bucket-sync preview` uses it to show what
 * `pulumi preview` would create (offline-pulumi/preview.ts).
 *
 * - Config: the defaults of Pulumi.yaml, then Pulumi.<stack>.yaml, then overrides, as the CLI
 *   would hand them to the program (strings keyed `<namespace>:<key>`).
 * - Invokes: `aws:index/getCallerIdentity`, `getPartition` and `getRegion` answer with a fixed
 *   account; any other invoke fails the run, so a new one is noticed.
 * - Resources: each is recorded with its inputs and the outputs the mock answered. Like the
 *   engine, a deployment (`preview: false`) returns computed properties (ARNs, ids, URLs); a
 *   preview returns only the inputs, so whatever AWS computes is unknown, as in `pulumi preview`.
 *   Unknown values appear as `UNKNOWN`, the engine's own sentinel string.
 * - StackReferences answer with `stackOutputs` (by default, the dev stack's `bucketName`).
 *
 * The program is a function (index.ts exports it), so one process can run it many times: each
 * run resets the mocks, the config and the monitor.
 *
 * This module loads the program from its TypeScript source, so it runs under tsx (as Pulumi runs
 * the program: Pulumi.yaml's `nodeargs: --require tsx/cjs`), never from a compiled dist/ that may
 * be older than the sources being previewed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { parse as parseYaml } from "yaml";

/** The project directory: the nearest one above this module that holds Pulumi.yaml. */
export const PROJECT_ROOT: string = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${__dirname}`);
  }
})();

/** How the engine represents a value that is not known yet; see the module comment. */
export const UNKNOWN: string = unknownValue;

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_PARTITION = "aws";
/** The organization stacks are qualified with (`organization/<project>/<stack>`). */
export const MOCK_ORGANIZATION = "organization";

/** A Pulumi program as index.ts exports it: Pulumi runs it and exports what it returns. */
export type PulumiProgram = () => Promise<Record<string, unknown>>;

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
  /**
   * The program to run instead of the project's index.ts, with the same project, stack and
   * config (a test's fixture program, for instance). @default the project's program
   */
  program?: PulumiProgram;
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
  /** The `deleteBeforeReplace` resource option. */
  deleteBeforeReplace: boolean;
  /** URNs each input was computed from, as the engine is told (`{ role: [<role URN>] }`). */
  propertyDependencies: Record<string, string[]>;
  /** Inputs as the engine received them: plain values, `UNKNOWN` where not known yet; assets stay Asset objects. */
  inputs: Record<string, unknown>;
  /** What the mock answered: the inputs plus, outside preview, computed properties. */
  outputs: Record<string, unknown>;
}

export interface ProgramRun {
  /** The stack's name and whether it ran as a preview. */
  stack: string;
  preview: boolean;
  /** Every registered resource, the stack resource first, in registration order. */
  resources: RecordedResource[];
  /** The stack outputs, resolved (`UNKNOWN` where not known). */
  outputs: Record<string, unknown>;
  /** The config the program saw. */
  config: Record<string, string>;
  /** What the program logged with `pulumi.log.warn`, as `pulumi preview` shows it under Diagnostics. */
  warnings: string[];
}

interface ProjectFile {
  name: string;
  config?: Record<string, unknown>;
}

function readYaml<T>(file: string): T {
  const full = path.join(PROJECT_ROOT, file);
  if (!fs.existsSync(full)) throw new Error(`${file} does not exist in ${PROJECT_ROOT}`);
  return parseYaml(fs.readFileSync(full, "utf8")) as T;
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

/** Outputs the mocks give a stack's StackReference when the caller names none. */
function defaultStackOutputs(project: string): Record<string, Record<string, unknown>> {
  const devBucket = `${project}-${MOCK_ACCOUNT_ID}-dev`;
  return {
    [`${MOCK_ORGANIZATION}/${project}/dev`]: { bucketName: devBucket, bucketArn: `arn:aws:s3:::${devBucket}`, accountId: MOCK_ACCOUNT_ID },
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
    case "aws:lambda/function:Function": {
      // A published function's first version is 1; an unpublished one has only $LATEST.
      const version = inputs.publish === true ? "1" : "$LATEST";
      const arn = `arn:aws:lambda:${at}:function:${physical}`;
      return { id: physical, name: physical, arn, version, qualifiedArn: `${arn}:${version}` };
    }
    case "aws:iam/role:Role":
      return { id: physical, name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical}` };
    case "aws:iam/policy:Policy": {
      const policyPath = typeof inputs.path === "string" && inputs.path ? inputs.path : "/";
      return { id: physical, name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:policy${policyPath}${physical}` };
    }
    case "aws:sfn/stateMachine:StateMachine": {
      const arn = `arn:aws:states:${at}:stateMachine:${physical}`;
      return { id: physical, name: physical, arn, ...(inputs.publish === true ? { stateMachineVersionArn: `${arn}:1` } : {}) };
    }
    case "aws:sfn/alias:Alias": {
      // The alias ARN is its state machine's ARN and its name: read the machine from the version it routes to.
      const routes = inputs.routingConfigurations as Array<{ stateMachineVersionArn?: unknown }> | undefined;
      const versionArn = String(routes?.[0]?.stateMachineVersionArn ?? "");
      const arn = `${versionArn.replace(/:\d+$/, "")}:${physical}`;
      return { id: arn, name: physical, arn };
    }
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
    case "aws:apigateway/restApi:RestApi": {
      const id = `${physical.replace(/[^a-z0-9]/g, "").slice(0, 10)}`;
      return { id, name: physical, rootResourceId: `${id}-root`, arn: `arn:aws:apigateway:${region}::/restapis/${id}`, executionArn: `arn:aws:execute-api:${at}:${id}` };
    }
    case "aws:apigateway/stage:Stage":
      return { id: `${name}-id`, stageName: inputs.stageName, arn: `arn:aws:apigateway:${region}::/restapis/stage/${String(inputs.stageName)}` };
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
export async function settle(value: unknown): Promise<unknown> {
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

/** The monitor calls the runner wraps to learn URNs, parents and options. */
interface ResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect?(): boolean;
  getDeletebeforereplace?(): boolean;
  getPropertydependenciesMap?(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}
interface ResourceResponse {
  getUrn(): string;
}
type MonitorCall = (req: ResourceRequest, callback: (err: Error | null, resp?: ResourceResponse) => void) => void;

/** The project's own program, loaded from its TypeScript source (see the module comment). */
function projectProgram(): PulumiProgram {
  const entry = path.join(PROJECT_ROOT, "index.ts");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!require.extensions[".ts"]) {
    throw new Error(`cannot load ${entry}: run through tsx (node --require tsx/cjs), as Pulumi.yaml runs the program`);
  }
  // Loaded here, not at the top: the program module must see the mocks' settings when it loads
  // its own dependencies' config (and a caller that never runs the program need not load it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(entry) as PulumiProgram;
}

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
          deleteBeforeReplace: false,
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
            throw new Error(`runProgram: no mock for invoke ${args.token}; add one to offline-pulumi/program.ts`);
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
          record.deleteBeforeReplace = req.getDeletebeforereplace?.() ?? false;
          req.getPropertydependenciesMap?.().forEach((deps, key) => {
            const urns = deps.getUrnsList();
            if (urns.length > 0) record.propertyDependencies[key] = urns;
          });
        }
        callback(err, resp);
      });
  }

  const program = options.program ?? projectProgram();
  let exported: Record<string, unknown> = {};
  let failure: unknown;
  // Without an engine, `pulumi.log.warn` only prints to stderr; record what the program logs, as
  // the engine would show it.
  const warnings: string[] = [];
  const log = pulumi.log as { warn: typeof pulumi.log.warn };
  const warn = log.warn;
  log.warn = async (message: string) => {
    warnings.push(message);
  };
  // When the program throws, the stack resource's own output promises reject with the same error
  // and nobody awaits them (Pulumi's language host reports them as the program's failure). That
  // error is rejected to the caller here, so those copies are dropped; any other unhandled
  // rejection is left to the process's other listeners, or thrown as Node would without one.
  const dropProgramFailure = (reason: unknown) => {
    if (failure !== undefined && reason === failure) return;
    if (process.listenerCount("unhandledRejection") === 1) throw reason;
  };
  process.on("unhandledRejection", dropProgramFailure);
  try {
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
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    process.off("unhandledRejection", dropProgramFailure);
    log.warn = warn;
  }
  if (failure !== undefined) throw failure;

  return {
    stack: options.stack,
    preview,
    resources,
    outputs: (await settle(exported)) as Record<string, unknown>,
    config,
    warnings,
  };
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

