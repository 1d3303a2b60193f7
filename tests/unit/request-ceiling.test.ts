import { strict as assert } from "node:assert";
import Ajv from "ajv";
import { ValidationError } from "../../handlers/engine/errors";
import { validateRequest } from "../../handlers/engine/validation";
import type { RequestCeiling, SyncRequest } from "../../model/contract";
import { MAX_REQUEST_KEYS, SYNC_SETTINGS, type Setting, type SyncSettingName } from "../../model/settings";
import { buildRequestCeiling, onChangeInputTemplate, syncRequestJsonSchema } from "../../infra/syncRequest";

/** A mirror stack syncing dev/ of the dev bucket into backup/ of the prod bucket. */
const STACK: SyncRequest = {
  source: { bucket: "acme-dev", prefix: "dev/" },
  destination: { bucket: "acme-prod", prefix: "backup/" },
  mode: "mirror",
  dryRun: false,
  maxDeletes: "10%",
  concurrency: 32,
  partitions: 16,
  timeBudgetSeconds: 600,
  storageClass: "STANDARD_IA",
};
const CEILING: RequestCeiling = buildRequestCeiling(STACK, 1);

function problemsOf(request: Partial<SyncRequest>, ceiling: RequestCeiling = CEILING): string[] {
  try {
    validateRequest(request, ceiling);
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.problems;
  }
}

describe("the request ceiling", () => {
  it("declares, for every sync setting, whether a request may set it", () => {
    for (const [name, declared] of Object.entries(SYNC_SETTINGS) as Array<[SyncSettingName, Setting]>) {
      assert.ok(declared.request, `${name} declares no request policy`);
      assert.ok(["fixed", "narrow-only", "free"].includes(declared.request.kind), name);
    }
  });

  it("accepts the stack's own request, and an empty one takes the stack's values", () => {
    assert.deepEqual(problemsOf(STACK), []);
    const job = validateRequest({}, CEILING);
    assert.equal(job.mode, "mirror");
    assert.deepEqual(job.maxDeletes, { percent: 10 });
    assert.equal(job.concurrency, 32);
    assert.deepEqual(job.source, { bucket: "acme-dev", prefix: "dev/" });
  });

  const over: Array<[string, Partial<SyncRequest>, RegExp]> = [
    ["mode", { mode: "two-way" }, /^mode "two-way" is over this stack's ceiling "mirror": a request may ask mirror or backup$/],
    ["dryRun", { dryRun: false }, /^dryRun false is over this stack's ceiling true: a request may ask true$/],
    ["maxDeletes", { maxDeletes: "100%" }, /^maxDeletes "100%" is over this stack's ceiling "10%": a request may ask a share of at most 10%/],
    ["maxDeletes as a count", { maxDeletes: 500 }, /^maxDeletes 500 is over this stack's ceiling "10%"/],
    ["concurrency", { concurrency: 33 }, /^concurrency 33 is over this stack's ceiling 32: a request may ask at most 32$/],
    ["partitions", { partitions: 17 }, /^partitions 17 is over this stack's ceiling 16: a request may ask at most 16$/],
    ["timeBudgetSeconds", { timeBudgetSeconds: 700 }, /^timeBudgetSeconds 700 is over this stack's ceiling 600/],
    ["storageClass", { storageClass: "DEEP_ARCHIVE" }, /^storageClass "DEEP_ARCHIVE" is not allowed: this stack fixes storageClass \("STANDARD_IA"\)/],
    ["sseKmsKeyId", { sseKmsKeyId: "arn:aws:kms:eu-west-1:111122223333:key/x" }, /^sseKmsKeyId "arn:.*" is not allowed: this stack fixes sseKmsKeyId \(unset\)/],
  ];
  for (const [name, request, message] of over) {
    it(`refuses ${name} over the ceiling, naming the value asked and the ceiling`, () => {
      const ceiling = name === "dryRun" ? buildRequestCeiling({ ...STACK, dryRun: true }, 1) : CEILING;
      const problems = problemsOf(request, ceiling);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0], message);
    });
  }

  it("accepts every narrowing", () => {
    const narrower: Array<Partial<SyncRequest>> = [
      { mode: "backup" },
      { dryRun: true },
      { maxDeletes: "5%" },
      { maxDeletes: 0 },
      { concurrency: 1 },
      { partitions: 4 },
      { timeBudgetSeconds: 60 },
      { storageClass: "STANDARD_IA" },
      { startAfter: "m" },
      { minKeysPerPartition: 10 },
      { source: { bucket: "acme-dev", prefix: "dev/photos/" }, destination: { bucket: "acme-prod", prefix: "backup/photos/" } },
      // an on-change run: its keys and the stack's on-change delete limit, a count
      { keys: ["a.txt"], keysEncoding: "s3-event", maxDeletes: 1 },
    ];
    for (const request of narrower) assert.deepEqual(problemsOf(request), [], JSON.stringify(request));
  });

  it("accepts what the stack's own triggers send: the scheduled request and the on-change one", () => {
    const onChange = JSON.parse(onChangeInputTemplate(STACK, 1).replace("<key>", JSON.stringify("photos/a b.jpg"))) as SyncRequest;
    assert.deepEqual(problemsOf(STACK), []);
    assert.deepEqual(problemsOf(onChange), []);
  });

  it("refuses a count above the on-change limit in a key-scoped run", () => {
    assert.match(problemsOf({ keys: ["a"], maxDeletes: 2 })[0], /a request may ask a share of at most 10% \(or, with keys, a count of at most 1\) or 0/);
  });

  it("refuses other buckets and prefixes outside the stack's", () => {
    const problems = problemsOf({ source: { bucket: "acme-other", prefix: "" }, destination: { bucket: "acme-prod", prefix: "backup/" } });
    assert.deepEqual(problems, [
      'source bucket "acme-other" is not this stack\'s source bucket "acme-dev": the stack\'s configuration fixes its buckets',
      'source prefix "" is outside this stack\'s source prefix "dev/": a request may only name a sub-prefix of it',
    ]);
  });

  it("refuses a one-sided narrowing, on either side", () => {
    const sourceOnly = problemsOf({ source: { bucket: "acme-dev", prefix: "dev/empty/" } });
    assert.equal(sourceOnly.length, 1);
    assert.match(sourceOnly[0], /^destination prefix "backup\/" does not follow source prefix "dev\/empty\/".*must be "backup\/empty\/" \(narrowing one side alone/);
    const destinationOnly = problemsOf({ destination: { bucket: "acme-prod", prefix: "backup/photos/" } });
    assert.match(destinationOnly[0], /destination prefix must be "backup\/"/);
    // the same sub-prefix on both sides, but different ones, is a one-sided narrowing too
    assert.equal(problemsOf({ source: { bucket: "acme-dev", prefix: "dev/a/" }, destination: { bucket: "acme-prod", prefix: "backup/b/" } }).length, 1);
  });

  it("names every widening at once, before any listing", () => {
    const problems = problemsOf({ mode: "two-way", maxDeletes: "100%", concurrency: 1000, source: { bucket: "acme-dev", prefix: "dev/x/" } });
    assert.equal(problems.length, 4, problems.join("\n"));
  });
});

describe("bounded requests", () => {
  it("refuses more keys than a request may name, and a key longer than S3 allows", () => {
    const many = Array.from({ length: MAX_REQUEST_KEYS + 1 }, (_, i) => `k${i}`);
    const base = { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" } };
    assert.throws(() => validateRequest({ ...base, keys: many }), new RegExp(`keys lists ${MAX_REQUEST_KEYS + 1} keys: a request names at most ${MAX_REQUEST_KEYS}`));
    assert.throws(() => validateRequest({ ...base, keys: ["é".repeat(513)] }), /keys must each be at most 1024 bytes/);
    assert.throws(() => validateRequest({ ...base, startAfter: "x".repeat(1025) }), /startAfter must be a non-empty string of at most 1024 characters/);
    assert.throws(() => validateRequest({ ...base, source: { bucket: "acme-dev", prefix: "p".repeat(1025) } }), /source prefix is 1025 bytes long/);
    assert.throws(() => validateRequest({ ...base, sseKmsKeyId: "k".repeat(2049) }), /sseKmsKeyId/);
  });
});

describe("the REST model", () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  function accepts(schema: Record<string, unknown>, body: unknown): boolean {
    const { $schema: _, ...rest } = schema;
    return ajv.validate(rest, body) as boolean;
  }

  it("refuses a body over the bounds", () => {
    const schema = syncRequestJsonSchema();
    const base = { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" } };
    assert.equal(accepts(schema, base), true);
    assert.equal(accepts(schema, { ...base, keys: Array.from({ length: MAX_REQUEST_KEYS + 1 }, (_, i) => `k${i}`) }), false);
    assert.equal(accepts(schema, { ...base, keys: ["x".repeat(1025)] }), false);
    assert.equal(accepts(schema, { ...base, startAfter: "x".repeat(1025) }), false);
    assert.equal(accepts(schema, { ...base, source: { bucket: "acme-dev", prefix: "x".repeat(1025) } }), false);
  });

  it("mirrors the stack's ceiling as a gate", () => {
    const schema = syncRequestJsonSchema(CEILING);
    assert.equal(accepts(schema, STACK), true);
    assert.equal(accepts(schema, { ...STACK, mode: "backup", dryRun: true, concurrency: 8 }), true);
    assert.equal(accepts(schema, { ...STACK, mode: "two-way" }), false);
    assert.equal(accepts(schema, { ...STACK, concurrency: 33 }), false);
    assert.equal(accepts(schema, { ...STACK, partitions: 17 }), false);
    assert.equal(accepts(schema, { ...STACK, storageClass: "GLACIER" }), false);
    assert.equal(accepts(schema, { ...STACK, sseKmsKeyId: "key" }), false);
    assert.equal(accepts(schema, { ...STACK, source: { bucket: "other-bucket", prefix: "dev/" } }), false);
    assert.equal(accepts(schema, { ...STACK, source: { bucket: "acme-dev", prefix: "elsewhere/" } }), false);
    assert.equal(accepts(schema, { ...STACK, source: { bucket: "acme-dev", prefix: "dev/sub/" }, destination: { bucket: "acme-prod", prefix: "backup/sub/" } }), true);
  });
});
