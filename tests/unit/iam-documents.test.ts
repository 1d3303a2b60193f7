/**
 * The IAM document builders (infra/iamDocuments.ts): pure functions of ARNs and prefixes.
 */
import { strict as assert } from "node:assert";
import { HANDLER_NAMES, SYNC_MODES, type SyncMode } from "../../model/contract";
import {
  lambdaTrustPolicy,
  listPrefixStatement,
  objectArn,
  onChangeDeadLetterQueuePolicy,
  schedulePolicy,
  stateMachinePolicy,
  stateMachineTrustPolicy,
  syncRangePolicy,
  tlsOnlyBucketPolicy,
  validateInputPolicy,
  writeReportPolicy,
  type HandlerPolicyArgs,
  type PolicyDocument,
  type PolicyStatement,
} from "../../infra/iamDocuments";
import { HANDLER_SPECS } from "../../infra/handlerSpecs";
import { overlyBroadGrants, type IamDocument } from "../helpers/pulumiMocks";

const SOURCE = "arn:aws:s3:::acme-dev";
const DESTINATION = "arn:aws:s3:::acme-prod";
const REPORTS = "arn:aws:s3:::acme-prod-reports";
const LOGS = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/bucket-sync-prod-sync-range:*";

function args(mode: SyncMode = "backup", overrides: Partial<HandlerPolicyArgs> = {}): HandlerPolicyArgs {
  return {
    source: { bucketArn: SOURCE, prefix: "data/" },
    destination: { bucketArn: DESTINATION, prefix: "backup/" },
    reports: { bucketArn: REPORTS, prefix: "reports/" },
    mode,
    kmsKeyArns: [],
    logGroupStreamsArn: LOGS,
    ...overrides,
  };
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every (action, resource) pair a document allows, as `action on resource`. */
function grants(document: PolicyDocument): string[] {
  return document.Statement.filter((s) => s.Effect === "Allow")
    .flatMap((s) => list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} on ${r}`)))
    .sort();
}

function sid(document: PolicyDocument, name: string): PolicyStatement {
  const found = document.Statement.find((s) => s.Sid === name);
  assert.ok(found, `no ${name}`);
  return found;
}

describe("IAM documents", () => {
  describe("handler roles", () => {
    it("never grant a wildcard action or an S3 wildcard bucket, for any handler in any mode", () => {
      for (const mode of SYNC_MODES) {
        for (const handler of HANDLER_NAMES) {
          const document = HANDLER_SPECS[handler].policy(args(mode, { kmsKeyArns: ["arn:aws:kms:eu-west-1:123456789012:key/k"] }));
          assert.deepEqual(overlyBroadGrants(document as IamDocument), [], `${handler} (${mode})`);
        }
      }
    });

    it("grant sync-range in backup mode reads of the source prefix and writes to the destination prefix, no deletes", () => {
      const s3 = grants(syncRangePolicy(args("backup"))).filter((g) => g.startsWith("s3:"));
      assert.deepEqual(s3, [
        "s3:AbortMultipartUpload on arn:aws:s3:::acme-prod/backup/*",
        "s3:GetObject on arn:aws:s3:::acme-dev/data/*",
        "s3:GetObject on arn:aws:s3:::acme-prod/backup/*",
        "s3:GetObjectTagging on arn:aws:s3:::acme-dev/data/*",
        "s3:GetObjectTagging on arn:aws:s3:::acme-prod/backup/*",
        "s3:ListBucket on arn:aws:s3:::acme-dev",
        "s3:ListBucket on arn:aws:s3:::acme-prod",
        "s3:ListBucketMultipartUploads on arn:aws:s3:::acme-prod",
        "s3:ListMultipartUploadParts on arn:aws:s3:::acme-prod/backup/*",
        "s3:PutObject on arn:aws:s3:::acme-prod-reports/reports/*",
        "s3:PutObject on arn:aws:s3:::acme-prod/backup/*",
        "s3:PutObjectTagging on arn:aws:s3:::acme-prod/backup/*",
      ]);
    });

    it("add DeleteObject on the destination prefix only for mirror", () => {
      const deletes = (mode: SyncMode) => grants(syncRangePolicy(args(mode))).filter((g) => g.startsWith("s3:DeleteObject"));
      assert.deepEqual(deletes("mirror"), ["s3:DeleteObject on arn:aws:s3:::acme-prod/backup/*"]);
      assert.deepEqual(deletes("backup"), []);
      assert.deepEqual(deletes("two-way"), []);
    });

    it("add writes to the source prefix only for two-way", () => {
      const sourceWrites = (mode: SyncMode) =>
        grants(syncRangePolicy(args(mode))).filter((g) => g.includes("acme-dev/") && /Put|Abort|MultipartUpload/.test(g));
      assert.deepEqual(sourceWrites("two-way"), [
        "s3:AbortMultipartUpload on arn:aws:s3:::acme-dev/data/*",
        "s3:ListMultipartUploadParts on arn:aws:s3:::acme-dev/data/*",
        "s3:PutObject on arn:aws:s3:::acme-dev/data/*",
        "s3:PutObjectTagging on arn:aws:s3:::acme-dev/data/*",
      ]);
      assert.deepEqual(sourceWrites("backup"), []);
      assert.deepEqual(sourceWrites("mirror"), []);
    });

    it("limit listings to the prefix with an s3:prefix condition, and drop it for a whole bucket", () => {
      assert.deepEqual(listPrefixStatement("L", { bucketArn: SOURCE, prefix: "data/" }).Condition, {
        StringLike: { "s3:prefix": ["data/", "data/*"] },
      });
      assert.equal(listPrefixStatement("L", { bucketArn: SOURCE, prefix: "" }).Condition, undefined);
      assert.equal(objectArn({ bucketArn: SOURCE, prefix: "" }), "arn:aws:s3:::acme-dev/*");
    });

    it("grant validate-input HeadBucket (s3:ListBucket without a prefix) on both buckets and nothing else on S3", () => {
      const document = validateInputPolicy(args());
      assert.deepEqual(sid(document, "HeadSourceAndDestinationBuckets").Resource, [SOURCE, DESTINATION]);
      assert.equal(sid(document, "HeadSourceAndDestinationBuckets").Condition, undefined);
      assert.deepEqual(
        grants(document).filter((g) => g.startsWith("s3:")),
        ["s3:ListBucket on arn:aws:s3:::acme-dev", "s3:ListBucket on arn:aws:s3:::acme-prod"],
      );
    });

    it("grant plan-partitions a listing of the source and destination prefixes, which it samples, and writing the run plans beside the reports only", () => {
      const policy = HANDLER_SPECS["plan-partitions"].policy(args());
      assert.deepEqual(grants(policy).filter((g) => g.startsWith("s3:")), [
        "s3:ListBucket on arn:aws:s3:::acme-dev",
        "s3:ListBucket on arn:aws:s3:::acme-prod",
        "s3:PutObject on arn:aws:s3:::acme-prod-reports/reports/*/plan.json",
      ]);
      assert.deepEqual(sid(policy, "ListSourcePrefix").Condition, { StringLike: { "s3:prefix": ["data/", "data/*"] } });
      assert.deepEqual(sid(policy, "ListDestinationPrefix").Condition, { StringLike: { "s3:prefix": ["backup/", "backup/*"] } });
    });

    it("grant summarize a listing and reads of the run records under the reports prefix only, and writes of the delete ledger alone", () => {
      assert.deepEqual(grants(HANDLER_SPECS.summarize.policy(args())).filter((g) => g.startsWith("s3:")), [
        "s3:GetObject on arn:aws:s3:::acme-prod-reports/reports/*",
        "s3:ListBucket on arn:aws:s3:::acme-prod-reports",
        "s3:PutObject on arn:aws:s3:::acme-prod-reports/reports/delete-budget/ledger.json",
      ]);
      assert.deepEqual(sid(HANDLER_SPECS.summarize.policy(args()), "ListRunRecords").Condition, {
        StringLike: { "s3:prefix": ["reports/", "reports/*"] },
      });
    });

    it("grant write-report PutObject and GetObject (for the presigned link and the change chunks) under the reports prefix only", () => {
      assert.deepEqual(grants(writeReportPolicy(args())).filter((g) => g.startsWith("s3:")), [
        "s3:AbortMultipartUpload on arn:aws:s3:::acme-prod-reports/reports/*",
        "s3:GetObject on arn:aws:s3:::acme-prod-reports/reports/*",
        "s3:ListBucket on arn:aws:s3:::acme-prod-reports",
        "s3:PutObject on arn:aws:s3:::acme-prod-reports/reports/*",
      ]);
      assert.deepEqual(sid(writeReportPolicy(args()), "ListChangeChunks").Condition, { StringLike: { "s3:prefix": ["reports/", "reports/*"] } });
    });

    it("grant KMS use only when a bucket key is configured, on exactly that key", () => {
      assert.ok(!JSON.stringify(syncRangePolicy(args())).includes("kms:"));
      const key = "arn:aws:kms:eu-west-1:123456789012:key/k";
      assert.deepEqual(sid(syncRangePolicy(args("backup", { kmsKeyArns: [key, key] })), "UseBucketKeys"), {
        Sid: "UseBucketKeys",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: [key],
      });
    });

    it("let every function write only its own log group, and trace", () => {
      for (const handler of HANDLER_NAMES) {
        const document = HANDLER_SPECS[handler].policy(args());
        assert.deepEqual(sid(document, "WriteOwnLogs").Resource, LOGS);
        const star = document.Statement.filter((s) => list(s.Resource).includes("*"));
        assert.deepEqual(star.map((s) => s.Sid), ["XRayTracesHaveNoResourceLevelPermissions"], handler);
      }
    });

    it("are trusted by lambda.amazonaws.com only", () => {
      assert.deepEqual(lambdaTrustPolicy().Statement, [
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    });
  });

  describe("state machine role", () => {
    const machineArgs = {
      functionArns: ["arn:aws:lambda:eu-west-1:123456789012:function:a", "arn:aws:lambda:eu-west-1:123456789012:function:b"],
      notificationTopicArn: "arn:aws:sns:eu-west-1:123456789012:t",
      stateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:m",
      executionsArn: "arn:aws:states:eu-west-1:123456789012:execution:m:*",
      childExecutionsArn: "arn:aws:states:eu-west-1:123456789012:execution:m/*",
      reports: { bucketArn: "arn:aws:s3:::acme-prod-reports", prefix: "reports/" },
      kmsKeyArns: [] as string[],
    };
    const machine = stateMachinePolicy(machineArgs);

    it("is trusted by states.amazonaws.com for this account only", () => {
      assert.deepEqual(stateMachineTrustPolicy("123456789012").Statement, [
        {
          Effect: "Allow",
          Principal: { Service: "states.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
        },
      ]);
    });

    it("invokes exactly the given functions, publishes to the topic, reads the run plans, and runs, stops and redrives its own Distributed Map runs as AWS documents", () => {
      const named = grants(machine).filter((g) => !g.endsWith(" on *"));
      assert.deepEqual(named, [
        "lambda:InvokeFunction on arn:aws:lambda:eu-west-1:123456789012:function:a",
        "lambda:InvokeFunction on arn:aws:lambda:eu-west-1:123456789012:function:b",
        "s3:GetObject on arn:aws:s3:::acme-prod-reports/reports/*/plan.json",
        "sns:Publish on arn:aws:sns:eu-west-1:123456789012:t",
        "states:DescribeExecution on arn:aws:states:eu-west-1:123456789012:execution:m/*",
        "states:DescribeExecution on arn:aws:states:eu-west-1:123456789012:execution:m:*",
        "states:RedriveExecution on arn:aws:states:eu-west-1:123456789012:execution:m/*",
        "states:StartExecution on arn:aws:states:eu-west-1:123456789012:stateMachine:m",
        "states:StopExecution on arn:aws:states:eu-west-1:123456789012:execution:m/*",
        "states:StopExecution on arn:aws:states:eu-west-1:123456789012:execution:m:*",
      ]);
    });

    it("decrypts the run plans with the reports bucket's key when it has one", () => {
      const encrypted = stateMachinePolicy({ ...machineArgs, kmsKeyArns: ["arn:aws:kms:eu-west-1:123456789012:key/k"] });
      assert.ok(grants(encrypted).includes("kms:Decrypt on arn:aws:kms:eu-west-1:123456789012:key/k"));
      assert.ok(!grants(machine).some((g) => g.startsWith("kms:")));
    });

    it("uses `*` only for log delivery and X-Ray, which have no resource-level permissions", () => {
      const star = machine.Statement.filter((s) => list(s.Resource).includes("*"));
      assert.deepEqual(star.map((s) => s.Sid), ["LogDeliveryHasNoResourceLevelPermissions", "XRayTracesHaveNoResourceLevelPermissions"]);
      for (const s of star) {
        for (const action of list(s.Action)) assert.match(action, /^(logs|xray):[A-Za-z]+$/);
      }
    });
  });

  describe("triggers", () => {
    it("let the schedule start the one state machine and write its dead-letter queue, nothing else", () => {
      assert.deepEqual(grants(schedulePolicy({ stateMachineArn: "arn:sm", deadLetterQueueArn: "arn:q" })), [
        "sqs:SendMessage on arn:q",
        "states:StartExecution on arn:sm",
      ]);
    });

    it("accept failed on-change deliveries from EventBridge for the one rule only", () => {
      const [only] = onChangeDeadLetterQueuePolicy({ queueArn: "arn:q", ruleArn: "arn:rule" }).Statement;
      assert.deepEqual(only.Principal, { Service: "events.amazonaws.com" });
      assert.deepEqual(only.Condition, { ArnEquals: { "aws:SourceArn": "arn:rule" } });
    });
  });

  describe("bucket policy", () => {
    it("denies every request without TLS 1.2, to the bucket and its objects, and grants nothing", () => {
      const document = tlsOnlyBucketPolicy(DESTINATION);
      assert.ok(document.Statement.every((s) => s.Effect === "Deny" && s.Principal === "*"));
      assert.deepEqual(sid(document, "DenyInsecureTransport").Condition, { Bool: { "aws:SecureTransport": "false" } });
      assert.deepEqual(sid(document, "DenyTlsBelow1_2").Condition, { NumericLessThan: { "s3:TlsVersion": "1.2" } });
      for (const s of document.Statement) assert.deepEqual(s.Resource, [DESTINATION, `${DESTINATION}/*`]);
      assert.deepEqual(overlyBroadGrants(document as IamDocument), []);
    });
  });

  describe("HANDLER_SPECS sourceReads (what a source bucket in another account grants each role)", () => {
    for (const mode of ["backup", "mirror"] as const) {
      it(`are exactly the actions each role's own policy allows on the source in ${mode} mode`, () => {
        for (const handler of HANDLER_NAMES) {
          const document = HANDLER_SPECS[handler].policy(args(mode));
          const onSource = grants(document).filter((g) => g.endsWith(` on ${SOURCE}`) || g.startsWith("s3:") && g.includes(` on ${SOURCE}/`));
          const expected = [
            ...HANDLER_SPECS[handler].sourceReads.bucket.map((a) => `${a} on ${SOURCE}`),
            ...HANDLER_SPECS[handler].sourceReads.objects.map((a) => `${a} on ${SOURCE}/data/*`),
          ].sort();
          assert.deepEqual(onSource, expected, handler);
        }
      });
    }
  });
});
