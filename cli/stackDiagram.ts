/**
 * The sync machine of a stack as a diagram: the Step Functions definition the program generates
 * for that stack's config, drawn by local-stepfunctions/diagram.ts `toMermaid`; an SVG of it, rendered offline;
 * and the README's copy of it, kept between markers.
 *
 * The definition comes from the program itself (run under mocks as a deployment, so every ARN is
 * filled in, see offline-pulumi/program.ts), not from a second call of `buildDefinition`: the
 * diagram shows what this stack would deploy, with its function names, its concurrency and
 * timeouts. toMermaid drops account and region from function ARNs, so the stand-in account never
 * shows.
 *
 * SVG: beautiful-mermaid renders Mermaid flowcharts to SVG in plain JavaScript (its layout is
 * elkjs), with no DOM and no browser. Mermaid's own renderer needs a browser
 * (@mermaid-js/mermaid-cli drives a downloaded Chromium through puppeteer), which neither CI nor
 * an offline machine has. beautiful-mermaid reads a subset of Mermaid's syntax; `forRenderer`
 * bridges the two differences toMermaid's output meets.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { toMermaid } from "../local-stepfunctions/diagram";
import { PROJECT_ROOT, resourcesOfType, runProgram } from "../offline-pulumi/program";

const STATE_MACHINE = "aws:sfn/stateMachine:StateMachine";

/** The Step Functions definition the program generates for a stack (JSON, parsed). */
export async function stackDefinition(stack: string, config: Record<string, string | undefined> = {}): Promise<object> {
  const run = await runProgram({ stack, config, preview: false });
  const machines = resourcesOfType(run, STATE_MACHINE);
  if (machines.length === 0) {
    throw new Error(`stack "${stack}" has no state machine: its config does not set syncMachine (Pulumi.${stack}.yaml)`);
  }
  // The sync machine is the one the stack exports; an on-change stack also has its batch machine.
  const sync = machines.length === 1 ? machines : machines.filter((m) => m.outputs.arn === run.outputs.stateMachineArn);
  if (sync.length !== 1) throw new Error(`stack "${stack}" has ${machines.length} state machines and none is its exported sync machine`);
  const definition = sync[0].inputs.definition;
  if (typeof definition !== "string") throw new Error(`stack "${stack}": the state machine's definition is not known`);
  return JSON.parse(definition) as object;
}

/** The Mermaid flowchart of a stack's sync machine. */
export async function stackMermaid(stack: string, config: Record<string, string | undefined> = {}): Promise<string> {
  return toMermaid(await stackDefinition(stack, config));
}

// ---------------------------------------------------------------------------------------------
// SVG

/**
 * toMermaid's text in the dialect beautiful-mermaid reads: Mermaid's entity codes (`#quot;`)
 * become HTML entities, and a Pass state's parallelogram (`[/"..."/]`, which the renderer lacks)
 * becomes its trapezoid (`[/"..."\]`), still slanted apart from the Tasks.
 */
export function forRenderer(mermaid: string): string {
  return mermaid
    .replace(/#quot;/g, "&quot;")
    .replace(/#lt;/g, "&lt;")
    .replace(/#gt;/g, "&gt;")
    .replace(/\[\/("[^"]*")\/\]/g, "[/$1\\]");
}

interface Renderer {
  renderMermaidSVG(text: string, options?: { bg?: string; fg?: string }): string;
}

// TypeScript compiles `import()` to `require()` under CommonJS, and beautiful-mermaid is an ES
// module whose exports offer no `require` entry: keep a real dynamic import.
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

/** The renderer, found in the project's node_modules; undefined when it is not installed. */
async function loadRenderer(): Promise<Renderer | undefined> {
  for (let dir = PROJECT_ROOT; ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, "node_modules", "beautiful-mermaid");
    const manifest = path.join(pkgDir, "package.json");
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, "utf8")) as { main?: string; exports?: { "."?: { import?: string } } };
      const entry = pkg.exports?.["."]?.import ?? pkg.main ?? "index.js";
      return (await importModule(pathToFileURL(path.join(pkgDir, entry)).href)) as Renderer;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Renders a Mermaid flowchart to a standalone SVG, offline. Rejects with a message saying what to
 * install when the renderer (a devDependency) is missing.
 */
export async function mermaidToSvg(mermaid: string): Promise<string> {
  const renderer = await loadRenderer();
  if (!renderer) {
    throw new Error("SVG needs the beautiful-mermaid package (a devDependency): run `npm ci`, or use --format mermaid");
  }
  const svg = renderer.renderMermaidSVG(forRenderer(mermaid), { bg: "#ffffff", fg: "#1f2937" });
  // The renderer links a web font; offline the SVG falls back to the system font it names anyway.
  return `${svg.replace(/^\s*@import url\([^)]*\);\s*$/m, "").trim()}\n`;
}

// ---------------------------------------------------------------------------------------------
// The README's copy

export const README_DIAGRAM_START = "<!-- diagram:start -->";
export const README_DIAGRAM_END = "<!-- diagram:end -->";

/** The stack whose sync machine the README shows. */
export const README_DIAGRAM_STACK = "prod";

/** The block between the markers: a note on where it comes from, then the Mermaid code block. */
export function readmeDiagramBlock(mermaid: string): string {
  return [
    `<!-- Written by \`npm run diagram:readme\` from the ${README_DIAGRAM_STACK} stack's generated definition; a test fails when it is stale. -->`,
    `The ${README_DIAGRAM_STACK} stack's sync machine, drawn from the definition its program generates ` +
      `(\`bucket-sync diagram --stack ${README_DIAGRAM_STACK}\` prints it, \`--format svg\` renders it offline):`,
    "",
    "```mermaid",
    mermaid.trimEnd(),
    "```",
  ].join("\n");
}

/** Where a marker stands on a line of its own (prose that quotes a marker is not a marker); -1 if nowhere. */
function markerIndex(readme: string, marker: string): number {
  const match = new RegExp(`^${marker.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m").exec(readme);
  return match ? match.index : -1;
}

/** What is between the README's markers now; undefined when the markers are missing. */
export function currentReadmeDiagram(readme: string): string | undefined {
  const start = markerIndex(readme, README_DIAGRAM_START);
  const end = markerIndex(readme, README_DIAGRAM_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + README_DIAGRAM_START.length, end).trim();
}

/** The README with the block between its markers replaced; nothing outside them changes. */
export function replaceReadmeDiagram(readme: string, mermaid: string): string {
  const start = markerIndex(readme, README_DIAGRAM_START);
  const end = markerIndex(readme, README_DIAGRAM_END);
  if (start < 0 || end < start) {
    throw new Error(`the README has no ${README_DIAGRAM_START} ... ${README_DIAGRAM_END} markers to write the diagram between`);
  }
  return `${readme.slice(0, start + README_DIAGRAM_START.length)}\n${readmeDiagramBlock(mermaid)}\n${readme.slice(end)}`;
}
