/**
 * The pure parts of a restore: its request rules, the retention window a lifecycle gives, the
 * grant a destination must lie in, how a pair is decided, how a version is named in
 * CopySource, and the policy rule that keeps a backup's history.
 */
import { strict as assert } from "node:assert";
import { deletesExtras } from "../../model/contract";
import { copySource } from "../../handlers/engine/objects";
import { decideListed } from "../../handlers/engine/planner";
import { parseGrant, retentionDays, withinGrant } from "../../handlers/engine/restore";
import { validateRequest } from "../../handlers/engine/validation";
import { BACKUP_TAG, checkBackupHistory, HISTORY_ACTIONS } from "../../policy-pack/rules";

const NOW = Date.parse("2026-12-06T05:00:00Z");
const restore = { source: { bucket: "prod-backup" }, destination: { bucket: "dev-data" }, mode: "restore", asOf: "2026-12-05T01:59:00Z" };

function problems(request: object): string {
  try {
    validateRequest(request, undefined, NOW);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

describe("restore requests", () => {
  it("fills in asOf as UTC, and delete and approveOverwrite as false", () => {
    const job = validateRequest({ ...restore, asOf: "2026-12-05T02:59:00+01:00" }, undefined, NOW);
    assert.equal(job.asOf, "2026-12-05T01:59:00.000Z");
    assert.deepEqual([job.mode, job.delete, job.approveOverwrite], ["restore", false, false]);
  });

  it("refuses a restore without asOf, an asOf in the future or not a time, and a key-scoped restore", () => {
    assert.match(problems({ ...restore, asOf: undefined }), /mode restore needs asOf/);
    assert.match(problems({ ...restore, asOf: "2026-12-06T05:00:01Z" }), /asOf 2026-12-06T05:00:01Z is in the future \(now is 2026-12-06T05:00:00.000Z\)/);
    assert.match(problems({ ...restore, asOf: "last night" }), /asOf "last night" is invalid: must be an ISO 8601 time/);
    assert.match(problems({ ...restore, keys: ["a"] }), /keys cannot be combined with mode restore/);
  });

  it("refuses restore settings outside a restore, rather than ignoring them", () => {
    assert.equal(
      problems({ source: { bucket: "aaa" }, destination: { bucket: "bbb" }, mode: "mirror", asOf: "2026-12-05T01:59:00Z", delete: true }),
      "asOf applies to mode restore only (mode is mirror); delete applies to mode restore only (mode is mirror)",
    );
  });

  it("allows a restore in place, and still refuses overlapping prefixes", () => {
    assert.equal(problems({ ...restore, destination: { bucket: "prod-backup" } }), "");
    assert.match(problems({ ...restore, destination: { bucket: "prod-backup", prefix: "restored/" } }), /overlap/);
  });

  it("deletes extras in mirror, and in restore only with delete", () => {
    assert.deepEqual(
      [deletesExtras({ mode: "mirror" }), deletesExtras({ mode: "restore" }), deletesExtras({ mode: "restore", delete: true }), deletesExtras({ mode: "backup", delete: true })],
      [true, false, true, false],
    );
  });
});

describe("restore planning", () => {
  const version = { key: "k", size: 3, etag: "e1", lastModified: 1000, versionId: "v1" };
  const settings = (del: boolean) => ({ mode: "restore" as const, conflictPolicy: "report" as const, delete: del });

  it("copies a key missing in the destination, and deletes one the source lacked only with delete", () => {
    assert.deepEqual(decideListed({ key: "k", source: version }, settings(false)), { action: "copy", reason: "missing" });
    assert.deepEqual(decideListed({ key: "k", destination: version }, settings(false)), { action: "extra", reason: "extra" });
    assert.deepEqual(decideListed({ key: "k", destination: version }, settings(true)), { action: "delete", reason: "extra" });
  });

  it("leaves a destination that is that very version (in place) unchanged, and inspects one written with other bytes later", () => {
    assert.deepEqual(decideListed({ key: "k", source: version, destination: { ...version, versionId: undefined } }, settings(false)), { action: "unchanged" });
    assert.deepEqual(decideListed({ key: "k", source: version, destination: { ...version, etag: "e2", lastModified: 5000 } }, settings(false)), { action: "inspect" });
  });
});

describe("restore checks", () => {
  it("takes the shortest noncurrent retention among enabled rules that reach the prefix", () => {
    const rules = [
      { ID: "all", Status: "Enabled" as const, Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
      { ID: "logs", Status: "Enabled" as const, Filter: { Prefix: "logs/" }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
      { ID: "off", Status: "Disabled" as const, Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
      { ID: "current-only", Status: "Enabled" as const, Filter: { Prefix: "" }, Expiration: { Days: 1 } },
    ];
    assert.deepEqual(retentionDays(rules, "data/"), { days: 30, rule: "all" });
    assert.deepEqual(retentionDays(rules, "logs/app/"), { days: 7, rule: "logs" });
    assert.deepEqual(retentionDays(rules, ""), { days: 7, rule: "logs" }, "a rule under the prefix reaches part of it");
    assert.equal(retentionDays([], "data/"), undefined);
  });

  it("keeps a restore within its grant: the same bucket, under the granted prefix", () => {
    const grant = parseGrant("dev-data/restored/");
    assert.deepEqual(grant, { bucket: "dev-data", prefix: "restored/" });
    assert.equal(withinGrant({ bucket: "dev-data", prefix: "restored/2026/" }, grant), true);
    assert.equal(withinGrant({ bucket: "dev-data", prefix: "" }, grant), false);
    assert.equal(withinGrant({ bucket: "dev-data-2", prefix: "restored/" }, grant), false);
  });

  it("names a version in CopySource after the per-segment-encoded key", () => {
    assert.equal(copySource("b", "dir/q?mark plus+", "3/L4kqtJl+cD=="), "b/dir/q%3Fmark%20plus%2B?versionId=3%2FL4kqtJl%2BcD%3D%3D");
    assert.equal(copySource("b", "k"), "b/k");
  });
});

describe("backup-history-protected rule", () => {
  const guard = {
    Effect: "Deny",
    Principal: "*",
    Action: [...HISTORY_ACTIONS],
    Resource: ["arn:aws:s3:::prod", "arn:aws:s3:::prod/*"],
    Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/break-glass" } },
  };
  const stack = (statement: object, days = 30, tags: Record<string, string> = { [BACKUP_TAG]: "true" }) => ({
    buckets: [{ bucket: "prod", tags }],
    lifecycles: [{ bucket: "prod", rules: [{ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: days } }] }],
    policies: [{ bucket: "prod", policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) }],
  });

  it("passes a guarded backup that keeps its versions the minimum, and ignores buckets not marked as backups", () => {
    assert.deepEqual(checkBackupHistory(stack(guard)), []);
    assert.deepEqual(checkBackupHistory(stack({}, 1, {})), []);
  });

  it("fails a guard that leaves an action out, covers only the bucket, or excepts by anything but the principal", () => {
    const problems = (statement: object) => checkBackupHistory(stack(statement)).length;
    assert.equal(problems({ ...guard, Action: HISTORY_ACTIONS.slice(1) }), 1);
    assert.equal(problems({ ...guard, Resource: "arn:aws:s3:::prod" }), 1);
    assert.equal(problems({ ...guard, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }), 1);
    assert.equal(problems({ ...guard, Effect: "Allow" }), 1);
  });

  it("fails retention below a configurable minimum", () => {
    assert.match(checkBackupHistory(stack(guard, 29))[0], /expires noncurrent versions after 29 days, below the minimum of 30/);
    assert.deepEqual(checkBackupHistory(stack(guard, 29), 7), []);
  });
});
