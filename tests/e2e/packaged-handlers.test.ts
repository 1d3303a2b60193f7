/**
 * Both handler packagings really run the sync: the state machine's definition runs locally with
 * every Lambda Task dispatched to the packaged code in its own fresh `node` process (one per
 * function, as Lambda gives each function its own runtime), which finds only the AWS SDK beside
 * it, as the Lambda runtime provides it. A backup and then a mirror, against the embedded server.
 *
 * - `bundle`: the esbuild bundle of handlers/lambda.ts (`bundleHandlers`), handler `index.<export>`.
 * - `callback`: `handlerFactory(name)` serialized the way CallbackFunction serializes its
 *   `callbackFactory`, next to the packages `callbackCodePathOptions` ships.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { S3Client } from "@aws-sdk/client-s3";
import { HANDLER_ENV, HANDLER_NAMES, type HandlerName, type SyncRequest } from "../../model/contract";
import { buildDefinition } from "../../infra/definition";
import {
  BUNDLE_FILE,
  bundleHandlers,
  CALLBACK_FILE,
  callbackCodePathOptions,
  handlerFactory,
} from "../../infra/handlerPackaging";
import { HANDLER_SPECS } from "../../infra/handlerSpecs";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { LOCAL_TOPIC_ARN } from "../../cli/localSync";
import { localFunctionArns, runLocally, type HandlerTable } from "../../local-stepfunctions/runner";
import { fingerprints } from "../../handlers/engine/faithfulCopy";
import { assertConverged } from "../helpers/convergence";
import { startHandlerProcess, type HandlerProcess } from "../helpers/handlerProcess";
import { lambdaRuntimeModules } from "../helpers/pulumiMocks";
import { countingClient, getText, listKeys, newBucket, put, putMany } from "../helpers/s3";
import { s3ObjectStore } from "../../cli/localSync";

const ROOT = path.join(__dirname, "..", "..");
const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: LOCAL_TOPIC_ARN });

/** Where each function's code is and which export serves it. */
type Packaged = Record<HandlerName, { dir: string; file: string; exportName: string }>;

/** Writes the esbuild bundle once; every function loads the same file, each its own export. */
function writeBundle(dir: string): Packaged {
  fs.writeFileSync(path.join(dir, BUNDLE_FILE), bundleHandlers().code);
  return Object.fromEntries(
    HANDLER_NAMES.map((name) => [name, { dir, file: path.join(dir, BUNDLE_FILE), exportName: HANDLER_SPECS[name].export }]),
  ) as Packaged;
}

/** Serializes each handler's factory as CallbackFunction does, beside the packages it ships. */
async function writeCallbacks(dir: string): Promise<Packaged> {
  const modules = path.join(dir, "node_modules");
  for (const pkg of callbackCodePathOptions().extraIncludePackages ?? []) {
    fs.cpSync(path.join(ROOT, "node_modules", pkg), path.join(modules, pkg), { recursive: true, dereference: true });
  }
  const packaged: Partial<Packaged> = {};
  for (const name of HANDLER_NAMES) {
    const serialized = await pulumi.runtime.serializeFunction(handlerFactory(name), { isFactoryFunction: true });
    const functionDir = path.join(dir, name);
    fs.mkdirSync(functionDir);
    fs.writeFileSync(path.join(functionDir, CALLBACK_FILE), serialized.text);
    packaged[name] = { dir: functionDir, file: path.join(functionDir, CALLBACK_FILE), exportName: serialized.exportName };
  }
  return packaged as Packaged;
}

describe("the sync machine over packaged handlers, each in a fresh node process", function () {
  this.timeout(120_000);
  let s3: EmbeddedS3;
  let client: S3Client;
  let reports: string;
  let runtimeModules: string;
  const workDirs: string[] = [];

  before(async () => {
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    reports = await newBucket(client, "reports");
    runtimeModules = lambdaRuntimeModules();
    workDirs.push(path.dirname(runtimeModules));
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    for (const dir of workDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const packagings: Array<[string, (dir: string) => Packaged | Promise<Packaged>]> = [
    ["bundle", writeBundle],
    ["callback", writeCallbacks],
  ];
  for (const [packaging, write] of packagings) {
    it(`${packaging}: backs up, then mirrors, through the definition, every handler in its own process`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bucket-sync-${packaging}-`));
      workDirs.push(dir);
      const packaged = await write(dir);
      const env = {
        [HANDLER_ENV.endpoint]: s3.endpoint,
        [HANDLER_ENV.compatibility]: "generic",
        [HANDLER_ENV.reportBucket]: reports,
        [HANDLER_ENV.reportPrefix]: `reports/${packaging}/`,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      };
      const processes = {} as Record<HandlerName, HandlerProcess>;
      try {
        await Promise.all(
          HANDLER_NAMES.map(async (name) => {
            const { dir: cwd, file, exportName } = packaged[name];
            processes[name] = await startHandlerProcess({ file, exportName, env, cwd, nodePath: [runtimeModules] });
          }),
        );
        const handlers = Object.fromEntries(
          HANDLER_NAMES.map((name) => [name, (event: unknown) => processes[name].invoke(event)]),
        ) as HandlerTable;

        const source = await newBucket(client, "src");
        const destination = await newBucket(client, "dst");
        await putMany(client, source, ["a", "b/c", "plus+sign", "é/ü", "x/y/z"]);
        await put(client, source, "site/index.html", "<h1>hi</h1>", {
          ContentType: "text/html",
          CacheControl: "max-age=60",
          Metadata: { owner: "team-a" },
        });
        await put(client, destination, "a", "stale and longer");
        await putMany(client, destination, ["old/1", "old/2"]);
        const run = (request: Partial<SyncRequest>) =>
          runLocally({
            definition: DEFINITION,
            functionArns: ARNS,
            handlers,
            objects: s3ObjectStore(client),
            input: { source: { bucket: source }, destination: { bucket: destination }, partitions: 3, minKeysPerPartition: 1, ...request },
          });

        const backup = await run({});
        assert.equal(backup.status, "SUCCEEDED", `${backup.error}: ${backup.cause}`);
        const [expected, actual] = await Promise.all([
          fingerprints(client, { bucket: source }),
          fingerprints(client, { bucket: destination }),
        ]);
        assert.deepEqual([...actual.keys()].filter((key) => !expected.has(key)), ["old/1", "old/2"], "backup keeps extras");
        for (const [key, print] of expected) assert.equal(actual.get(key), print, key);

        const mirror = await run({ mode: "mirror", maxDeletes: 2 });
        assert.equal(mirror.status, "SUCCEEDED", `${mirror.error}: ${mirror.cause}`);
        await assertConverged(client, { bucket: source }, { bucket: destination });

        // The packaged code did the work: every function was called in its own process, and the
        // report it wrote is where its environment said.
        for (const name of HANDLER_NAMES) assert.ok(processes[name].calls > 0, `${name} was never called`);
        assert.ok(processes["sync-range"].calls >= 2 * 3, "a call per partition, per run");
        const reportKeys = (await listKeys(client, reports, `reports/${packaging}/`)).map((o) => o.key);
        assert.equal(reportKeys.filter((key) => key.endsWith(".html")).length, 2, reportKeys.join(", "));
        // The page the packaged code rendered: the mirror run's verdict and its deletes in words.
        const pages = await Promise.all(
          reportKeys.filter((key) => key.endsWith(".html")).map((key) => getText(client, reports, `reports/${packaging}/${key}`)),
        );
        assert.ok(pages.some((page) => page.includes("<h1>Synced</h1>") && page.includes("Deleted 2 of 2 objects only in the destination")), pages.join("\n").slice(0, 2000));

        // A bad request fails in the packaged validate-input with the engine's error name.
        const bad = await run({ mode: "sideways" as never });
        assert.equal(bad.status, "FAILED");
        assert.equal(bad.error, "ValidationError");
        assert.match(bad.cause ?? "", /mode \\"sideways\\" is unknown/);
      } finally {
        await Promise.all(Object.values(processes).map((p) => p.stop()));
      }
    });
  }
});
