/**
 * `bucket-sync diagram`: the sync machine a stack would deploy, drawn from the definition its
 * program generates, as Mermaid and as an SVG rendered offline; and the README's copy, which must
 * be the current one.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STATE_NAMES } from "../../infra/definition";
import {
  currentReadmeDiagram,
  forRenderer,
  mermaidToSvg,
  README_DIAGRAM_END,
  README_DIAGRAM_STACK,
  README_DIAGRAM_START,
  readmeDiagramBlock,
  replaceReadmeDiagram,
  stackMermaid,
} from "../../cli/stackDiagram";
import { ROOT, runCli } from "../helpers/cli";

/** Text as an SVG <text> element holds it. */
const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

describe("bucket-sync diagram", () => {
  let prodMermaid: string;
  let tmp: string;

  before(async () => {
    prodMermaid = await stackMermaid("prod");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("draws prod's generated definition: every state, Lambda tasks by the stack's function names, no account", () => {
    assert.match(prodMermaid, /^flowchart TD\n/);
    for (const name of Object.values(STATE_NAMES)) assert.ok(prodMermaid.includes(`"${name.replace(/"/g, "#quot;")}`), `no ${name}`);
    assert.match(prodMermaid, /lambda: bucket-sync-prod-sync-range/);
    assert.doesNotMatch(prodMermaid, /\d{12}/, "no account id in the diagram");
  });

  it("keeps the README's diagram current (run `npm run diagram:readme` when this fails)", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const current = currentReadmeDiagram(readme);
    assert.ok(current !== undefined, `README.md has no ${README_DIAGRAM_START} ... ${README_DIAGRAM_END} markers`);
    assert.ok(
      current === readmeDiagramBlock(prodMermaid),
      `README.md's diagram of the ${README_DIAGRAM_STACK} stack is stale: run \`npm run diagram:readme\``,
    );
    assert.match(readme, new RegExp(`## The state machine\\n[^]*${README_DIAGRAM_START}`));
  });

  it("rewrites only what is between the README's markers, and refuses a README without them", () => {
    const readme = `# Title\n\nText before.\n\n${README_DIAGRAM_START}\nold\n${README_DIAGRAM_END}\n\nText after.\n`;
    const updated = replaceReadmeDiagram(readme, "flowchart TD\n  a --> b\n");
    assert.ok(updated.startsWith(`# Title\n\nText before.\n\n${README_DIAGRAM_START}\n`));
    assert.ok(updated.endsWith(`\n${README_DIAGRAM_END}\n\nText after.\n`));
    assert.equal(currentReadmeDiagram(updated), readmeDiagramBlock("flowchart TD\n  a --> b\n"));
    assert.equal(replaceReadmeDiagram(updated, "flowchart TD\n  a --> b\n"), updated, "idempotent");
    assert.throws(() => replaceReadmeDiagram("# no markers\n", "x"), /no <!-- diagram:start --> \.\.\. <!-- diagram:end --> markers/);
  });

  it("renders SVG offline, every state labelled, with no font fetched from the network", async () => {
    const svg = await mermaidToSvg(prodMermaid);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    for (const name of Object.values(STATE_NAMES)) assert.ok(svg.includes(`>${xmlText(name)}`), `no label ${name}`);
    assert.doesNotMatch(svg, /@import url|#quot;/);
  });

  it("speaks the renderer's dialect: HTML entities and a trapezoid for Pass states", () => {
    assert.equal(
      forRenderer(`  s7[/"Continue copy range"/]\n  s5 -->|"$.mode == #quot;mirror#quot; #gt; 1"| s6`),
      `  s7[/"Continue copy range"\\]\n  s5 -->|"$.mode == &quot;mirror&quot; &gt; 1"| s6`,
    );
  });

  describe("from the command line", () => {
    let mermaid: Awaited<ReturnType<typeof runCli>>;
    let svg: Awaited<ReturnType<typeof runCli>>;
    let dev: Awaited<ReturnType<typeof runCli>>;
    let badFormat: Awaited<ReturnType<typeof runCli>>;
    let svgFile: string;

    before(async () => {
      svgFile = path.join(tmp, "prod.svg");
      [mermaid, svg, dev, badFormat] = await Promise.all([
        runCli(["diagram", "--stack", "prod"]),
        runCli(["diagram", "--stack", "prod", "--format", "svg", "--output", svgFile]),
        runCli(["diagram", "--stack", "dev"]),
        runCli(["diagram", "--stack", "prod", "--format", "png"]),
      ]);
    });

    it("prints the Mermaid flowchart of --stack prod", () => {
      assert.equal(mermaid.code, 0, mermaid.stderr);
      assert.equal(mermaid.stdout, prodMermaid);
    });

    it("writes the SVG with --format svg --output", () => {
      assert.equal(svg.code, 0, svg.stderr);
      assert.equal(svg.stdout, "");
      assert.match(fs.readFileSync(svgFile, "utf8"), /^<svg [^]*Validate input[^]*<\/svg>\n$/);
    });

    it("fails with exit 1 for a stack without a sync machine, saying why", () => {
      assert.equal(dev.code, 1);
      assert.match(dev.stderr, /stack "dev" has no state machine: its config does not set syncMachine \(Pulumi\.dev\.yaml\)/);
    });

    it("refuses an unknown format with exit 2, naming the choices", () => {
      assert.equal(badFormat.code, 2);
      assert.match(badFormat.stderr, /Allowed choices are mermaid, svg/);
    });
  });
});

describe("README diagram markers", () => {
  it("are only markers on a line of their own, not where prose quotes them", () => {
    const readme = "Quoted: `<!-- diagram:start -->` and `<!-- diagram:end -->`.\n\n<!-- diagram:start -->\nold\n<!-- diagram:end -->\n";
    const updated = replaceReadmeDiagram(readme, "flowchart TD");
    assert.ok(updated.startsWith("Quoted: `<!-- diagram:start -->` and `<!-- diagram:end -->`.\n"));
    assert.match(currentReadmeDiagram(updated) ?? "", /flowchart TD/);
  });
});
