/**
 * How a handler becomes a Lambda function, both ways (`handlerPackaging` in config):
 *
 * - `bundle`: esbuild bundles handlers/lambda.ts (its module scope creates the handlers from
 *   `process.env`) into one CommonJS file, `index.js`; each function's handler is
 *   `index.<export>`. What runs is exactly what the bundler saw, and the archive is small.
 * - `callback`: `aws.lambda.CallbackFunction` serializes a handler factory with
 *   `pulumi.runtime.serializeFunction` into `__index.js`, next to the node_modules the handlers
 *   require. Always with our own least-privilege role: without one, CallbackFunction creates a
 *   role with AmazonS3FullAccess and other full-access policies.
 *
 * Both carry the pinned `@aws-sdk/*` clients the handlers use (the bundle inlines them, the callback
 * archive ships them in node_modules) instead of relying on the SDK the runtime happens to include:
 * AWS recommends packaging the SDK with the function so its version is under your control
 * ("Managing dependencies with layers" / "Runtime-included SDK versions", Lambda developer guide),
 * and the handlers use options newer than some runtimes' SDK.
 *
 * Closure serialization rebuilds every object a function reaches from its source text, and so
 * cannot carry what has no source: native and bound functions (a zod schema's methods), a class
 * extending a built-in (its `super(...)` becomes `Error.call(this, ...)`, which drops the message),
 * the function-like wrapper of a default import of a CommonJS package. Those limits stop here: the
 * serialized factory captures the handlers' compiled module text (esbuild, npm packages left as
 * `require` calls that the archive's node_modules answer) and loads it at cold start, so the
 * engine is written in plain TypeScript and both packagings run the very same code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as esbuild from "esbuild";
import type { HandlerName } from "../model/contract";
import type { HandlerPackaging } from "./config";
import { HANDLER_SPECS } from "./handlerSpecs";

/** The module esbuild bundles. */
export const BUNDLE_ENTRY = path.join(__dirname, "..", "handlers", "lambda.ts");
/** The module the `callback` packaging compiles and loads at cold start (its createLambdaHandlers logs each call). */
export const HANDLER_MODULE_ENTRY = path.join(__dirname, "..", "handlers", "callLog.ts");
/** The bundle's file name inside the archive: handlers are `index.<export>`. */
export const BUNDLE_FILE = "index.js";
/** The serialized callback's file name inside the archive (set by CallbackFunction). */
export const CALLBACK_FILE = "__index.js";

/**
 * The Lambda runtime both packagings target. Node.js 22 is deprecated on 2027-04-30, after which
 * Lambda blocks creating functions on it, and updating them from 2027-07-01 ("Runtime
 * deprecation", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). Node.js 24
 * no longer calls callback-style handlers; ours are async `(event, context)` functions, which the
 * packaging specs check. CI runs the whole suite on this Node major (scripts/node24/install.sh).
 */
export const HANDLER_RUNTIME = aws.lambda.Runtime.NodeJS24dX;
/** esbuild's target for that runtime; kept beside it so the two cannot drift. */
export const BUNDLE_TARGET = "node24";
/** The Node.js major both name. */
export const HANDLER_NODE_MAJOR = 24;

export interface HandlerBundle {
  /** The bundled CommonJS source of handlers/lambda.ts. */
  code: string;
  /** npm packages the handlers import, the AWS SDK included. */
  packages: string[];
}

let cachedBundle: HandlerBundle | undefined;

/**
 * Bundles handlers/lambda.ts once per process (platform node, target BUNDLE_TARGET, CommonJS, the
 * pinned AWS SDK inlined). Synchronous because its package list also shapes the `callback` archive, which
 * CallbackFunction takes as a plain option.
 */
export function bundleHandlers(): HandlerBundle {
  if (cachedBundle) return cachedBundle;
  const result = esbuild.buildSync({
    entryPoints: [BUNDLE_ENTRY],
    bundle: true,
    platform: "node",
    target: BUNDLE_TARGET,
    format: "cjs",
    write: false,
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const pkg = packageOf(input);
    if (pkg) packages.add(pkg);
  }
  cachedBundle = { code: result.outputFiles[0].text, packages: [...packages].sort() };
  return cachedBundle;
}

/** `node_modules/@scope/name/lib/x.js` -> `@scope/name`. */
function packageOf(file: string): string | undefined {
  const marker = "node_modules/";
  const at = file.lastIndexOf(marker);
  if (at < 0) return undefined;
  const parts = file.slice(at + marker.length).split("/");
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * What CallbackFunction packs besides the serialized code. Pulumi walks every `dependencies`
 * entry of package.json (the CLI's and the local server's too); exclude all but the packages the
 * handlers import, which the bundle's metafile lists exactly.
 */
export function callbackCodePathOptions(): pulumi.runtime.CodePathOptions {
  const needed = new Set(bundleHandlers().packages);
  const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const excluded = Object.keys(packageJson.dependencies ?? {}).filter((dep) => !needed.has(dep));
  return { extraIncludePackages: [...needed], extraExcludePackages: excluded };
}

/** The archive of the `bundle` packaging. */
export function bundleArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundleHandlers().code) });
}

let cachedModuleSource: string | undefined;

/**
 * handlers/index.ts compiled into one CommonJS module whose npm packages stay `require` calls:
 * what the `callback` packaging's factory loads at cold start.
 */
export function handlerModuleSource(): string {
  cachedModuleSource ??= esbuild.buildSync({
    entryPoints: [HANDLER_MODULE_ENTRY],
    bundle: true,
    packages: "external",
    platform: "node",
    target: BUNDLE_TARGET,
    format: "cjs",
    write: false,
    legalComments: "none",
    logLevel: "silent",
  }).outputFiles[0].text;
  return cachedModuleSource;
}

/**
 * The callback CallbackFunction serializes for a handler. It runs at cold start in Lambda: it
 * loads the handlers' module (captured as text, so serialization meets a string, not the engine's
 * objects) and creates the handlers, which read the environment there; no deployment-time value
 * is captured in the closure.
 */
export function handlerFactory(handler: HandlerName): () => (event: never) => Promise<unknown> {
  const source = handlerModuleSource();
  return () => {
    const loaded: { exports: { createLambdaHandlers?: () => Record<HandlerName, (event: never) => Promise<unknown>> } } = { exports: {} };
    // `require` is __index.js's own: it resolves packages from the archive's node_modules.
    new Function("exports", "require", "module", `${source}\n//# sourceURL=handlers.js`)(loaded.exports, require, loaded);
    if (!loaded.exports.createLambdaHandlers) throw new Error("the handlers module exports no createLambdaHandlers");
    return loaded.exports.createLambdaHandlers()[handler];
  };
}

export interface HandlerFunctionArgs {
  handler: HandlerName;
  packaging: HandlerPackaging;
  /** Physical function name (fixed, so the state machine's role can name it before it exists). */
  functionName: string;
  /** The function's own least-privilege role. */
  roleArn: pulumi.Input<string>;
  /** HANDLER_ENV variables (model/contract.ts). */
  environment: Record<string, pulumi.Input<string>>;
  timeoutSeconds: number;
  memorySizeMb: number;
  /** The log group the program created for this function (with retention). */
  logGroupName: pulumi.Input<string>;
  description?: string;
}

/** Creates one handler's Lambda function in the configured packaging. */
export function createHandlerFunction(
  name: string,
  args: HandlerFunctionArgs,
  opts?: pulumi.CustomResourceOptions,
): aws.lambda.Function {
  const common = {
    name: args.functionName,
    description: args.description,
    runtime: HANDLER_RUNTIME,
    architectures: ["arm64"],
    memorySize: args.memorySizeMb,
    timeout: args.timeoutSeconds,
    environment: { variables: args.environment },
    tracingConfig: { mode: "Active" },
    loggingConfig: { logFormat: "JSON", logGroup: args.logGroupName },
    // Every change of code or configuration publishes a new, immutable version; the definition
    // invokes versions (qualifiedArn), so a run in flight keeps the code it started with.
    publish: true,
  };
  if (args.packaging === "callback") {
    return new aws.lambda.CallbackFunction(
      name,
      {
        ...common,
        role: args.roleArn,
        callbackFactory: handlerFactory(args.handler),
        codePathOptions: callbackCodePathOptions(),
      },
      opts,
    );
  }
  return new aws.lambda.Function(
    name,
    {
      ...common,
      role: args.roleArn,
      code: bundleArchive(),
      handler: `${path.basename(BUNDLE_FILE, ".js")}.${HANDLER_SPECS[args.handler].export}`,
    },
    opts,
  );
}
