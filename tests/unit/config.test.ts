/**
 * The config schema (Pulumi.yaml), the stack files, and the pure validation in infra/config.ts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { DEFAULTS } from "../../handlers/engine/validation";
import { CONFIG_KEYS, ConfigError, parseStackConfig, pulumiConfigSchema, REGION_KEY, type ConfigValues, type StackConfig } from "../../infra/config";
import { projectConfigDefaults, stackConfig } from "../helpers/pulumiMocks";

const ROOT = path.join(__dirname, "..", "..");
const CONTEXT = { project: "bucket-sync", stack: "prod", organization: "organization" };

interface SchemaEntry {
  type?: string;
  default?: unknown;
  description?: string;
  items?: { type: string };
}

function schema(): Record<string, SchemaEntry> {
  const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, SchemaEntry> };
  return project.config;
}

/** The prod stack's real config, with overrides (`bucket-sync:` implied). */
function prodWith(overrides: Record<string, string | undefined>): ConfigValues {
  return stackConfig("prod", overrides);
}

function problemsOf(values: ConfigValues, context = CONTEXT): string[] {
  try {
    parseStackConfig(values, context);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail("the config was accepted");
}

describe("config schema (Pulumi.yaml)", () => {
  it("declares exactly the keys the loader reads, each with a type, a default and a description", () => {
    const declared = schema();
    assert.deepEqual(Object.keys(declared).sort(), [...CONFIG_KEYS].sort());
    for (const [key, entry] of Object.entries(declared)) {
      assert.ok(["string", "integer", "boolean", "array"].includes(entry.type ?? ""), `${key}: type`);
      assert.ok(entry.default !== undefined, `${key}: default`);
      assert.ok((entry.description ?? "").length > 10, `${key}: description`);
      if (entry.type === "array") assert.deepEqual(entry.items, { type: "string" }, `${key}: items`);
    }
  });

  it("declares each key's type, default and description as the settings declare them", () => {
    const declared = schema();
    for (const [key, expected] of Object.entries(pulumiConfigSchema())) {
      const { type, items, default: fallback, description } = declared[key];
      assert.deepEqual({ type, ...(items ? { items } : {}), default: fallback, description }, expected, key);
    }
  });

  it("gives the SyncRequest fields the engine's own defaults", () => {
    const defaults = projectConfigDefaults();
    assert.equal(defaults["bucket-sync:mode"], DEFAULTS.mode);
    assert.equal(defaults["bucket-sync:conflictPolicy"], DEFAULTS.conflictPolicy);
    assert.equal(defaults["bucket-sync:maxDeletes"], DEFAULTS.maxDeletes);
    assert.equal(Number(defaults["bucket-sync:concurrency"]), DEFAULTS.concurrency);
    assert.equal(Number(defaults["bucket-sync:partitions"]), DEFAULTS.partitions);
    assert.equal(Number(defaults["bucket-sync:timeBudgetSeconds"]), DEFAULTS.timeBudgetSeconds);
  });

  it("keeps stack files to aws:region and declared project keys", () => {
    const declared = new Set(Object.keys(schema()).map((k) => `bucket-sync:${k}`));
    for (const stack of ["dev", "prod"]) {
      const file = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
      assert.ok(REGION_KEY in file.config, `${stack}: ${REGION_KEY}`);
      for (const key of Object.keys(file.config)) {
        assert.ok(key === REGION_KEY || declared.has(key), `Pulumi.${stack}.yaml sets undeclared ${key}`);
      }
    }
  });
});

describe("parseStackConfig", () => {
  describe("the real stacks", () => {
    it("dev: a bucket with EventBridge notifications, no sync machine", () => {
      const dev = parseStackConfig(stackConfig("dev"), { ...CONTEXT, stack: "dev" });
      assert.equal(dev.region, "eu-west-1");
      assert.equal(dev.eventBridgeNotifications, true);
      assert.equal(dev.syncMachine, false);
      assert.equal(dev.protectBuckets, false);
    });

    it("prod: a protected backup of dev, scheduled and on change", () => {
      const prod = parseStackConfig(stackConfig("prod"), CONTEXT);
      const expected: Partial<StackConfig> = {
        syncMachine: true,
        protectBuckets: true,
        sourceStack: "organization/bucket-sync/dev",
        sourceBucket: undefined,
        mode: "backup",
        schedule: "cron(0 3 * * ? *)",
        scheduleTimezone: "Europe/Berlin",
        onChangeSync: true,
        handlerPackaging: "bundle",
        maxDeletes: "10%",
        onChangeMaxDeletes: 100,
        onChangeBatchWindowSeconds: 60,
        onChangeMaxBatchKeys: 1000,
        onChangeMaxConcurrentRuns: 1,
        concurrency: 32,
        partitions: 128,
        maxConcurrency: 16,
        notificationEmails: [],
      };
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(prod[key as keyof StackConfig], value, key);
      }
    });
  });

  describe("values", () => {
    it("keeps a stack configured before partitions meant ranges valid: 16 ranges, 16 at once", () => {
      const old = parseStackConfig(prodWith({ partitions: "16", maxConcurrency: "16" }), CONTEXT);
      assert.equal(old.partitions, 16);
      assert.equal(old.maxConcurrency, 16);
    });

    it("qualifies a short source stack name with the organization and project", () => {
      assert.equal(parseStackConfig(prodWith({ sourceStack: "staging" }), CONTEXT).sourceStack, "organization/bucket-sync/staging");
      assert.equal(parseStackConfig(prodWith({ sourceStack: "other/dev" }), CONTEXT).sourceStack, "organization/other/dev");
      assert.equal(parseStackConfig(prodWith({ sourceStack: "acme/other/dev" }), CONTEXT).sourceStack, "acme/other/dev");
    });

    it("reads a list of notification emails from its JSON form", () => {
      const config = parseStackConfig(prodWith({ notificationEmails: '["ops@example.com","dev@example.com"]' }), CONTEXT);
      assert.deepEqual(config.notificationEmails, ["ops@example.com", "dev@example.com"]);
    });

    it("treats empty optional values as absent", () => {
      const config = parseStackConfig(prodWith({ kmsKeyArn: "", storageClass: "", schedule: "" }), CONTEXT);
      assert.equal(config.kmsKeyArn, undefined);
      assert.equal(config.storageClass, undefined);
      assert.equal(config.schedule, undefined);
    });
  });

  describe("bad values fail with a message naming the key", () => {
    const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
      ["an unknown mode", { mode: "sideways" }, /^bucket-sync:mode: must be one of backup, mirror, two-way \(got "sideways"\)$/],
      ["an unknown conflict policy", { conflictPolicy: "older-wins" }, /^bucket-sync:conflictPolicy: must be one of report, newer-wins/],
      ["a delete limit that is neither a count nor a share", { maxDeletes: "lots" }, /^bucket-sync:maxDeletes: must be a count/],
      ["a share above 100%", { maxDeletes: "150%" }, /^bucket-sync:maxDeletes: must be a share of at most 100%/],
      ["a concurrency of 0", { concurrency: "0" }, /^bucket-sync:concurrency: must be a whole number from 1 to 1000 \(got "0"\)$/],
      ["a fractional partition count", { partitions: "2.5" }, /^bucket-sync:partitions: must be a whole number/],
      ["more partitions than the planner plans", { partitions: "4097" }, /^bucket-sync:partitions: must be a whole number from 1 to 4096 \(got "4097"\)$/],
      ["a parallelism of 0", { maxConcurrency: "0" }, /^bucket-sync:maxConcurrency: must be a whole number from 1 to 10000 \(got "0"\)$/],
      ["a boolean that is not true or false", { dryRun: "yes" }, /^bucket-sync:dryRun: must be true or false \(got "yes"\)$/],
      ["a retention CloudWatch does not offer", { logRetentionDays: "31" }, /^bucket-sync:logRetentionDays: must be one of the periods/],
      ["a prefix without a trailing slash", { sourcePrefix: "data" }, /^bucket-sync:sourcePrefix: must be empty or end with \//],
      ["a prefix with an IAM wildcard", { destinationPrefix: "backup/*/" }, /^bucket-sync:destinationPrefix: must not contain \*, \? or \$/],
      ["a prefix starting with a slash", { destinationPrefix: "/backup/" }, /^bucket-sync:destinationPrefix: must not start with \//],
      ["an unknown packaging", { handlerPackaging: "zip" }, /^bucket-sync:handlerPackaging: must be one of bundle, callback/],
      ["a schedule that is no expression", { schedule: "daily" }, /^bucket-sync:schedule: must be an EventBridge Scheduler expression/],
      ["an unknown time zone", { scheduleTimezone: "Mars/Olympus_Mons" }, /^bucket-sync:scheduleTimezone: must be an IANA time zone/],
      ["emails that are not a list", { notificationEmails: "ops@example.com" }, /^bucket-sync:notificationEmails: must be a list of strings/],
      ["a malformed email", { notificationEmails: '["ops"]' }, /^bucket-sync:notificationEmails: must list email addresses \(got "ops"\)$/],
      ["an unknown storage class", { storageClass: "COLD" }, /^bucket-sync:storageClass: must be empty or one of STANDARD/],
      ["a KMS alias instead of a key", { kmsKeyArn: "alias/backup" }, /^bucket-sync:kmsKeyArn: must be a KMS key ARN/],
      [
        "a KMS key of another region",
        { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
        /^bucket-sync:kmsKeyArn: must be a key in aws:region \(eu-west-1\)/,
      ],
      [
        "a stack-created key and a given one at once",
        { createKmsKey: "true", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
        /^bucket-sync:createKmsKey: and bucket-sync:kmsKeyArn are both set: .*remove one/,
      ],
      ["a bucket name prefix with capitals", { bucketNamePrefix: "Acme" }, /^bucket-sync:bucketNamePrefix: must be lowercase/],
      ["a bucket name prefix that makes names too long", { bucketNamePrefix: "a".repeat(60) }, /^bucket-sync:bucketNamePrefix: makes bucket names too long/],
      ["an invalid source bucket", { sourceStack: "", sourceBucket: "Not_A_Bucket" }, /^bucket-sync:sourceBucket: must be an S3 bucket name/],
      ["a malformed source stack", { sourceStack: "a/b/c/d" }, /^bucket-sync:sourceStack: must be a stack name/],
      ["both a source stack and a source bucket", { sourceBucket: "legacy-data" }, /^bucket-sync:sourceStack \/ bucket-sync:sourceBucket: set exactly one of them .* \(got both\)$/],
      ["neither a source stack nor a source bucket", { sourceStack: "" }, /\(got neither\)$/],
      [
        "a time budget that leaves the sync-range call no time to return",
        { timeBudgetSeconds: "880" },
        /^bucket-sync:timeBudgetSeconds: must leave 60 s of bucket-sync:syncRangeTimeoutSeconds \(900\)/,
      ],
      ["a sync-range timeout above Lambda's limit", { syncRangeTimeoutSeconds: "1200" }, /^bucket-sync:syncRangeTimeoutSeconds: must be a whole number from 61 to 900/],
      ["a source KMS key given by alias", { sourceKmsKeyArn: "alias/dev-data" }, /^bucket-sync:sourceKmsKeyArn: must be a KMS key ARN/],
      [
        "a source KMS key of another region",
        { sourceKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
        /^bucket-sync:sourceKmsKeyArn: must be a key in aws:region \(eu-west-1\)/,
      ],
      ["a backup account id that is not one", { backupAccountId: "prod" }, /^bucket-sync:backupAccountId: must be a 12-digit AWS account id/],
      ["a source account id that is not one", { sourceAccountId: "1234" }, /^bucket-sync:sourceAccountId: must be a 12-digit AWS account id/],
      ["a backup stack name that cannot name roles", { backupStack: "Prod_1" }, /^bucket-sync:backupStack: must be a stack name/],
      ["an on-change delete limit that is a share", { onChangeMaxDeletes: "10%" }, /^bucket-sync:onChangeMaxDeletes: must be a whole number from 0 to 1000/],
      ["a missing region", { "aws:region": undefined }, /^aws:region: is missing/],
      ["a region that is not one", { "aws:region": "europe" }, /^aws:region: is not an AWS region name/],
      ["a key the program cannot see", { mode: undefined }, /^bucket-sync:mode: is missing/],
    ];
    for (const [what, overrides, message] of cases) {
      it(`rejects ${what}`, () => {
        const values = { ...prodWith(overrides) } as Record<string, string | undefined>;
        // `undefined` in stackConfig restores the Pulumi.yaml default; remove the key outright here.
        for (const [key, value] of Object.entries(overrides)) {
          if (value === undefined) delete values[key.includes(":") ? key : `bucket-sync:${key}`];
        }
        const problems = problemsOf(values);
        assert.ok(
          problems.some((p) => message.test(p)),
          `expected a problem matching ${message}, got:\n${problems.join("\n")}`,
        );
      });
    }

    it("rejects sync settings on a stack without a sync machine, naming each key", () => {
      const problems = problemsOf(stackConfig("dev", { schedule: "rate(1 day)", sourceBucket: "legacy-data", apiTrigger: "true" }), { ...CONTEXT, stack: "dev" });
      assert.deepEqual(
        problems.map((p) => p.split(":").slice(0, 2).join(":")),
        ["bucket-sync:sourceBucket", "bucket-sync:schedule", "bucket-sync:apiTrigger"],
      );
    });

    it("rejects a stack name that cannot be part of bucket names", () => {
      const problems = problemsOf(stackConfig("dev"), { ...CONTEXT, stack: "Dev_1" });
      assert.match(problems.join("\n"), /stack name "Dev_1" must be lowercase letters, digits and hyphens/);
    });

    it("reports every problem at once, one line each, in the error message", () => {
      try {
        parseStackConfig(prodWith({ mode: "sideways", concurrency: "0", schedule: "daily" }), CONTEXT);
        assert.fail("accepted");
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 3);
        assert.match(err.message, /^invalid configuration for stack "prod":\n {2}- bucket-sync:mode: /);
        for (const key of ["mode", "concurrency", "schedule"]) assert.ok(err.message.includes(`bucket-sync:${key}:`));
      }
    });
  });
});
