#!/usr/bin/env node
/**
 * `bucket-sync`: the command-line entry point. Each subcommand lives in its own module and
 * registers itself here; nothing heavy is imported before a subcommand runs.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { registerCheckPolicy } from "./checkPolicy";
import { registerDemo } from "./demo";
import { registerDiagram } from "./diagram";
import { EXIT } from "./exitCodes";
import { registerPreview } from "./preview";
import { registerRestore } from "./restore";
import { registerS3Server } from "./s3Server";
import { registerSync } from "./sync";

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
  .version(packageVersion(), "-V, --version", "print the version");

// subcommands: one line each
registerSync(program);
registerRestore(program);
registerS3Server(program);
registerDemo(program);
registerCheckPolicy(program);
registerPreview(program);
registerDiagram(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`bucket-sync: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = EXIT.badInput;
});
