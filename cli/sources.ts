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

/** The project directory: the nearest directory above this module that holds Pulumi.yaml. */
export function projectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no Pulumi.yaml above ${__dirname}: this command runs in a bucket-sync project checkout`);
    }
  }
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!require.extensions[".ts"]) {
    let tsx: { register(): unknown };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tsx = require("tsx/cjs/api") as { register(): unknown };
    } catch {
      throw new Error("this command loads the program from its TypeScript sources and needs tsx (a devDependency): run `npm ci` in the project");
    }
    tsx.register();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(projectRoot(), `${relative}.ts`)) as T;
}
