import { strict as assert } from "node:assert";
import { runProgram } from "./helpers/pulumiMocks";
describe("smoke", () => {
  it("runs dev", async () => {
    const run = await runProgram({ stack: "dev" });
    console.log(run.resources.map((r) => `${r.type} ${r.name} ${r.urn} parent=${r.parent}`).join("\n"));
    console.log(run.outputs);
  });
  it("runs prod", async () => {
    const run = await runProgram({ stack: "prod" });
    console.log(run.resources.length, run.resources.filter(r=>!r.urn).map(r=>r.name));
    console.log(run.outputs);
  });
  it("runs prod preview", async () => {
    const run = await runProgram({ stack: "prod", preview: true });
    console.log(run.resources.length);
    console.log(run.outputs);
  });
});
