/**
 * Loads this project's TypeScript sources at run time, for the subcommands that run the Pulumi
 * program (`preview`, `diagram`).
 *
 * Why from the sources: those commands answer "what would `pulumi preview` do with the code in
 * this checkout", and Pulumi runs the program from index.ts through tsx (Pulumi.yaml:
 * `nodeargs: --require tsx/cjs`). A compiled copy in dist/ is only as new as the last
 * `npm run build`, so previewing it could show yesterday's program. When the CLI itself runs
 * compiled (`node dist/cli/index.js`, the `bucket-sync` bin), tsx is registered here first; under
 * `tsx cli/index.ts` (the npm scripts) it already is. Either way nothing is loaded until a
 * subcommand's action asks, so the other subcommands start without Pulumi.
 *
 * These commands need a project checkout with its devDependencies (tsx, yaml, @pulumi/policy).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The nearest directory at or above `start` whose Pulumi.yaml is this project's (`name: bucket-sync`). */
function projectAbove(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "Pulumi.yaml");
    if (fs.existsSync(file) && /^name:\s*["']?bucket-sync["']?\s*$/m.test(fs.readFileSync(file, "utf8"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The project directory: the checkout the user stands in (Pulumi.yaml at or above the current
 * directory), as `pulumi preview` finds it; else the one this module sits in (the npm scripts of a
 * checkout). A globally installed CLI has no Pulumi.yaml of its own: it previews the checkout.
 */
export function projectRoot(cwd: string = process.cwd()): string {
  const root = projectAbove(cwd) ?? projectAbove(__dirname);
  if (root === undefined) {
    throw new Error(`no bucket-sync Pulumi.yaml at or above ${cwd}: run this command in a bucket-sync project checkout (after npm ci)`);
  }
  return root;
}

/** The stacks that have a `Pulumi.<stack>.yaml` in the project. */
export function projectStacks(): string[] {
  return fs
    .readdirSync(projectRoot())
    .map((file) => /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** `require`s `<project>/<relative>.ts` from source, registering tsx if nothing has yet. */
export function requireSource<T>(relative: string): T {
  const root = projectRoot();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!require.extensions[".ts"]) {
    let tsx: { register(): unknown };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      // From the checkout's own node_modules: an installed CLI does not carry tsx.
      tsx = require(require.resolve("tsx/cjs/api", { paths: [root, __dirname] })) as { register(): unknown };
    } catch {
      throw new Error("this command loads the program from its TypeScript sources and needs tsx (a devDependency): run `npm ci` in the project");
    }
    tsx.register();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(root, `${relative}.ts`)) as T;
}
