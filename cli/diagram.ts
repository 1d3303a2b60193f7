/**
 * `bucket-sync diagram --stack prod [--format mermaid|svg] [--output FILE] [--readme FILE]`: the
 * sync machine a stack would deploy, as a Mermaid flowchart or an SVG rendered offline
 * (cli/stackDiagram.ts). `--readme README.md` writes the Mermaid block between the README's
 * `<!-- diagram:start -->` and `<!-- diagram:end -->` markers (`npm run diagram:readme`).
 *
 * Like `preview`, it runs the program from its TypeScript sources under mocks (cli/sources.ts),
 * loaded inside the action.
 *
 * Exit codes: 0 written; 1 the stack has no sync machine, the program fails, or SVG cannot be
 * rendered; 2 usage.
 */
import { SUBCOMMANDS } from "./commands";
import { Command, Option } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import type * as StackDiagram from "./stackDiagram";
import { requireSource } from "./sources";
import { EXIT, exitOnUsageError } from "./exitCodes";

export const DIAGRAM_FORMATS = ["mermaid", "svg"] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];

export interface DiagramOptions {
  readonly stack: string;
  readonly format: DiagramFormat;
  readonly output?: string;
  readonly readme?: string;
}

export function registerDiagram(program: Command): void {
  program
    .command("diagram")
    .description(SUBCOMMANDS["diagram"])
    .requiredOption("--stack <stack>", "the stack whose config to use, e.g. prod (a stack with syncMachine)")
    .addOption(new Option("--format <format>", "mermaid text, or an SVG rendered offline").choices(DIAGRAM_FORMATS).default("mermaid"))
    .option("--output <file>", "write to this file instead of standard output")
    .option("--readme <file>", "write the Mermaid block between the file's <!-- diagram:start --> and <!-- diagram:end --> markers")
    .addHelpText("after", "\nExit codes: 0 written; 1 no sync machine in the stack, the program fails, or SVG cannot be rendered; 2 usage.")
    .exitOverride(exitOnUsageError)
    .action(async (options: DiagramOptions) => {
      try {
        const diagrams = requireSource<typeof StackDiagram>("cli/stackDiagram");
        const mermaid = await diagrams.stackMermaid(options.stack);
        if (options.readme) {
          const before = readFileSync(options.readme, "utf8");
          const after = diagrams.replaceReadmeDiagram(before, mermaid);
          if (after !== before) writeFileSync(options.readme, after);
          process.stderr.write(`${options.readme}: diagram of stack "${options.stack}" ${after === before ? "already up to date" : "updated"}\n`);
          return;
        }
        const text = options.format === "svg" ? await diagrams.mermaidToSvg(mermaid) : mermaid;
        if (options.output) writeFileSync(options.output, text);
        else process.stdout.write(text);
      } catch (err) {
        process.stderr.write(`bucket-sync diagram: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = EXIT.failed;
      }
    });
}
