/**
 * `bucket-sync preview`: the offline preview of a stack, run as a user runs it from a checkout,
 * against the real Pulumi.<stack>.yaml files and the real policy pack; and, in-process, with a
 * fixture program that violates the pack.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import { formatPreview, runPreview } from "../../cli/preview";
import { HANDLER_NAMES } from "../../model/contract";
import type { PreviewResource, StackPreview } from "../../offline-pulumi/preview";
import { runCli, type CliRun } from "../helpers/cli";
import { MOCK_ACCOUNT_ID, runProgram } from "../helpers/pulumiMocks";

const T = {
  stack: "pulumi:pulumi:Stack",
  bucket: "aws:s3/bucket:Bucket",
  notification: "aws:s3/bucketNotification:BucketNotification",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  stateMachine: "aws:sfn/stateMachine:StateMachine",
  schedule: "aws:scheduler/schedule:Schedule",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
} as const;

const ofType = (preview: StackPreview, type: string): PreviewResource[] => preview.resources.filter((r) => r.type === type);

function json(run: CliRun): StackPreview {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as StackPreview;
}

describe("bucket-sync preview", () => {
  let dev: CliRun;
  let prod: CliRun;
  let prodText: CliRun;
  let badConfig: CliRun;
  let setConfig: CliRun;
  let staging: CliRun;
  let malformed: CliRun;

  // Each run starts Node and loads Pulumi (seconds): start them all at once. Seven at once on a
  // busy machine can outlast mocha's default timeout; they still finish.
  before(async function () {
    this.timeout(300_000);
    const LONG = { timeoutMs: 240_000 };
    [dev, prod, prodText, badConfig, setConfig, staging, malformed] = await Promise.all([
      runCli(["preview", "--stack", "dev", "--json"], LONG),
      runCli(["preview", "--stack", "prod", "--json"], LONG),
      runCli(["preview", "--stack", "prod"], LONG),
      runCli(["preview", "--stack", "prod", "--config", "mode=sideways", "--config", "maxConcurrency=0"], LONG),
      runCli(["preview", "--stack", "prod", "--json", "--config", "schedule=rate(6 hours)", "--config", "onChangeSync=false"], LONG),
      runCli(["preview", "--stack", "staging"], LONG),
      runCli(["preview", "--stack", "dev", "--config", "mode"], LONG),
    ]);
  });

  it("previews dev: every resource the program registers, its bucket with EventBridge notifications, no violations", async () => {
    const preview = json(dev);
    assert.deepEqual(Object.keys(preview), ["stack", "resources", "outputs", "warnings", "policy"]);
    assert.equal(preview.stack, "dev");
    assert.equal(preview.resources.length, (await runProgram({ stack: "dev", preview: true })).resources.length);
    assert.deepEqual(ofType(preview, T.bucket).map((b) => b.inputs.bucket), [`bucket-sync-${MOCK_ACCOUNT_ID}-dev`]);
    assert.equal(ofType(preview, T.notification)[0]?.inputs.eventbridge, true);
    assert.deepEqual([...ofType(preview, T.fn), ...ofType(preview, T.stateMachine)], []);
    assert.deepEqual(preview.outputs, { bucketName: `bucket-sync-${MOCK_ACCOUNT_ID}-dev`, bucketArn: "[unknown]", accountId: MOCK_ACCOUNT_ID });
    assert.deepEqual(preview.policy, { violations: [] });
  });

  it("previews prod: the sync machine with one function per handler, protected buckets, the schedule from its config", async () => {
    const preview = json(prod);
    assert.equal(preview.stack, "prod");
    assert.equal(preview.resources.length, (await runProgram({ stack: "prod", preview: true })).resources.length);
    assert.deepEqual(
      ofType(preview, T.fn).map((f) => f.inputs.name).sort(),
      HANDLER_NAMES.map((h) => `bucket-sync-prod-${h}`).sort(),
    );
    // The sync machine, and the machine that runs on-change batches.
    assert.deepEqual(ofType(preview, T.stateMachine).map((m) => m.inputs.name).sort(), ["bucket-sync-prod", "bucket-sync-prod-on-change-batch"]);
    const buckets = ofType(preview, T.bucket);
    assert.deepEqual(buckets.map((b) => b.inputs.bucket).sort(), [`bucket-sync-${MOCK_ACCOUNT_ID}-prod`, `bucket-sync-${MOCK_ACCOUNT_ID}-prod-reports`]);
    assert.ok(buckets.every((b) => b.protect), "Pulumi.prod.yaml sets protectBuckets");
    const [schedule] = ofType(preview, T.schedule);
    assert.equal(schedule.inputs.scheduleExpression, "cron(0 3 * * ? *)");
    assert.equal(schedule.inputs.scheduleExpressionTimezone, "Europe/Berlin");
    // Parents link every resource into one tree under the stack.
    const urns = new Set(preview.resources.map((r) => r.urn));
    for (const r of preview.resources) if (r.type !== T.stack) assert.ok(r.parent && urns.has(r.parent), `${r.name} has no parent in the preview`);
    // Inputs as the program passed them: IAM documents as the JSON it built, ARNs AWS assigns unknown.
    for (const policy of ofType(preview, T.rolePolicy)) {
      assert.equal(typeof policy.inputs.policy, "string");
      assert.ok(Array.isArray(JSON.parse(String(policy.inputs.policy)).Statement), `${policy.name}: a policy document`);
      assert.equal(policy.inputs.role, "[unknown]");
    }
    // A function's code archive, described by what it holds: the esbuild bundle.
    const code = ofType(preview, T.fn)[0].inputs.code as { archive: Record<string, string> };
    assert.deepEqual(Object.keys(code.archive), ["index.js"]);
    assert.match(code.archive["index.js"], /^text, \d+ bytes$/);
    assert.equal(preview.outputs.sourceBucketName, `bucket-sync-${MOCK_ACCOUNT_ID}-dev`);
    assert.equal(preview.outputs.stateMachineArn, "[unknown]");
    assert.deepEqual(preview.policy, { violations: [] });
  });

  it("prints prod as a tree with key properties, the outputs and the policy verdict", () => {
    assert.equal(prodText.code, 0, prodText.stderr);
    const out = prodText.stdout;
    assert.match(out, /^ {2}\+ {2}pulumi:pulumi:Stack +bucket-sync-prod$/m);
    assert.match(out, /^ {2}\+ {2}├─ bucketsync:index:SyncMachine +sync-machine$/m);
    assert.match(out, /^ {2}\+ {2}│ {2}├─ aws:lambda:Function +sync-machine-sync-range +name=bucket-sync-prod-sync-range runtime=nodejs24\.x handler=index\.syncRange/m);
    assert.match(out, /aws:s3:Bucket +bucket-bucket +bucket=bucket-sync-123456789012-prod \[protect\]/);
    assert.match(out, /aws:iam:RolePolicy +sync-machine-sync-range-policy +statements=ListSourcePrefix, ListDestinationPrefix, ReadSourceObjects, WriteDestinationObjects/);
    assert.match(out, /^Outputs:\n {4}bucketName: +"bucket-sync-123456789012-prod"$/m);
    assert.match(out, /^ {4}stateMachineArn: +\[unknown\]$/m);
    assert.match(out, /^ {4}no violations$/m);
    assert.match(out, new RegExp(`^ {4}\\+ ${json(prod).resources.length} to create$`, "m"));
    assert.match(out, /Preview succeeded: every policy passed\.\n$/);
  });

  it("warns, as pulumi preview would, when a stack that can ask for delete approval has nobody to ask", async () => {
    // In-process (the command's own function), to spare a Node start.
    const mirror = await runPreview({ stack: "prod", config: ["mode=mirror"] });
    assert.equal(mirror.exitCode, 0, mirror.stderr);
    assert.match(
      mirror.stdout,
      /^Warnings:\n {4}warning: bucket-sync:notificationEmails is empty, but bucket-sync:mode mirror can ask for delete approval/m,
    );
    assert.deepEqual(json(prod).warnings, [], "backup never asks");
    assert.doesNotMatch(prodText.stdout, /^Warnings:/m);
  });

  it("previews dev and prod in different accounts from --config backupAccountId / sourceAccountId", async () => {
    const dev = await runPreview({ stack: "dev", config: ["backupAccountId=210987654321"], json: true });
    assert.equal(dev.exitCode, 0, dev.stderr);
    const devPreview = dev.preview!;
    const policy = JSON.parse(String(ofType(devPreview, "aws:s3/bucketPolicy:BucketPolicy")[0].inputs.policy)) as { Statement: Array<{ Effect: string; Principal?: unknown }> };
    assert.ok(JSON.stringify(policy).includes("arn:aws:iam::210987654321:role/bucket-sync-prod-sync-range"));
    assert.ok(policy.Statement.filter((s) => s.Effect === "Allow").every((s) => JSON.stringify(s.Principal) === '{"AWS":"arn:aws:iam::210987654321:root"}'));
    assert.equal(ofType(devPreview, "aws:cloudwatch/eventTarget:EventTarget")[0].inputs.arn, "arn:aws:events:eu-west-1:210987654321:event-bus/default");
    assert.deepEqual(devPreview.policy.violations, []);

    const prod = await runPreview({ stack: "prod", config: ["sourceAccountId=111122223333"], json: true });
    assert.equal(prod.exitCode, 0, prod.stderr);
    assert.equal(ofType(prod.preview!, "aws:cloudwatch/eventBusPolicy:EventBusPolicy").length, 0);
    assert.equal(ofType(prod.preview!, "aws:cloudwatch/eventPermission:EventPermission")[0].inputs.principal, "111122223333");
    assert.equal(prod.preview!.outputs.sourceAccountId, "111122223333");
  });

  it("previews the REST trigger from --config apiTrigger=true, with its URL", async () => {
    const run = await runPreview({ stack: "prod", config: ["apiTrigger=true"], json: true });
    assert.equal(run.exitCode, 0, run.stderr);
    const method = ofType(run.preview!, "aws:apigateway/method:Method")[0];
    assert.equal(method.inputs.authorization, "AWS_IAM");
    assert.equal(ofType(run.preview!, "aws:apigateway/integration:Integration")[0].inputs.uri, "arn:aws:apigateway:eu-west-1:states:action/StartExecution");
    assert.equal(run.preview!.outputs.apiUrl, "[unknown]", "the API's id is AWS's to assign");
    assert.deepEqual(run.preview!.policy.violations, []);
  });

  it("fails with exit 1 on a bad config value, naming the key and the value", () => {
    const run = badConfig;
    assert.equal(run.code, 1, run.stdout);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /bucket-sync preview: stack "prod": invalid configuration for stack "prod"/);
    assert.match(run.stderr, /bucket-sync:mode: must be one of backup, mirror, two-way \(got "sideways"\)/);
    assert.match(run.stderr, /bucket-sync:maxConcurrency: /);
    assert.doesNotMatch(run.stderr, /at loadStackConfig|RunError/, "the message, not a stack trace");
  });

  it("applies --config values as `pulumi config set` would", () => {
    const preview = json(setConfig);
    assert.equal(ofType(preview, T.schedule)[0].inputs.scheduleExpression, "rate(6 hours)");
    assert.deepEqual(ofType(preview, "aws:cloudwatch/eventRule:EventRule"), []);
  });

  it("refuses a stack without a Pulumi.<stack>.yaml and a malformed --config, with exit 2", () => {
    assert.equal(staging.code, 2);
    assert.match(staging.stderr, /no stack "staging" \(no Pulumi\.staging\.yaml\); stacks: canary-dev, canary-prod, dev, prod/);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--config mode: expected key=value/);
  });

  describe("with a program that violates the policy pack", () => {
    /** An aws.lambda.CallbackFunction without a role: it attaches AmazonS3FullAccess itself. */
    const program = async () => {
      const fn = new aws.lambda.CallbackFunction("thumbnailer", { callback: async () => ({ ok: true }) });
      return { functionName: fn.name };
    };

    it("fails with exit 1 and reports the mandatory violation, in text and in JSON", async () => {
      const text = await runPreview({ stack: "dev" }, program);
      assert.equal(text.exitCode, 1);
      assert.match(text.stderr, /bucket-sync preview: 1 mandatory policy violation\n/);
      assert.match(text.stdout, /^ {4}- \[mandatory\] {2}no-wildcard-s3-managed-policy {2}\(aws:iam\/rolePolicyAttachment:RolePolicyAttachment: thumbnailer-[0-9a-f]+\)$/m);
      assert.match(text.stdout, /attaches the AWS managed policy AmazonS3FullAccess \(arn:aws:iam::aws:policy\/AmazonS3FullAccess\)/);
      assert.match(text.stdout, /Preview failed: 1 mandatory policy violation\.\n$/);

      const asJson = await runPreview({ stack: "dev", json: true }, program);
      assert.equal(asJson.exitCode, 1);
      const preview = JSON.parse(asJson.stdout) as StackPreview;
      assert.equal(preview.policy.violations.length, 1);
      const [v] = preview.policy.violations;
      assert.equal(v.policyName, "no-wildcard-s3-managed-policy");
      assert.equal(v.enforcementLevel, "mandatory");
      assert.equal(v.resource?.type, T.attachment);
      assert.equal(preview.resources.find((r) => r.urn === v.urn)?.inputs.policyArn, "arn:aws:iam::aws:policy/AmazonS3FullAccess");
    });

    it("passes, with the violation shown as advisory, when the pack config lowers the policy to advisory", async () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-")), "policy-config.json");
      fs.writeFileSync(file, JSON.stringify({ "no-wildcard-s3-managed-policy": "advisory" }));
      const outcome = await runPreview({ stack: "dev", policyPackConfig: file }, program);
      assert.equal(outcome.exitCode, 0, outcome.stderr);
      assert.match(outcome.stdout, /- \[advisory\] {2}no-wildcard-s3-managed-policy/);
      assert.match(outcome.stdout, /Preview succeeded: 1 advisory policy message, no mandatory violation\.\n$/);
    });
  });

  it("loads no Pulumi package until the preview or diagram action runs, so other subcommands stay fast", () => {
    const probe = [
      "require('tsx/cjs');",
      "require('./cli/preview.ts'); require('./cli/diagram.ts'); require('./cli/sources.ts');",
      "const loaded = Object.keys(require.cache).filter((k) => /node_modules\\/(@pulumi|yaml|beautiful-mermaid)\\//.test(k));",
      "process.stdout.write(JSON.stringify(loaded));",
    ].join("");
    const child = spawnSync(process.execPath, ["-e", probe], { cwd: path.join(__dirname, "..", ".."), encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), []);
  });

  it("prints an unknown output bare and a known one as JSON", () => {
    const text = formatPreview({
      stack: "x",
      resources: [{ type: T.stack, name: "p-x", urn: "urn:s", protect: false, inputs: {} }],
      outputs: { a: "[unknown]", b: 1 },
      warnings: [],
      policy: { violations: [] },
    });
    assert.match(text, /^ {4}a: \[unknown\]\n {4}b: 1$/m);
  });
});
