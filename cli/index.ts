#!/usr/bin/env node
/**
 * `bucket-sync`: the command-line entry point. Each subcommand lives in its own module and
 * registers itself here; nothing heavy is imported before a subcommand runs.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SUBCOMMANDS, type SubcommandName } from "./commands";
import { EXIT, exitOnUsageError } from "./exitCodes";

/** The package's version: package.json sits two levels above dist/cli/ and one above cli/. */
function packageVersion(): string {
  for (const up of ["..", "../.."]) {
    try {
      const manifest = JSON.parse(readFileSync(join(__dirname, up, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === "bucket-sync" && manifest.version) return manifest.version;
    } catch {
      // not at this level
    }
  }
  return "unknown";
}

// The AWS SDK warns on every run that its releases after January 2027 need Node 22: news for
// whoever upgrades Node, not for someone running a sync, and nine lines that bury the output.
// The SDK's own switch turns it off; a user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const program = new Command("bucket-sync")
  .description("Keep S3 buckets of different environments in sync (dev into prod as a backup).")
  .version(packageVersion(), "-V, --version", "print the version")
  // An unknown subcommand or none at all is bad input (exit 2), with commander's "did you mean".
  .exitOverride(exitOnUsageError)
  .showSuggestionAfterError(true)
  .configureHelp({ helpWidth: process.stdout.columns || 100 });

/**
 * The module that registers each subcommand, loaded only when it runs: `--version` and the
 * top-level help load none, and the state machine interpreter comes with `sync` and `demo` alone.
 * `require`, not `import()`: under `node -r tsx/cjs` an `import()` of an extensionless `.ts`
 * module goes to Node's ESM resolver, which cannot find it.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const REGISTER: Record<SubcommandName, () => (program: Command) => void> = {
  sync: () => (require("./sync") as typeof import("./sync")).registerSync,
  restore: () => (require("./restore") as typeof import("./restore")).registerRestore,
  "s3-server": () => (require("./s3Server") as typeof import("./s3Server")).registerS3Server,
  demo: () => (require("./demo") as typeof import("./demo")).registerDemo,
  "check-policy": () => (require("./checkPolicy") as typeof import("./checkPolicy")).registerCheckPolicy,
  preview: () => (require("./preview") as typeof import("./preview")).registerPreview,
  diagram: () => (require("./diagram") as typeof import("./diagram")).registerDiagram,
  watch: () => (require("./watch") as typeof import("./watch")).registerWatch,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Registers the subcommand the arguments name (`bucket-sync sync ...`, `bucket-sync help sync`),
 * loading its module; every other subcommand is listed by name and description only.
 */
async function main(argv: string[]): Promise<void> {
  const words = argv.slice(2).filter((arg) => !arg.startsWith("-"));
  const named = words[0] === "help" ? words[1] : words[0];
  for (const [name, description] of Object.entries(SUBCOMMANDS) as Array<[SubcommandName, string]>) {
    if (name === named) REGISTER[name]()(program);
    else program.command(name).description(description);
  }
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  console.error(`bucket-sync: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = EXIT.badInput;
});