/**
 * The sync machine run under the IAM the stacks deploy, against the embedded S3 server: every
 * request of every handler authorized as its role, every call of the machine as the machine's
 * role (local-stepfunctions/iam.ts). Proves the policies sufficient (the runs succeed), able to
 * fail (dropping any one statement a run needs fails it with AccessDenied naming the action),
 * minimal (every grant is exercised by a scenario, or justified in GRANTS_NOT_EXERCISED_LOCALLY),
 * and the cross-account grants (bucket and key policies) exactly what a backup needs.
 */
import { s3ObjectStore } from "../../cli/localSync";
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, CreateMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { HANDLER_NAMES, type HandlerName, type SyncRequest, type SyncSummary } from "../../model/contract";
import { createHandlers } from "../../handlers/index";
import { createS3Client } from "../../handlers/engine/s3Client";
import { s3RunRecords } from "../../handlers/engine/runRecords";
import { buildDefinition } from "../../infra/definition";
import { backupBucketGrants, backupRoleArns } from "../../infra/crossAccount";
import {
  apiGatewayTrustPolicy,
  stackKeyPolicy,
  eventsTrustPolicy,
  GRANTS_NOT_EXERCISED_LOCALLY,
  schedulePolicy,
  schedulerTrustPolicy,
  startSyncPolicy,
  stateMachineTrustPolicy,
  tlsOnlyBucketPolicy,
  type PolicyDocument,
} from "../../infra/iamDocuments";
import { arns, onChangeRuleName, restApiName, scheduleDeadLetterQueueName, scheduleName, stateMachineName } from "../../infra/names";
import { stackRoles, type StackRoles } from "../../infra/stackRoles";
import { LOCAL_TOPIC_ARN } from "../../cli/localSync";
import { attachIamEnforcement, IamEnforcement, type RoleName } from "../../local-stepfunctions/iam";
import { s3Authorizations, SERVICE_ASSUME_ROLE_KEYS, UnmappedRequestError, type AssumingService } from "../../local-stepfunctions/iamRequests";
import { localFunctionArns, runLocally, type HandlerTable, type LocalRunResult } from "../../local-stepfunctions/runner";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { assertConverged } from "../helpers/convergence";
import { enforcementMark, stackIam, suiteUsage, type StackIamOptions } from "../helpers/iam";
import { listKeys, newBucket, put, putMany } from "../helpers/s3";

const ARNS = localFunctionArns();
const DEFINITION = buildDefinition({ functionArns: ARNS, notificationTopicArn: LOCAL_TOPIC_ARN });
const MiB = 1024 * 1024;
const EXERCISED_RECORD = join(__dirname, "..", "..", "infra", "exercisedActions.json");

/** A copy of `roles` without the statement `sid` of `role`. */
function without(role: RoleName, sid: string): (roles: StackRoles) => StackRoles {
  return (roles) => {
    const copy = structuredClone(roles);
    const target = role === "state-machine" ? copy.machine : copy.handlers[role];
    const before = target.policy.Statement.length;
    target.policy.Statement = target.policy.Statement.filter((s) => s.Sid !== sid);
    assert.equal(target.policy.Statement.length, before - 1, `${role} has a statement ${sid}`);
    return copy;
  };
}

describe("IAM enforcement of local runs", function () {
  this.timeout(180_000);
  // The minimality check counts the runs of this file only, whatever ran before it.
  let mark = 0;
  before(() => {
    mark = enforcementMark();
  });

  describe("before any request", () => {
    const request: SyncRequest = { source: { bucket: "dev" }, destination: { bucket: "prod" } };
    const base = { reports: { bucket: "reports" }, clients: [] } satisfies StackIamOptions;

    it("refuses a malformed policy, naming the policy and statement", async () => {
      const mutate = (roles: StackRoles) => {
        const copy = structuredClone(roles);
        const statement = copy.handlers["sync-range"].policy.Statement.find((s) => s.Sid === "ReadSourceObjects")!;
        (statement as { Effect: string }).Effect = "Alow";
        return copy;
      };
      await assert.rejects(stackIam(request, { ...base, mutate }), (err: Error) => {
        assert.equal(err.name, "BucketSync.InvalidPolicy");
        assert.match(err.message, /the sync-range role's policy is not a valid IAM policy: statement "ReadSourceObjects"/);
        return true;
      });
    });

    it("refuses an action no AWS service has, naming the statement", async () => {
      const mutate = (roles: StackRoles) => {
        const copy = structuredClone(roles);
        copy.handlers["plan-partitions"].policy.Statement[0].Action = "s3:ListBuckett";
        return copy;
      };
      await assert.rejects(stackIam(request, { ...base, mutate }), /plan-partitions role's policy: statement "ListSourcePrefix" allows "s3:ListBuckett", which is not an action of any AWS service/);
    });

    it("judges every key by its own resource: under the granted prefix allowed, outside refused, in any order", async () => {
      const iam = await stackIam({ source: { bucket: "dev", prefix: "data/" }, destination: { bucket: "prod", prefix: "backup/" } }, base);
      const read = (key: string) =>
        iam.authorize("sync-range", { action: "s3:GetObject", resource: `arn:aws:s3:::dev/${key}`, owner: { bucket: "dev" }, context: {} }).then(
          () => "allowed",
          (err: Error) => err.name,
        );
      for (const [key, expected] of [["data/a", "allowed"], ["other/a", "AccessDenied"], ["data/b/c", "allowed"], ["dat", "AccessDenied"], ["data/", "allowed"], ["other/b", "AccessDenied"]]) {
        assert.equal(await read(key), expected, key);
      }
      const list = (prefix: string | undefined) =>
        iam.authorize("plan-partitions", s3Authorizations("ListObjectsV2Command", { Bucket: "prod", ...(prefix === undefined ? {} : { Prefix: prefix }) }, { partition: "aws", region: "us-east-1", bucketKey: () => undefined })[0]).then(
          () => "allowed",
          (err: Error) => err.name,
        );
      assert.equal(await list("backup/"), "allowed");
      assert.equal(await list("backup/x"), "allowed");
      assert.equal(await list("elsewhere/"), "AccessDenied");
      assert.equal(await list(undefined), "AccessDenied", "a listing without a prefix is the whole bucket");
    });

    it("treats a request the mapping does not know as an error, never as allowed", async () => {
      assert.throws(() => s3Authorizations("PutBucketPolicyCommand", { Bucket: "b" }, { partition: "aws", region: "us-east-1", bucketKey: () => undefined }), UnmappedRequestError);
      const iam = await stackIam(request, base);
      const client = attachIamEnforcement(createS3Client({ endpoint: "http://127.0.0.1:9", region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } }));
      try {
        await assert.rejects(iam.runAs("sync-range", () => client.send(new CreateBucketCommand({ Bucket: "prod" }))), /CreateBucketCommand is not in the table of requests/);
      } finally {
        client.destroy();
      }
    });
  });

  describe("triggers: each service can assume its role, with the keys it sets, and the role may start the machine", () => {
    const ACCOUNT = "123456789012";
    const scope = { partition: "aws", region: "eu-west-1", accountId: ACCOUNT };
    const stem = "bucket-sync-prod";
    const machineArn = arns.stateMachine(scope, stateMachineName(stem));
    const role = (name: string) => arns.role("aws", ACCOUNT, name);
    const triggers: Array<{ service: AssumingService; role: string; trust: PolicyDocument; policy: PolicyDocument; source: string }> = [
      { service: "states.amazonaws.com", role: role(`${stem}-state-machine`), trust: stateMachineTrustPolicy(ACCOUNT), policy: stackRoles({ nameStem: stem, scope, source: { bucket: "dev", prefix: "" }, destination: { bucket: "prod", prefix: "" }, reportsBucket: "prod-reports" }).machine.policy, source: machineArn },
      { service: "scheduler.amazonaws.com", role: role(scheduleName(stem)), trust: schedulerTrustPolicy(ACCOUNT), policy: schedulePolicy({ stateMachineArn: machineArn, deadLetterQueueArn: arns.sqsQueue(scope, scheduleDeadLetterQueueName(stem)) }), source: `arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule-group/default` },
      { service: "events.amazonaws.com", role: role(onChangeRuleName(stem)), trust: eventsTrustPolicy(ACCOUNT), policy: startSyncPolicy({ stateMachineArn: machineArn }), source: arns.eventRule(scope, onChangeRuleName(stem)) },
      { service: "apigateway.amazonaws.com", role: role(restApiName(stem)), trust: apiGatewayTrustPolicy(), policy: startSyncPolicy({ stateMachineArn: machineArn }), source: `arn:aws:execute-api:eu-west-1:${ACCOUNT}:abcdef1234/prod/POST/syncs` },
    ];
    let iam: IamEnforcement;
    before(async () => {
      iam = await stackIam({ source: { bucket: "dev" }, destination: { bucket: "prod" } }, { reports: { bucket: "reports" }, clients: [] });
    });

    for (const trigger of triggers) {
      it(`${trigger.service} assumes its role, which may start the machine${trigger.service === "states.amazonaws.com" ? " (its children)" : ""}`, async () => {
        assert.equal(await iam.assumeRoleDenial(trigger.service, { roleArn: trigger.role, policy: trigger.trust }, { account: ACCOUNT, arn: trigger.source }), undefined);
        assert.equal(await iam.roleDenial({ arn: trigger.role, policy: trigger.policy }, "states:StartExecution", machineArn), undefined);
      });
      it(`no other service assumes the ${trigger.service} role`, async () => {
        for (const other of Object.keys(SERVICE_ASSUME_ROLE_KEYS) as AssumingService[]) {
          if (other === trigger.service) continue;
          const denial = await iam.assumeRoleDenial(other, { roleArn: trigger.role, policy: trigger.trust }, { account: ACCOUNT, arn: trigger.source });
          assert.match(denial ?? "", new RegExp(`${other.replace(/\./g, "\\.")} cannot assume`), `${other} assumed ${trigger.role}`);
        }
      });
    }

    it("a service acting for another account cannot assume a role whose trust names this account", async () => {
      const denial = await iam.assumeRoleDenial("scheduler.amazonaws.com", { roleArn: triggers[1].role, policy: triggers[1].trust }, { account: "999999999999", arn: "arn:aws:scheduler:eu-west-1:999999999999:schedule-group/default" });
      assert.match(denial ?? "", /cannot assume/);
    });
  });

  describe("on the embedded S3 server", () => {
    let s3: EmbeddedS3;
    let admin: S3Client;
    let client: S3Client;
    let reportClient: S3Client;
    let reports: string;

    before(async () => {
      s3 = await startS3rverProcess();
      const options = { endpoint: s3.endpoint, region: s3.region, credentials: s3 };
      admin = createS3Client(options);
      client = createS3Client(options);
      reportClient = createS3Client(options);
      reports = await newBucket(admin, "reports");
    });
    after(async () => {
      for (const c of [admin, client, reportClient]) c?.destroy();
      await s3?.stop();
    });

    interface Run extends LocalRunResult {
      summary?: SyncSummary;
      /** The failures the run's summaries carry. */
      failures: Array<{ key: string; error: string; message: string }>;
    }

    /** Runs `request` through the machine with the real handlers, under `iam` (or the stack's own roles). */
    async function run(request: SyncRequest, options: Partial<StackIamOptions> & { iam?: IamEnforcement } = {}): Promise<Run> {
      const handlers = createHandlers({
        client,
        reportBucket: reports,
        reportPrefix: "reports/",
        records: s3RunRecords(reportClient, { bucket: reports, prefix: "reports/" }),
      });
      let summary: SyncSummary | undefined;
      const failures: Run["failures"] = [];
      const table: HandlerTable = {
        ...handlers,
        async summarize(event) {
          summary = await handlers.summarize(event);
          failures.push(...(summary?.failures ?? []));
          return summary;
        },
      };
      const iam = options.iam ?? (await stackIam(request, { reports: { bucket: reports, prefix: "reports/" }, clients: [client, reportClient], ...options }));
      const result = await runLocally({ definition: DEFINITION, functionArns: ARNS, handlers: table, objects: s3ObjectStore(reportClient), input: request, validate: false, approve: async () => true, retryIntervalMs: 1, iam });
      return { ...result, summary, failures };
    }

    async function buckets(files: string[] = ["data/a", "data/b/c", "data/d", "other/x"]) {
      const source = await newBucket(admin, "src");
      const destination = await newBucket(admin, "dst");
      await putMany(admin, source, files);
      await putMany(admin, destination, ["backup/stale-1", "backup/stale-2", "elsewhere/keep"]);
      return { source, destination };
    }

    function mirrorRequest(source: string, destination: string): SyncRequest {
      return { source: { bucket: source, prefix: "data/" }, destination: { bucket: destination, prefix: "backup/" }, mode: "mirror", maxDeletes: 10, partitions: 2, minKeysPerPartition: 1 };
    }

    describe("sufficient: the stack's own roles run every mode", () => {
      it("mirrors a prefix with deletes across two partitions", async () => {
        const { source, destination } = await buckets();
        const result = await run(mirrorRequest(source, destination));
        assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        await assertConverged(admin, { bucket: source, prefix: "data/" }, { bucket: destination, prefix: "backup/" });
        assert.deepEqual((await listKeys(admin, destination, "elsewhere/")).map((k) => k.key), ["keep"]);
      });

      it("syncs both ways in two-way mode", async () => {
        const { source, destination } = await buckets();
        await put(admin, destination, "backup/only-in-destination", "d");
        const result = await run({ source: { bucket: source, prefix: "data/" }, destination: { bucket: destination, prefix: "backup/" }, mode: "two-way", partitions: 2, minKeysPerPartition: 1 });
        assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        assert.ok((await listKeys(admin, source, "data/")).some((k) => k.key === "only-in-destination"));
      });

      it("copies a tagged object part by part, aborting an upload an abandoned run left open, with both buckets under SSE-KMS", async () => {
        const source = await newBucket(admin, "src");
        const destination = await newBucket(admin, "dst");
        await put(admin, source, "big.bin", Buffer.alloc(5 * MiB + 1, 7), { Tagging: "team=a" });
        await admin.send(new CreateMultipartUploadCommand({ Bucket: destination, Key: "big.bin" }));
        const key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination }, partSizeBytes: 5 * MiB, multipartThresholdBytes: 5 * MiB };
        const result = await run(request, {
          kmsKeyArn: key,
          buckets: { [source]: { accountId: "000000000000", kmsKeyArn: key }, [destination]: { accountId: "000000000000", kmsKeyArn: key }, [reports]: { accountId: "000000000000", kmsKeyArn: key } },
        });
        assert.equal(result.status, "SUCCEEDED", `${result.error}: ${result.cause}`);
        await assertConverged(admin, { bucket: source }, { bucket: destination });
      });
    });

    describe("able to fail: without one statement a run needs, it fails with AccessDenied naming the action", () => {
      const cases: Array<{ role: RoleName; sid: string; action: string }> = [
        { role: "validate-input", sid: "HeadSourceAndDestinationBuckets", action: "s3:ListBucket" },
        { role: "plan-partitions", sid: "ListDestinationPrefix", action: "s3:ListBucket" },
        { role: "sync-range", sid: "ReadSourceObjects", action: "s3:GetObject" },
        { role: "sync-range", sid: "WriteAndDeleteDestinationObjects", action: "s3:PutObject" },
        { role: "summarize", sid: "ReadRunRecords", action: "s3:GetObject" },
        // write-report reads the change log's chunks (GetObject) before it writes the report
        { role: "write-report", sid: "WriteReports", action: "s3:GetObject" },
        { role: "state-machine", sid: "InvokeSyncFunctions", action: "lambda:InvokeFunction" },
        { role: "state-machine", sid: "PublishNotifications", action: "sns:Publish" },
        { role: "state-machine", sid: "StartDistributedMapChildren", action: "states:StartExecution" },
      ];
      for (const { role, sid, action } of cases) {
        it(`${role} without ${sid}: ${action} is denied`, async () => {
          const { source, destination } = await buckets();
          const result = await run(mirrorRequest(source, destination), { mutate: without(role, sid) });
          assert.equal(result.status, "FAILED");
          const said = [`${result.error}: ${result.cause}`, ...result.failures.map((f) => `${f.error}: ${f.message}`)].join("\n");
          // S3's AccessDenied (validate-input reports it as the bucket that "cannot be listed (access denied: ...)"),
          // or the AccessDeniedException a service integration of the machine gets.
          assert.match(said, /AccessDenied|access denied/);
          assert.ok(said.includes(`not authorized to perform: ${action}`), said);
          assert.ok(said.includes(role === "state-machine" ? "(the state machine)" : `(handler ${role})`), said);
        });
      }
    });

    describe("cross-account: a prod backup of a dev bucket in another account", () => {
      const DEV = "111111111111";
      const PROD = "222222222222";
      const DEV_KEY = `arn:aws:kms:us-east-1:${DEV}:key/0000aaaa-11bb-22cc-33dd-444444eeeeee`;
      const scope = { partition: "aws", region: "us-east-1", accountId: PROD };
      const backup = { project: "bucket-sync", stack: "prod", accountId: PROD };

      /** The IAM of both stacks: dev's bucket policy and key policy, prod's roles. */
      async function crossAccountIam(source: string, destination: string, request: SyncRequest, grants: { bucket: boolean; key: boolean; backupStack?: string }) {
        const grantee = { ...backup, stack: grants.backupStack ?? backup.stack };
        const sourcePolicy: PolicyDocument = tlsOnlyBucketPolicy(`arn:aws:s3:::${source}`);
        if (grants.bucket) sourcePolicy.Statement.push(...backupBucketGrants("aws", source, grantee));
        const roleArns = backupRoleArns("aws", grantee);
        const keyPolicy = grants.key
          ? stackKeyPolicy({ partition: "aws", region: "us-east-1", keyAccountId: DEV, decryptRoleArns: HANDLER_NAMES.filter((h) => h === "sync-range").map((h) => roleArns[h]) })
          : stackKeyPolicy({ partition: "aws", region: "us-east-1", keyAccountId: DEV });
        return stackIam(request, {
          reports: { bucket: reports, prefix: "reports/" },
          clients: [client, reportClient],
          scope,
          nameStem: "bucket-sync-prod",
          sourceKmsKeyArn: DEV_KEY,
          buckets: {
            [source]: { accountId: DEV, policy: sourcePolicy, kmsKeyArn: DEV_KEY },
            [destination]: { accountId: PROD, policy: tlsOnlyBucketPolicy(`arn:aws:s3:::${destination}`) },
            [reports]: { accountId: PROD },
          },
          keyPolicies: { [DEV_KEY]: keyPolicy },
        });
      }

      /** The prod stack's functions, topic and state machine, as its definition names them. */
      function prodDefinition(roles: StackRoles) {
        return buildDefinition({ functionArns: roles.functionArns, notificationTopicArn: roles.notificationTopicArn });
      }

      async function crossRun(request: SyncRequest, iam: IamEnforcement): Promise<LocalRunResult & { failures: string[] }> {
        const roles = iam.model.roles;
        const handlers = createHandlers({ client, reportBucket: reports, reportPrefix: "reports/", records: s3RunRecords(reportClient, { bucket: reports, prefix: "reports/" }) });
        const failures: string[] = [];
        const table: HandlerTable = {
          ...handlers,
          async summarize(event) {
            const summary = await handlers.summarize(event);
            failures.push(...summary.failures.map((f) => `${f.error}: ${f.message}`));
            return summary;
          },
        };
        const result = await runLocally({ definition: prodDefinition(roles), functionArns: roles.functionArns, handlers: table, objects: s3ObjectStore(reportClient), input: request, validate: false, retryIntervalMs: 1, iam });
        return { ...result, failures };
      }

      it("copies only through the dev bucket's policy and key policy", async () => {
        const { source, destination } = await buckets();
        const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination }, partitions: 2, minKeysPerPartition: 1 };
        const granted = await crossRun(request, await crossAccountIam(source, destination, request, { bucket: true, key: true }));
        assert.equal(granted.status, "SUCCEEDED", `${granted.error}: ${granted.cause}`);
        const [expected, actual] = [await listKeys(admin, source), await listKeys(admin, destination)];
        for (const { key } of expected) assert.ok(actual.some((k) => k.key === key), key);
      });

      it("is refused without the bucket policy's grant", async () => {
        const { source, destination } = await buckets();
        const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination } };
        const refused = await crossRun(request, await crossAccountIam(source, destination, request, { bucket: false, key: true }));
        assert.equal(refused.status, "FAILED");
        assert.match(refused.cause ?? "", /not authorized to perform: s3:ListBucket on resource: \\?"arn:aws:s3:::src-[^"\\]+\\?" because no resource-based policy \(or no identity-based policy\) allows it across accounts/);
        assert.deepEqual((await listKeys(admin, destination, "data/")).length, 0);
      });

      it("refuses a prod role the bucket policy does not name (another backup stack's grant)", async () => {
        const { source, destination } = await buckets();
        const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination } };
        const refused = await crossRun(request, await crossAccountIam(source, destination, request, { bucket: true, key: true, backupStack: "staging" }));
        assert.equal(refused.status, "FAILED");
        assert.match(refused.cause ?? "", /bucket-sync-prod-validate-input is not authorized to perform: s3:ListBucket/);
      });

      it("cannot decrypt without the key policy's grant: every copy fails with AccessDenied on kms:Decrypt", async () => {
        const { source, destination } = await buckets();
        const request: SyncRequest = { source: { bucket: source }, destination: { bucket: destination } };
        const refused = await crossRun(request, await crossAccountIam(source, destination, request, { bucket: true, key: false }));
        assert.equal(refused.status, "FAILED");
        assert.ok(refused.failures.length > 0 && refused.failures.every((f) => f.includes("not authorized to perform: kms:Decrypt")), refused.failures.join("\n"));
        assert.deepEqual((await listKeys(admin, destination, "data/")).length, 0);
      });
    });

    describe("minimal: every grant is exercised by a run above, or justified", () => {
      it("leaves no grant of a handler or of the machine unexercised without a reason", () => {
        const usage = suiteUsage(mark);
        const unexplained: string[] = [];
        for (const [role, { granted, exercised }] of Object.entries(usage) as Array<[RoleName, { granted: string[]; exercised: string[] }]>) {
          for (const action of granted) {
            if (exercised.includes(action)) continue;
            if (GRANTS_NOT_EXERCISED_LOCALLY[role]?.[action]) continue;
            unexplained.push(`${role}: ${action}`);
          }
          // A justification for an action the runs do exercise is stale.
          for (const action of Object.keys(GRANTS_NOT_EXERCISED_LOCALLY[role] ?? {})) {
            assert.ok(!exercised.includes(action), `${role}: ${action} is exercised; drop its entry from GRANTS_NOT_EXERCISED_LOCALLY`);
          }
        }
        assert.deepEqual(unexplained, [], "granted, never exercised, not justified in GRANTS_NOT_EXERCISED_LOCALLY");
        printUsageTable(usage);
        // The record the canary workflow simulates on the deployed roles, and the README shows.
        const measured = Object.fromEntries(Object.entries(usage).map(([role, u]) => [role, u.exercised]));
        if (process.env.BUCKET_SYNC_RECORD_IAM) writeFileSync(EXERCISED_RECORD, `${JSON.stringify(measured, null, 2)}\n`);
        assert.deepEqual(JSON.parse(readFileSync(EXERCISED_RECORD, "utf8")), measured, "infra/exercisedActions.json is stale: BUCKET_SYNC_RECORD_IAM=1 npx mocha tests/integration/iam-enforcement.test.ts");
      });
    });
  });
});

/** The README's granted-versus-exercised table, as the runs above measured it. */
function printUsageTable(usage: ReturnType<typeof suiteUsage>): void {
  if (!process.env.BUCKET_SYNC_PRINT_IAM_TABLE) return;
  const lines = ["| role | exercised by the runs | granted, not exercised locally (why: GRANTS_NOT_EXERCISED_LOCALLY) |", "|---|---|---|"];
  for (const [role, { granted, exercised }] of Object.entries(usage) as Array<[RoleName, { granted: string[]; exercised: string[] }]>) {
    const idle = granted.filter((a) => !exercised.includes(a));
    lines.push(`| ${role} | ${exercised.map((a) => `\`${a}\``).join(", ")} | ${idle.map((a) => `\`${a}\``).join(", ") || "—"} |`);
  }
  console.log(lines.join("\n"));
}

export type { HandlerName };
