/**
 * The execution inputs the stack's triggers send (infra/syncRequest.ts): the REST trigger's body
 * model, checked with a real JSON Schema validator (Ajv) against the requests the program builds
 * and against bodies it must refuse, and the engine's own validation of what the model lets in.
 */
import { strict as assert } from "node:assert";
import Ajv from "ajv";
import type { SyncRequest } from "../../model/contract";
import { validateRequest } from "../../handlers/engine/validation";
import {
  buildSyncRequest,
  CHANGED_KEY_VARIABLE,
  onChangeInputTemplate,
  startExecutionCommand,
  startExecutionRequestTemplate,
  syncRequestJsonSchema,
  type SyncSettings,
} from "../../infra/syncRequest";

/** API Gateway models are draft 4; Ajv 8 reads this schema (no draft-4-only keywords) without its `$schema`. */
function modelValidator() {
  const { $schema, ...schema } = syncRequestJsonSchema();
  assert.equal($schema, "http://json-schema.org/draft-04/schema#");
  return new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
}

const STACK_REQUEST = buildSyncRequest(
  {
    sourcePrefix: "",
    destinationPrefix: "backup/",
    mode: "mirror",
    conflictPolicy: "report",
    dryRun: false,
    maxDeletes: "10%",
    concurrency: 32,
    partitions: 16,
    minKeysPerPartition: 1000,
    storageClass: "STANDARD_IA",
    timeBudgetSeconds: 600,
  },
  { sourceBucket: "acme-dev", destinationBucket: "acme-prod" },
);

describe("the REST trigger's SyncRequest model", () => {
  const validate = modelValidator();

  it("accepts the requests the stack itself starts runs with (schedule, on-change)", () => {
    const onChange = JSON.parse(onChangeInputTemplate(STACK_REQUEST, 1).replace("<key>", JSON.stringify("a b.jpg"))) as SyncRequest;
    for (const request of [STACK_REQUEST, onChange, { source: { bucket: "acme-dev" }, destination: { bucket: "acme-prod" } }]) {
      assert.ok(validate(request), JSON.stringify(validate.errors));
      validateRequest(request); // and the engine takes what the model lets in
    }
  });

  it("takes key filters in order, as the stack config and the engine do", () => {
    const filtered = buildSyncRequest(
      { ...(STACK_REQUEST as never as Parameters<typeof buildSyncRequest>[0]), sourcePrefix: "", destinationPrefix: "backup/", filters: ["exclude *", "include logs/*"] },
      { sourceBucket: "acme-dev", destinationBucket: "acme-prod" },
    );
    assert.deepEqual(filtered.filters, ["exclude *", "include logs/*"]);
    assert.ok(validate(filtered), JSON.stringify(validate.errors));
    assert.deepEqual(validateRequest(filtered).filters, ["exclude *", "include logs/*"]);
    assert.ok(!validate({ ...filtered, filters: "exclude *" }));
    assert.ok(!validate({ ...filtered, exclude: ["*"] }), "exclude is no field of its own: the order would be lost");
  });

  it("refuses a body that is not a SyncRequest: missing side, unknown mode, unknown field, wrong types", () => {
    const bad: unknown[] = [
      { source: { bucket: "acme-dev" } },
      { ...STACK_REQUEST, mode: "sideways" },
      { ...STACK_REQUEST, deleteEverything: true },
      { ...STACK_REQUEST, dryRun: "yes" },
      { ...STACK_REQUEST, keys: "a" },
      { ...STACK_REQUEST, source: { bucket: "acme-dev", region: "x" } },
      [],
      "sync",
    ];
    for (const body of bad) assert.equal(validate(body), false, `accepted ${JSON.stringify(body)}`);
  });
});

describe("the REST trigger's StartExecution mapping", () => {
  it("names the machine, names the run after the API request and passes the body as the input", () => {
    const template = startExecutionRequestTemplate("arn:aws:states:eu-west-1:123456789012:stateMachine:bucket-sync-prod");
    assert.match(template, /"stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:bucket-sync-prod",/);
    assert.match(template, /"name": "api-\$context\.requestId",/);
    // The documented way to put a JSON body into a JSON string property (escaped `'` made valid).
    assert.ok(template.includes(`"input": "$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'","'")"`), template);
  });
});

const SETTINGS: SyncSettings = {
  sourcePrefix: "site/",
  destinationPrefix: "backup/site/",
  mode: "backup",
  conflictPolicy: "newer-wins",
  dryRun: false,
  maxDeletes: "10%",
  concurrency: 32,
  partitions: 16,
  storageClass: undefined,
  timeBudgetSeconds: 600,
} as SyncSettings;

const BUCKETS = { sourceBucket: "acme-dev", destinationBucket: "acme-prod" };

describe("sync request", () => {
  describe("buildSyncRequest", () => {
    it("fills in the buckets and carries every setting under the name the request uses", () => {
      assert.deepEqual(buildSyncRequest(SETTINGS, BUCKETS), {
        source: { bucket: "acme-dev", prefix: "site/" },
        destination: { bucket: "acme-prod", prefix: "backup/site/" },
        mode: "backup",
        dryRun: false,
        maxDeletes: "10%",
        concurrency: 32,
        partitions: 16,
        timeBudgetSeconds: 600,
      });
    });

    it("sends conflictPolicy only for two-way, and storageClass only when set", () => {
      const request = buildSyncRequest({ ...SETTINGS, mode: "two-way", storageClass: "GLACIER_IR" } as SyncSettings, BUCKETS);
      assert.equal(request.conflictPolicy, "newer-wins");
      assert.equal(request.storageClass, "GLACIER_IR");
    });
  });

  describe("onChangeInputTemplate", () => {
    it("restricts the request to the changed key, inserted by EventBridge as a JSON string, with a count as the delete limit", () => {
      const request = buildSyncRequest(SETTINGS, BUCKETS);
      const template = onChangeInputTemplate(request, 1);
      assert.ok(template.includes(`"keys":[<${CHANGED_KEY_VARIABLE}>]`), template);
      // What EventBridge produces for a key with a quote and a space: valid JSON, the key intact.
      const key = 'a "quoted" key+x';
      const input = JSON.parse(template.replace(`<${CHANGED_KEY_VARIABLE}>`, JSON.stringify(key)));
      assert.deepEqual(input, { ...request, maxDeletes: 1, keys: [key], keysEncoding: "s3-event" });
    });
  });

  describe("startExecutionCommand", () => {
    it("is one shell command whose quoted input survives a quote in a prefix", () => {
      const request = buildSyncRequest({ ...SETTINGS, sourcePrefix: "it's/" } as SyncSettings, BUCKETS);
      const command = startExecutionCommand({ region: "eu-west-1", stateMachineArn: "arn:aws:states:eu-west-1:1:stateMachine:m", request });
      assert.match(command, /^aws stepfunctions start-execution --region eu-west-1 --state-machine-arn 'arn:aws:states:eu-west-1:1:stateMachine:m' --input '/);
      const quoted = command.slice(command.indexOf("--input ") + "--input ".length);
      // Undo POSIX single quoting: '...' with ' written as '\''.
      const unquoted = quoted.slice(1, -1).replace(/'\\''/g, "'");
      assert.deepEqual(JSON.parse(unquoted), request);
    });
  });
});
