/**
 * The one declaration per setting (model/settings.ts) and the three surfaces that read it:
 * engine validation, stack config and CLI flags agree on bounds, defaults and wording.
 */
import { strict as assert } from "node:assert";
import { flagOf, settingsFromFlags } from "../../cli/sync";
import { validateRequest } from "../../handlers/engine/validation";
import { parseSetting, REPORT_PREFIX, SCHEDULED_MODE, SYNC_SETTINGS, type Setting } from "../../model/settings";
import { ConfigError, parseStackConfig, STACK_SETTINGS } from "../../infra/config";
import { stackConfig } from "../helpers/pulumiMocks";

const ok = { source: { bucket: "dev-data" }, destination: { bucket: "prod-data" } };
const CONTEXT = { project: "bucket-sync", stack: "prod", organization: "organization" };

function configProblems(overrides: Record<string, string>): string[] {
  try {
    parseStackConfig(stackConfig("prod", overrides), CONTEXT);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

describe("settings", () => {
  it("declares defaults that pass their own schemas, local defaults too", () => {
    const all: Record<string, Setting> = { ...SYNC_SETTINGS, ...STACK_SETTINGS, reportPrefix: REPORT_PREFIX };
    for (const [name, declared] of Object.entries(all)) {
      for (const value of [declared.default, declared.localDefault]) {
        if (value === undefined) continue;
        assert.ok(parseSetting(declared, value).ok, `${name}: default ${JSON.stringify(value)}`);
      }
      assert.ok(declared.description.length > 10, `${name}: description`);
    }
  });

  it("gives the stack the very declarations the engine validates with", () => {
    assert.equal(STACK_SETTINGS.mode, SCHEDULED_MODE, "a stack schedules syncs; restores are asked for");
    for (const name of ["conflictPolicy", "dryRun", "maxDeletes", "concurrency", "partitions", "storageClass", "timeBudgetSeconds"] as const) {
      assert.equal(STACK_SETTINGS[name], SYNC_SETTINGS[name], name);
    }
  });

  it("refuses a storage class S3 does not have in an execution input, as the config does", () => {
    assert.throws(() => validateRequest({ ...ok, storageClass: "COLD" }), /storageClass "COLD" is unknown: use STANDARD, STANDARD_IA/);
    assert.equal(validateRequest({ ...ok, storageClass: "STANDARD_IA" }).storageClass, "STANDARD_IA");
    assert.match(configProblems({ storageClass: "COLD" }).join("\n"), /bucket-sync:storageClass: must be empty or one of STANDARD/);
  });

  it("bounds the time budget alike in requests and stacks", () => {
    const max = validateRequest({ ...ok, timeBudgetSeconds: 840 }).timeBudgetSeconds;
    assert.equal(max, 840);
    assert.throws(() => validateRequest({ ...ok, timeBudgetSeconds: 841 }), /timeBudgetSeconds must be an integer from 1 to 840, got 841/);
    assert.deepEqual(configProblems({ timeBudgetSeconds: "840" }), []);
    assert.match(configProblems({ timeBudgetSeconds: "841" }).join("\n"), /^bucket-sync:timeBudgetSeconds: must leave 60 s/);
  });

  it("parses a delete limit with one rule everywhere", () => {
    assert.deepEqual(validateRequest({ ...ok, maxDeletes: "5%" }).maxDeletes, { percent: 5 });
    assert.throws(() => validateRequest({ ...ok, maxDeletes: "150%" }), /maxDeletes "150%" is invalid: must be a share of at most 100%/);
    assert.match(configProblems({ maxDeletes: "150%" }).join("\n"), /^bucket-sync:maxDeletes: must be a share of at most 100% \(got "150%"\)$/m);
    assert.throws(() => settingsFromFlags({ maxDeletes: "150%" }), /^Error: --max-deletes "150%" is invalid: must be a share of at most 100%$/);
  });

  describe("CLI flags", () => {
    it("are named after their settings", () => {
      assert.equal(flagOf("conflictPolicy"), "--conflict-policy");
      assert.equal(flagOf("dryRun"), "--dry-run");
    });

    it("take the local defaults where a setting has one, and leave the rest to the request's", () => {
      assert.deepEqual(settingsFromFlags({}), { concurrency: 64, partitions: 1 });
    });

    it("convert their text by the setting's type", () => {
      assert.deepEqual(settingsFromFlags({ concurrency: "8", dryRun: true, mode: "mirror", maxDeletes: "5" }), {
        concurrency: 8,
        partitions: 1,
        dryRun: true,
        mode: "mirror",
        maxDeletes: "5",
      });
    });

    it("name the flag the user typed in each problem", () => {
      assert.throws(() => settingsFromFlags({ concurrency: "lots" }), /--concurrency must be a whole number from 1 to 1000, got "lots"/);
      assert.throws(() => settingsFromFlags({ conflictPolicy: "older-wins" }), /--conflict-policy "older-wins" is unknown: use report, newer-wins/);
    });
  });
});
