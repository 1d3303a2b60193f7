/**
 * Both packagings really work: the program's functions are captured under mocks, each one's
 * `code` archive is written to a temporary directory, and a fresh `node` (with no module path
 * beyond the archive: not even the AWS SDK the Lambda runtime would offer) loads it and calls the handler.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CONTRACT_VERSION, HANDLER_ENV, HANDLER_NAMES, UNKNOWN_CONTRACT_VERSION, type HandlerName } from "../../model/contract";
import { BUNDLE_FILE, BUNDLE_TARGET, bundleHandlers, CALLBACK_FILE, callbackCodePathOptions, HANDLER_NODE_MAJOR, HANDLER_RUNTIME } from "../../infra/handlerPackaging";
import { HANDLER_SPECS } from "../../infra/handlerSpecs";
import { CALL_LOG_MESSAGE } from "../../handlers/callLog";
import {
  invokeHandler,
  lambdaRuntimeModules,
  materializeArchive,
  MOCK_ACCOUNT_ID,
  resourcesOfType,
  runProgram,
  type ProgramRun,
  type RecordedResource,
} from "../helpers/pulumiMocks";

const FUNCTION = "aws:lambda/function:Function";
const REPORTS_BUCKET = `bucket-sync-${MOCK_ACCOUNT_ID}-prod-reports`;

/** A request validate-input must refuse before touching S3. */
const BAD_REQUEST = { source: { bucket: "Not_A_Bucket" }, mode: "sideways" };

/** The function of a handler, found by its fixed name. */
function functionOf(run: ProgramRun, handler: HandlerName): RecordedResource {
  const fn = resourcesOfType(run, FUNCTION).find((f) => f.inputs.name === `bucket-sync-prod-${handler}`);
  assert.ok(fn, `no function for ${handler}`);
  return fn;
}

/** `index.validateInput` -> file `index.js`, export `validateInput`. */
function entryPoint(fn: RecordedResource): { file: string; exportName: string } {
  const [module, exportName] = String(fn.inputs.handler).split(".");
  return { file: `${module}.js`, exportName };
}

function environmentOf(fn: RecordedResource): Record<string, string> {
  return (fn.inputs.environment as { variables: Record<string, string> }).variables;
}

/** Bytes of every file under a directory. */
function totalBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Lists a directory tree, two levels deep, as relative paths. */
function topLevel(dir: string): string[] {
  const entries: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name === "node_modules") {
      for (const pkg of fs.readdirSync(path.join(dir, entry.name))) entries.push(`node_modules/${pkg}`);
    } else {
      entries.push(entry.name);
    }
  }
  return entries.sort();
}

describe("the Lambda runtime", () => {
  it("is nodejs24.x with esbuild targeting node24, both naming one major", () => {
    assert.equal(HANDLER_RUNTIME, `nodejs${HANDLER_NODE_MAJOR}.x`);
    assert.equal(BUNDLE_TARGET, `node${HANDLER_NODE_MAJOR}`);
  });

  it("is the Node major the suite runs on under CI (.ci/run installs it), so the packaged handlers are tested on it", function () {
    if (process.env.CI !== "true") this.skip();
    assert.equal(Number(process.versions.node.split(".")[0]), HANDLER_NODE_MAJOR, `running on ${process.version}`);
  });
});

describe("handler packaging", () => {
  let runtimeModules: string;
  const workDirs: string[] = [];

  before(() => {
    runtimeModules = lambdaRuntimeModules();
    workDirs.push(path.dirname(runtimeModules));
  });

  after(function () {
    // Removing unpacked runtime trees is disk-bound; on a busy machine it outlasts mocha's default.
    this.timeout(300_000);
    for (const dir of workDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function unpack(fn: RecordedResource): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bucket-sync-${fn.name}-`));
    workDirs.push(dir);
    await materializeArchive(fn.inputs.code, dir);
    return dir;
  }

  describe("the esbuild bundle", () => {
    it("is one CommonJS file that carries the pinned AWS SDK clients", () => {
      const bundle = bundleHandlers();
      // A require call (not the SDK's own error text that quotes one) would leave the SDK to the runtime.
      assert.doesNotMatch(bundle.code, /(?:^|[=(,;]\s*)require\("@aws-sdk\//m, "the bundle leaves the AWS SDK to the runtime");
      assert.match(bundle.code, /exports\d*\.S3Client = S3Client/, "the S3 client is not bundled");
      for (const name of Object.values(HANDLER_SPECS).map((spec) => spec.export)) assert.ok(bundle.code.includes(name), name);
    });

    it("lists the npm packages the handlers import, which the callback archive then ships", () => {
      const { packages } = bundleHandlers();
      assert.ok(packages.includes("p-limit"), packages.join(", "));
      assert.ok(packages.includes("@aws-sdk/client-s3"), packages.join(", "));
      const options = callbackCodePathOptions();
      assert.deepEqual(options.extraIncludePackages, packages);
      for (const unneeded of ["commander", "s3rver"]) {
        assert.ok(options.extraExcludePackages?.includes(unneeded), unneeded);
      }
    });
  });

  for (const packaging of ["bundle", "callback"] as const) {
    describe(`handlerPackaging: ${packaging}`, () => {
      let run: ProgramRun;

      before(async function () {
        this.timeout(180_000);
        try {
          run = await runProgram({ stack: "prod", config: { handlerPackaging: packaging } });
        } catch (err) {
          // Closure serialization fails deep in a chain of dependent resources; say where to look.
          const message = err instanceof Error ? err.message : String(err);
          throw new Error(
            `the ${packaging} packaging could not build the functions' code; see the limits of closure ` +
              `serialization in infra/handlerPackaging.ts.\n${message.slice(Math.max(0, message.lastIndexOf('"code"')))}`,
          );
        }
      });

      it("creates one function per handler, on Node.js 24, with the project's own role", () => {
        const functions = resourcesOfType(run, FUNCTION);
        assert.equal(functions.length, HANDLER_NAMES.length);
        const roleArns = new Set(resourcesOfType(run, "aws:iam/role:Role").map((r) => r.outputs.arn));
        for (const fn of functions) {
          assert.equal(fn.inputs.runtime, "nodejs24.x");
          assert.ok(roleArns.has(fn.inputs.role), `${fn.name} runs with a role the program did not build`);
        }
        // CallbackFunction attaches managed full-access policies only when it builds its own role.
        assert.equal(resourcesOfType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
      });

      it("gives every function the HANDLER_ENV variables for reports, and validate-input the stack's ceiling", () => {
        for (const handler of HANDLER_NAMES) {
          const environment = environmentOf(functionOf(run, handler));
          assert.deepEqual(Object.keys(environment).sort(), HANDLER_SPECS[handler].environment.map((k) => HANDLER_ENV[k]).sort(), handler);
          assert.equal(environment[HANDLER_ENV.reportBucket], REPORTS_BUCKET);
          assert.equal(environment[HANDLER_ENV.reportPrefix], "reports/");
          assert.equal(environment[HANDLER_ENV.requestCeiling] !== undefined, handler === "validate-input", handler);
        }
        const ceiling = JSON.parse(environmentOf(functionOf(run, "validate-input"))[HANDLER_ENV.requestCeiling]);
        assert.equal(ceiling.request.mode, "backup");
        assert.equal(ceiling.request.destination.bucket, `bucket-sync-${MOCK_ACCOUNT_ID}-prod`);
        assert.equal(ceiling.keyScopedMaxDeletes, 100, "onChangeMaxDeletes' default");
      });

      it("validate-input, as deployed, refuses a request over the stack's ceiling before any S3 call", async () => {
        const fn = functionOf(run, "validate-input");
        const dir = await unpack(fn);
        const { file, exportName } = entryPoint(fn);
        const event = { source: { bucket: "someone-elses" }, destination: { bucket: "empty-bucket" }, mode: "mirror", maxDeletes: "100%" };
        const result = invokeHandler({ dir, file, exportName, event, env: environmentOf(fn), runtimeModules });
        assert.equal(result.ok, false, JSON.stringify(result));
        if (result.ok) return;
        assert.equal(result.errorType, "ValidationError", JSON.stringify(result));
        assert.match(result.errorMessage, /source bucket "someone-elses" is not this stack's source bucket/);
        assert.match(result.errorMessage, /mode "mirror" is over this stack's ceiling "backup": a request may ask backup/);
        assert.match(result.errorMessage, /maxDeletes "100%" is over this stack's ceiling "10%"/);
      });

      it("ships the code with its pinned AWS SDK, and no CLI or test-server packages", async () => {
        const fn = functionOf(run, "sync-range");
        assert.ok(fn.inputs.code instanceof pulumi.asset.AssetArchive);
        const files = topLevel(await unpack(fn));
        if (packaging === "bundle") {
          assert.deepEqual(files, [BUNDLE_FILE]);
          assert.equal(fn.inputs.handler, "index.syncRange");
        } else {
          assert.ok(files.includes(CALLBACK_FILE), files.join(", "));
          assert.ok(files.includes("node_modules/p-limit"), files.join(", "));
          assert.ok(files.includes("node_modules/@aws-sdk"), files.join(", "));
          for (const unwanted of ["node_modules/commander", "node_modules/s3rver", "node_modules/@pulumi"]) {
            assert.ok(!files.includes(unwanted), `${unwanted} is shipped`);
          }
          assert.equal(fn.inputs.handler, "__index.handler");
        }
      });

      it(`stays within its size budget (${packaging === "bundle" ? "3" : "20"} MB unpacked; Lambda allows 250 MB)`, async () => {
        // The budget holds the archive to what the handlers need: the pinned SDK clients, the
        // Powertools logger, p-limit. A CLI or test dependency pulled in would break it.
        const dir = await unpack(functionOf(run, "sync-range"));
        const bytes = totalBytes(dir);
        const budget = (packaging === "bundle" ? 3 : 20) * 1000 * 1000;
        assert.ok(bytes < budget, `${packaging} archive: ${(bytes / 1e6).toFixed(2)} MB unpacked, budget ${budget / 1e6} MB`);
        if (packaging === "callback") {
          assert.ok(topLevel(dir).includes("node_modules/@aws-lambda-powertools"), "the logger is shipped");
        }
      });

      it("loads in a fresh Node process and exports a function for every handler", async function () {
        // Five archives unpacked (the callback ones with their node_modules) and five Node processes.
        this.timeout(180_000);
        for (const handler of HANDLER_NAMES) {
          const fn = functionOf(run, handler);
          const dir = await unpack(fn);
          const { file, exportName } = entryPoint(fn);
          // `summarize` of nothing fails inside the handler, which proves it was found and called.
          const result = invokeHandler({ dir, file, exportName, event: {}, env: environmentOf(fn), runtimeModules });
          if (!result.ok) assert.doesNotMatch(result.errorMessage, /is not a function|Cannot find module/, `${handler}: ${result.errorMessage}`);
          // Each call writes one structured line (handlers/callLog.ts), in this packaging too.
          const calls = (result.logs ?? []).filter((line) => line.message === CALL_LOG_MESSAGE);
          assert.equal(calls.length, 1, `${handler}: ${JSON.stringify(result.logs)}`);
          assert.equal(calls[0].handler, handler);
          assert.equal(calls[0].outcome, result.ok ? "ok" : "error");
        }
      });

      it("every handler refuses a payload of a contract version it does not know with UnknownContractVersion, before reading it", async function () {
        this.timeout(120_000);
        const job = { source: { bucket: "dev" }, destination: { bucket: "prod" }, version: CONTRACT_VERSION + 1 };
        const events: Record<HandlerName, unknown> = {
          "validate-input": { ...job },
          "plan-partitions": { job },
          "sync-range": { job, partition: { id: 0 }, phase: "copy" },
          summarize: { job, phase: "copy", run: "r", partitionIds: [0] },
          "write-report": { summary: { job } },
        };
        for (const handler of HANDLER_NAMES) {
          const fn = functionOf(run, handler);
          const { file, exportName } = entryPoint(fn);
          const result = invokeHandler({ dir: await unpack(fn), file, exportName, event: events[handler], env: environmentOf(fn), runtimeModules });
          assert.equal(result.ok, false, `${handler}: ${JSON.stringify(result)}`);
          if (result.ok) continue;
          assert.equal(result.errorType, UNKNOWN_CONTRACT_VERSION, `${handler}: ${JSON.stringify(result)}`);
          assert.match(result.errorMessage, new RegExp(`contract version ${CONTRACT_VERSION + 1}, and this code knows only version ${CONTRACT_VERSION}`));
        }
      });

      for (const handler of ["validate-input", "plan-partitions", "sync-range"] as const) {
        it(`${handler} rejects a bad request with a ValidationError that names the problems, before any S3 call`, async () => {
          const fn = functionOf(run, handler);
          const dir = await unpack(fn);
          const { file, exportName } = entryPoint(fn);
          const event = handler === "validate-input" ? BAD_REQUEST : { job: { ...BAD_REQUEST, version: CONTRACT_VERSION }, partition: { id: 0 }, phase: "copy" };
          const result = invokeHandler({ dir, file, exportName, event, env: environmentOf(fn), runtimeModules });
          assert.equal(result.ok, false, JSON.stringify(result));
          if (result.ok) return;
          // Step Functions matches Catch and Retry on this errorType.
          assert.equal(result.errorType, "ValidationError", JSON.stringify(result));
          assert.match(result.errorMessage, /source bucket name "Not_A_Bucket" is invalid/);
          // validate-input takes what a request leaves out from the stack's configuration
          if (handler !== "validate-input") assert.match(result.errorMessage, /destination is missing/);
          assert.match(result.errorMessage, /mode "sideways" is unknown/);
        });
      }
    });
  }
});
