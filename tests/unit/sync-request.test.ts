/** The execution input the triggers send, and the on-demand command the stack exports. Pure. */
import { strict as assert } from "node:assert";
import { buildSyncRequest, CHANGED_KEY_VARIABLE, onChangeInputTemplate, startExecutionCommand, type SyncSettings } from "../../infra/syncRequest";

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
    it("restricts the request to the changed key, inserted by EventBridge as a JSON string", () => {
      const request = buildSyncRequest(SETTINGS, BUCKETS);
      const template = onChangeInputTemplate(request);
      assert.ok(template.includes(`"keys":[<${CHANGED_KEY_VARIABLE}>]`), template);
      // What EventBridge produces for a key with a quote and a space: valid JSON, the key intact.
      const key = 'a "quoted" key+x';
      const input = JSON.parse(template.replace(`<${CHANGED_KEY_VARIABLE}>`, JSON.stringify(key)));
      assert.deepEqual(input, { ...request, keys: [key], keysEncoding: "s3-event" });
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
