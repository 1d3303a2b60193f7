/**
 * The policy pack stands on its own: `pulumi preview --policy-pack policy-pack` runs it with the
 * Node.js packages installed in `policy-pack/node_modules` (`npm ci --prefix policy-pack`, the
 * README's install step), never through the project's own node_modules.
 *
 * The last spec runs the pack the way the Pulumi CLI does — `@pulumi/pulumi`'s
 * `cmd/run-policy-pack` from the pack's own install, compiling the TypeScript with the pack's own
 * `typescript` — with a resolution guard that fails any module load from outside `policy-pack/`.
 * The runner prints the port of the policy server it started, as the CLI expects.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const PACK = path.join(ROOT, "policy-pack");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
const packageJson = readJson(path.join(PACK, "package.json"));
const lock = readJson(path.join(PACK, "package-lock.json")) as unknown as { packages: Record<string, { dependencies?: Record<string, string> }> };

/** The pack's TypeScript sources, recursively. */
function sources(dir = PACK): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sources(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** Module specifiers a file imports (static imports and `import x = require(...)`). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|require\()\s*"([^"]+)"/g)].map((m) => m[1]);
}

describe("policy pack install", () => {
  it("declares every package its code imports, and what Pulumi needs to run it as TypeScript", () => {
    const dependencies = packageJson.dependencies ?? {};
    const external = new Set(
      sources()
        .flatMap(imports)
        .filter((s) => !s.startsWith(".") && !s.startsWith("node:"))
        .map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/")),
    );
    for (const name of external) assert.ok(name in dependencies, `policy-pack imports ${name} but does not depend on it`);
    // Pulumi's Node.js runtime runs a pack with the pack's own @pulumi/pulumi (cmd/run-policy-pack)
    // and compiles TypeScript with the `typescript` it resolves from there.
    for (const name of ["@pulumi/policy", "@pulumi/pulumi", "typescript"]) assert.ok(name in dependencies, name);
    assert.equal(packageJson.main, "index.ts");
  });

  it("imports nothing from outside its directory", () => {
    for (const file of sources()) {
      for (const specifier of imports(file).filter((s) => s.startsWith("."))) {
        const target = path.resolve(path.dirname(file), specifier);
        assert.ok(target.startsWith(PACK + path.sep), `${path.relative(ROOT, file)} imports ${specifier}, outside policy-pack/`);
      }
    }
  });

  it("has a lockfile that matches its package.json, for npm ci", () => {
    assert.deepEqual(lock.packages[""].dependencies, packageJson.dependencies);
  });

  it("pins the same @pulumi/policy the project evaluates the policies with offline", () => {
    const root = readJson(path.join(ROOT, "package.json"));
    assert.equal(root.devDependencies["@pulumi/policy"], packageJson.dependencies["@pulumi/policy"]);
  });

  it("runs under Pulumi's policy-pack runner from its own install alone", async function () {
    this.timeout(120_000);
    if (!fs.existsSync(path.join(PACK, "node_modules", "@pulumi", "pulumi"))) {
      const why = "policy-pack/node_modules is not installed (npm ci --prefix policy-pack)";
      if (process.env.CI === "true") throw new Error(`the policy pack's own install is required in CI: ${why}`);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK] });
    const packModules = [path.join(PACK, "node_modules"), fs.realpathSync(path.join(PACK, "node_modules"))];
    assert.ok(packModules.some((dir) => runner.startsWith(dir + path.sep)), runner);

    // Every module that would resolve outside policy-pack/ (the project's node_modules) is not
    // found, as in a checkout where only the pack is installed.
    const guard = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pack-guard-")), "guard.js");
    fs.writeFileSync(
      guard,
      `const Module = require("module");
const path = require("path");
const inside = ${JSON.stringify([PACK, fs.realpathSync(PACK), fs.realpathSync(path.join(PACK, "node_modules"))].map((dir) => dir + path.sep))};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const found = resolve.call(this, request, ...rest);
  if (path.isAbsolute(found) && !inside.some((dir) => found.startsWith(dir)) && found !== __filename) {
    // As if the pack were installed alone: what it does not install is not found.
    console.error("not installed in the pack: " + request);
    throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: "MODULE_NOT_FOUND" });
  }
  return found;
};
`,
    );
    const child = spawn(process.execPath, ["--require", guard, runner, "127.0.0.1:1", "."], {
      cwd: PACK,
      env: { ...process.env, NODE_PATH: "", NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = /^(\d+)\s*$/m.exec(stdout);
        if (line) resolve(line[1]);
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code) => reject(new Error(`the runner exited ${code} before serving:\n${stdout}\n${stderr}`)));
    }).finally(() => child.kill());
    assert.ok(Number(port) > 0, `policy server port ${port}`);
  });
});
