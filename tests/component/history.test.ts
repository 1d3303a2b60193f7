/**
 * The components that keep a backup restorable, each built alone under Pulumi mocks: the
 * HardenedBucket's Object Lock, history guard and backup tag, and the RestoreRole, which reads
 * the backup's versions and writes only its target.
 */
import { strict as assert } from "node:assert";
import { HardenedBucket, type HardenedBucketArgs } from "../../infra/hardenedBucket";
import { HISTORY_ACTIONS as STACK_HISTORY_ACTIONS } from "../../infra/iamDocuments";
import { RestoreRole } from "../../infra/restoreRole";
import type { ProgramRun, RecordedResource } from "../../offline-pulumi/program";
import { checkBackupHistory, HISTORY_ACTIONS } from "../../policy-pack/rules";
import { runProgram } from "../helpers/pulumiMocks";

async function build(construct: () => void): Promise<ProgramRun> {
  return runProgram({
    stack: "prod",
    program: async () => {
      construct();
      return {};
    },
  });
}

function byName(run: ProgramRun, name: string): RecordedResource {
  const found = run.resources.find((r) => r.name === name);
  assert.ok(found, `no resource named ${name}; have ${run.resources.map((r) => r.name).join(", ")}`);
  return found;
}

const BREAK_GLASS = "arn:aws:iam::123456789012:role/bucket-sync-break-glass";

describe("HardenedBucket history protections", () => {
  const bucket = (args: Partial<HardenedBucketArgs> = {}) => build(() => void new HardenedBucket("backup", { bucketName: "acme-prod", ...args }));

  it("locks new versions for the days asked, in the mode asked, after versioning is on", async () => {
    const run = await bucket({ objectLock: { mode: "COMPLIANCE", days: 45 } });
    const lock = byName(run, "backup-object-lock");
    assert.equal(lock.type, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
    assert.equal(lock.inputs.objectLockEnabled, "Enabled");
    assert.deepEqual(lock.inputs.rule, { defaultRetention: { mode: "COMPLIANCE", days: 45 } });
    assert.equal(byName(run, "backup-bucket").inputs.objectLockEnabled, undefined, "no bucket replacement: Object Lock is added to the existing bucket");
    assert.ok(!(await bucket()).resources.some((r) => r.name === "backup-object-lock"), "no lock unless asked");
  });

  it("denies the history actions to everyone but the break-glass role, and the policy pack's rule accepts exactly that", async () => {
    const run = await bucket({ breakGlassRoleArn: BREAK_GLASS, backup: true, noncurrentVersionRetentionDays: 30 });
    const policy = JSON.parse(String(byName(run, "backup-policy").inputs.policy)) as { Statement: Array<Record<string, unknown>> };
    const guard = policy.Statement.find((s) => s.Sid === "DenyHistoryChangesButBreakGlass");
    assert.deepEqual(guard, {
      Sid: "DenyHistoryChangesButBreakGlass",
      Effect: "Deny",
      Principal: "*",
      Action: [...HISTORY_ACTIONS],
      Resource: ["arn:aws:s3:::acme-prod", "arn:aws:s3:::acme-prod/*"],
      Condition: { ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } },
    });
    assert.deepEqual([...STACK_HISTORY_ACTIONS], [...HISTORY_ACTIONS], "the stack denies what the rule requires");
    assert.equal((byName(run, "backup-bucket").inputs.tags as Record<string, string>)["bucket-sync:backup"], "true");

    const input = (r: ProgramRun) => ({
      buckets: [{ bucket: "acme-prod", tags: byName(r, "backup-bucket").inputs.tags as Record<string, string> }],
      lifecycles: [{ bucket: "acme-prod", rules: byName(r, "backup-lifecycle").inputs.rules as [] }],
      policies: [{ bucket: "acme-prod", policy: byName(r, "backup-policy").inputs.policy }],
    });
    assert.deepEqual(checkBackupHistory(input(run)), []);
    const unguarded = await bucket({ backup: true, noncurrentVersionRetentionDays: 1 });
    assert.deepEqual(
      checkBackupHistory(input(unguarded)).map((v) => v.split(":")[0]),
      ['backup bucket "acme-prod" expires noncurrent versions after 1 days, below the minimum of 30', 'backup bucket "acme-prod" has no bucket-policy statement denying s3'],
    );
  });
});

describe("RestoreRole", () => {
  it("reads the backup's versions and writes only the target prefix; its trust is the backup's account", async () => {
    const run = await build(
      () =>
        void new RestoreRole("restore", {
          roleName: "acme-prod-restore",
          partition: "aws",
          accountId: "123456789012",
          backup: { bucketName: "acme-prod", prefix: "backup/" },
          target: { bucketName: "acme-dev", prefix: "restored/" },
        }),
    );
    assert.equal(byName(run, "restore").type, "bucketsync:index:RestoreRole");
    const role = byName(run, "restore-role");
    assert.equal(role.inputs.name, "acme-prod-restore");
    assert.deepEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal, { AWS: "arn:aws:iam::123456789012:root" });
    const policy = JSON.parse(String(byName(run, "restore-policy").inputs.policy)) as { Statement: Array<{ Action: string | string[]; Resource: string | string[] }> };
    const writes = policy.Statement.filter((s) => [s.Action].flat().some((a) => /Put|Delete/.test(a)));
    assert.deepEqual(writes.map((s) => s.Resource), ["arn:aws:s3:::acme-dev/restored/*"]);
    const reads = policy.Statement.filter((s) => [s.Action].flat().includes("s3:GetObjectVersion"));
    assert.deepEqual(reads.map((s) => s.Resource), ["arn:aws:s3:::acme-prod/backup/*"]);
    assert.ok(!policy.Statement.some((s) => [s.Action].flat().includes("s3:DeleteObjectVersion")), "a restore never deletes history");
  });
});

describe("the program's restore role and its cross-account grant", () => {
  it("creates the restore role only with restoreTarget, and a dev stack in another account grants it, by ARN, only its prefix", async () => {
    const prod = await runProgram({ stack: "prod", config: { restoreTarget: "s3://bucket-sync-210987654321-dev/restored/" } });
    const dev = await runProgram({ stack: "dev", config: { backupAccountId: "210987654321", restoreGrantPrefix: "restored/" } });
    const plainDev = await runProgram({ stack: "dev", config: { backupAccountId: "210987654321" } });

    const roles = prod.resources.filter((r) => r.type === "bucketsync:index:RestoreRole");
    assert.equal(roles.length, 1);
    assert.equal(byName(prod, "restore-role").inputs.name, "bucket-sync-prod-restore");
    assert.ok(!dev.resources.some((r) => r.type === "bucketsync:index:RestoreRole"), "no restore role without restoreTarget");
    const policyOf = (run: ProgramRun) =>
      JSON.parse(String(run.resources.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy")?.inputs.policy)) as {
        Statement: Array<{ Sid?: string; Principal?: { AWS?: string }; Resource?: string | string[] }>;
      };
    const grants = policyOf(dev).Statement.filter((s) => s.Sid?.startsWith("RestoreRole"));
    assert.deepEqual(
      grants.map((s) => [s.Sid, s.Principal?.AWS]),
      [
        ["RestoreRoleLists", "arn:aws:iam::210987654321:role/bucket-sync-prod-restore"],
        ["RestoreRoleListsUploads", "arn:aws:iam::210987654321:role/bucket-sync-prod-restore"],
        ["RestoreRoleWrites", "arn:aws:iam::210987654321:role/bucket-sync-prod-restore"],
      ],
    );
    assert.match(String(grants[2].Resource), /:::bucket-sync-\d+-dev\/restored\/\*$/);
    assert.ok(!policyOf(plainDev).Statement.some((s) => s.Sid?.startsWith("RestoreRole")), "additive: no grant unless asked");
  });
});
