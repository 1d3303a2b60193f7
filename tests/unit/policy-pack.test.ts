import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as policyModule from "../../policy-pack/policies";
import { IAM_TYPES, policies } from "../../policy-pack/policies";
import { HarnessResource, HarnessViolation, runPolicies, UNKNOWN } from "../helpers/policyHarness";

const ROLE_POLICY = "no-wildcard-s3-role-policy";
const MANAGED_POLICY = "no-wildcard-s3-managed-policy";
const ATTACHED_POLICY = "no-wildcard-s3-attached-policy";

const ASSUME_LAMBDA = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

function doc(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

const COPY_DOCUMENT = doc(
  { Sid: "ListBuckets", Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::sync-dev", "arn:aws:s3:::sync-prod"] },
  { Sid: "ReadSource", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::sync-dev/*" },
  { Sid: "WriteTarget", Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::sync-prod/*" },
);

function role(name: string, props: Record<string, unknown> = {}): HarnessResource {
  return { type: IAM_TYPES.role, name, props: { name, assumeRolePolicy: ASSUME_LAMBDA, ...props } };
}

function only(violations: HarnessViolation[], policyName: string): HarnessViolation[] {
  return violations.filter((v) => v.policyName === policyName);
}

describe("policy pack: the policies array", () => {
  const exported = Object.entries(policyModule).filter(
    ([, value]) =>
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      "name" in value &&
      ("validateResource" in value || "validateStack" in value),
  );

  it("lists every exported policy exactly once", () => {
    assert.ok(exported.length >= 3);
    for (const [exportName, policy] of exported) assert.ok(policies.includes(policy as never), `${exportName} is not in policies`);
    assert.equal(new Set(policies).size, policies.length);
  });

  it("gives each policy a unique kebab-case name, a one-sentence description and a mandatory level", () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const p of policies) {
      assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.match(p.description, /^[A-Z][^]*\.$/);
      assert.equal(p.description.split(/\.\s/).length, 1, `${p.name}: one sentence`);
      assert.equal(p.enforcementLevel, "mandatory");
      assert.ok(!p.configSchema?.properties.enforcementLevel, "the runtime rejects enforcementLevel in a schema");
    }
  });

  it("keeps the pack self-contained and the rules free of Pulumi", () => {
    const dir = path.join(__dirname, "..", "..", "policy-pack");
    const sources = ["index.ts", "policies.ts", "managedPolicies.ts", ...readdirSync(path.join(dir, "rules")).map((f) => `rules/${f}`)];
    for (const file of sources) {
      const text = readFileSync(path.join(dir, file), "utf8");
      for (const [, spec] of text.matchAll(/from "([^"]+)"/g)) {
        assert.ok(!spec.startsWith("../"), `${file} imports ${spec} from outside policy-pack/`);
        if (file.startsWith("rules/") || file === "managedPolicies.ts") assert.ok(!spec.startsWith("@pulumi/"), `${file} imports ${spec}`);
      }
    }
  });
});

describe("policy pack: roles' own policies (no-wildcard-s3-role-policy)", () => {
  it("fails a role whose inline policy grants s3:* on a named bucket, naming role, statement, action, resource and fix", async () => {
    const violations = await runPolicies([
      role("copy-role", {
        inlinePolicies: [{ name: "copy", policy: doc({ Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::sync-dev" }) }],
      }),
    ]);
    assert.equal(violations.length, 1);
    const [v] = violations;
    assert.equal(v.policyName, ROLE_POLICY);
    assert.equal(v.enforcementLevel, "mandatory");
    assert.equal(v.urn, "urn:pulumi:test::bucket-sync::aws:iam/role:Role::copy-role");
    assert.match(v.message, /Role "copy-role" inline policy "copy": Statement\[0\] \(Sid "Everything"\): action "s3:\*" on "arn:aws:s3:::sync-dev"/);
    assert.match(v.message, /Instead: list only the S3 actions the role needs/);
  });

  it("fails an aws.iam.RolePolicy with s3:Get*, given as a JSON string or as an object", async () => {
    const statement = { Effect: "Allow", Action: ["s3:Get*"], Resource: "arn:aws:s3:::sync-dev/*" };
    for (const policy of [doc(statement), { Version: "2012-10-17", Statement: [statement] }]) {
      const violations = await runPolicies([{ type: IAM_TYPES.rolePolicy, name: "read", props: { role: "copy-role-1a2b", policy } }]);
      assert.equal(violations.length, 1);
      assert.match(violations[0].message, /RolePolicy "read" on role "copy-role-1a2b": Statement\[0\]: action "s3:Get\*"/);
    }
  });

  it("fails a wildcard bucket and says which bucket ARN to write", async () => {
    const violations = await runPolicies([
      { type: IAM_TYPES.rolePolicy, name: "read", props: { role: "r", policy: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::sync-*" }) } },
    ]);
    assert.equal(violations.length, 1);
    assert.match(violations[0].message, /"arn:aws:s3:::sync-\/\*"/);
  });

  it("never reads the assume-role policy", async () => {
    const trustAnyone = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }] });
    assert.deepEqual(await runPolicies([role("r", { assumeRolePolicy: trustAnyone })]), []);
  });

  it("lets an account-level action through only when the pack config allows it", async () => {
    const listing = [role("console", { inlinePolicies: [{ name: "list", policy: doc({ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }) }] })];
    const without = await runPolicies(listing);
    assert.equal(without.length, 1);
    assert.match(without[0].message, /allowedAccountLevelActions/);
    const config = { [ROLE_POLICY]: { allowedAccountLevelActions: ["s3:ListAllMyBuckets"] } };
    assert.deepEqual(await runPolicies(listing, { config }), []);
  });

  it("uses the enforcement level from the pack config", async () => {
    const violations = await runPolicies(
      [{ type: IAM_TYPES.rolePolicy, name: "p", props: { role: "r", policy: doc({ Action: "s3:*", Resource: "*" }) } }],
      { config: { [ROLE_POLICY]: "advisory" } },
    );
    assert.ok(violations.length > 0);
    assert.ok(violations.every((v) => v.enforcementLevel === "advisory"));
  });
});

describe("policy pack: AWS managed policies (no-wildcard-s3-managed-policy)", () => {
  it("fails a RolePolicyAttachment of AmazonS3FullAccess, as an aws.lambda.CallbackFunction without role creates", async () => {
    const violations = await runPolicies([
      role("handler"),
      {
        type: IAM_TYPES.rolePolicyAttachment,
        name: "handler-32be53df",
        props: { role: "handler-7d1e2f3", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" },
      },
    ]);
    assert.equal(violations.length, 1);
    const [v] = violations;
    assert.equal(v.policyName, MANAGED_POLICY);
    assert.equal(v.enforcementLevel, "mandatory");
    assert.match(v.message, /RolePolicyAttachment "handler-32be53df" attaches the AWS managed policy AmazonS3FullAccess .* to role "handler-7d1e2f3"/);
    assert.match(v.message, /Statement\[0\] action "s3:\*, s3-object-lambda:\*" on "\*"|Statement\[0\] action "s3:\*" on "\*"/);
    assert.match(v.message, /CallbackFunction/);
  });

  it("fails the other routes to a managed policy: PolicyAttachment to roles, RolePolicyAttachmentsExclusive, managedPolicyArns", async () => {
    const violations = await runPolicies([
      { type: IAM_TYPES.policyAttachment, name: "readers", props: { roles: ["a", "b"], policyArn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" } },
      { type: IAM_TYPES.rolePolicyAttachmentsExclusive, name: "exclusive", props: { roleName: "c", policyArns: ["arn:aws:iam::aws:policy/PowerUserAccess"] } },
      role("admin", { managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] }),
    ]);
    const messages = only(violations, MANAGED_POLICY).map((v) => v.message);
    assert.equal(messages.length, 3);
    assert.ok(messages.some((m) => /AmazonS3ReadOnlyAccess .* to roles "a", "b"/.test(m)));
    assert.ok(messages.some((m) => /PowerUserAccess .* to role "c".*NotAction/.test(m)));
    assert.ok(messages.some((m) => /AdministratorAccess .* to role "admin"/.test(m)));
  });

  it("passes managed policies without S3 wildcards and attachments to users only", async () => {
    assert.deepEqual(
      await runPolicies([
        { type: IAM_TYPES.rolePolicyAttachment, name: "logs", props: { role: "r", policyArn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" } },
        { type: IAM_TYPES.policyAttachment, name: "humans", props: { users: ["alice"], policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } },
      ]),
      [],
    );
  });
});

describe("policy pack: customer policies attached to roles (no-wildcard-s3-attached-policy)", () => {
  const readAll = doc({ Sid: "ReadAll", Effect: "Allow", Action: "s3:Get*", Resource: "arn:aws:s3:::sync-dev/*" });
  const policyArn = "arn:aws:iam::123456789012:policy/read-all-3f2a";

  it("fails an aws.iam.Policy with s3:Get* attached by RolePolicyAttachment, on the attachment", async () => {
    const violations = await runPolicies([
      role("reader"),
      { type: IAM_TYPES.policy, name: "read-all", props: { name: "read-all-3f2a", policy: readAll, arn: policyArn } },
      { type: IAM_TYPES.rolePolicyAttachment, name: "reader-read-all", props: { role: "reader", policyArn } },
    ]);
    assert.equal(violations.length, 1);
    const [v] = violations;
    assert.equal(v.policyName, ATTACHED_POLICY);
    assert.equal(v.urn, "urn:pulumi:test::bucket-sync::aws:iam/rolePolicyAttachment:RolePolicyAttachment::reader-read-all");
    assert.match(v.message, /Policy "read-all" attached to role "reader" by RolePolicyAttachment "reader-read-all": Statement\[0\] \(Sid "ReadAll"\): action "s3:Get\*"/);
  });

  it("finds the policy by name when its ARN is not among its props", async () => {
    const violations = await runPolicies([
      { type: IAM_TYPES.policy, name: "read-all", props: { name: "read-all-3f2a", path: "/sync/", policy: readAll } },
      { type: IAM_TYPES.rolePolicyAttachment, name: "att", props: { role: "reader", policyArn: "arn:aws:iam::123456789012:policy/sync/read-all-3f2a" } },
    ]);
    assert.equal(only(violations, ATTACHED_POLICY).length, 1);
  });

  it("at preview, follows an unknown policy ARN to the policy it was computed from", async () => {
    const violations = await runPolicies([
      { type: IAM_TYPES.policy, name: "read-all", props: { name: "read-all-3f2a", policy: readAll, arn: UNKNOWN } },
      {
        type: IAM_TYPES.rolePolicyAttachment,
        name: "att",
        props: { role: "reader", policyArn: UNKNOWN },
        propertyDependencies: { policyArn: ["read-all"] },
      },
    ]);
    assert.deepEqual(
      violations.map((v) => [v.policyName, v.enforcementLevel]),
      [[ATTACHED_POLICY, "mandatory"]],
    );
  });

  it("says the attachment could not be checked when an unknown ARN leads nowhere", async () => {
    const violations = await runPolicies([{ type: IAM_TYPES.rolePolicyAttachment, name: "att", props: { role: "reader", policyArn: UNKNOWN } }]);
    assert.equal(violations.length, 1);
    assert.equal(violations[0].enforcementLevel, "advisory");
    assert.match(violations[0].message, /could not be checked/);
    assert.match(violations[0].message, /RolePolicyAttachment "att" gives role "reader" a policy whose ARN is not known yet/);
  });

  it("reports a policy once when the role's managedPolicyArns output lists it too", async () => {
    const violations = await runPolicies([
      role("reader", { managedPolicyArns: [policyArn] }),
      { type: IAM_TYPES.policy, name: "read-all", props: { name: "read-all-3f2a", policy: readAll, arn: policyArn } },
      { type: IAM_TYPES.rolePolicyAttachment, name: "reader-read-all", props: { role: "reader", policyArn } },
    ]);
    assert.equal(violations.length, 1);
    assert.match(violations[0].message, /by RolePolicyAttachment "reader-read-all"/);
  });

  it("reads a role's managedPolicyArns set from a policy created in the stack", async () => {
    const violations = await runPolicies([
      role("reader", { managedPolicyArns: [UNKNOWN] }),
      { type: IAM_TYPES.policy, name: "read-all", props: { name: "read-all-3f2a", policy: readAll, arn: UNKNOWN } },
    ].map((r) => (r.name === "reader" ? { ...r, propertyDependencies: { managedPolicyArns: ["read-all"] } } : r)));
    assert.equal(only(violations, ATTACHED_POLICY).length, 1);
    assert.match(violations[0].message, /Policy "read-all" attached to role "reader" by Role "reader"/);
  });

  it("does not mistake a role's computed managedPolicyArns at preview for something to check", async () => {
    assert.deepEqual(await runPolicies([role("reader", { managedPolicyArns: UNKNOWN })]), []);
  });

  it("ignores a policy no role gets", async () => {
    assert.deepEqual(await runPolicies([{ type: IAM_TYPES.policy, name: "loose", props: { name: "loose", policy: readAll, arn: policyArn } }]), []);
  });
});

describe("policy pack: documents not known at preview", () => {
  it("reports an unknown document as could not be checked, advisory", async () => {
    const violations = await runPolicies([{ type: IAM_TYPES.rolePolicy, name: "p", props: { role: "r", policy: UNKNOWN } }]);
    assert.equal(violations.length, 1);
    const [v] = violations;
    assert.equal(v.policyName, ROLE_POLICY);
    assert.equal(v.enforcementLevel, "advisory");
    assert.match(v.message, /^can't run policy 'no-wildcard-s3-role-policy' .* during preview: 1 part could not be checked/);
    assert.match(v.message, /RolePolicy "p" on role "r": document: the policy document is not known yet \(policy\)/);
  });

  it("still blocks what is known: a wildcard action beside an unknown resource", async () => {
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: [UNKNOWN] }] };
    const violations = await runPolicies([{ type: IAM_TYPES.rolePolicy, name: "p", props: { role: "r", policy } }]);
    assert.deepEqual(
      violations.map((v) => v.enforcementLevel),
      ["mandatory", "advisory"],
    );
    assert.match(violations[1].message, /Resource\[0\] is not known yet \(policy\.Statement\[0\]\.Resource\[0\]\)/);
  });

  it("checks each inline policy of a role on its own", async () => {
    const violations = await runPolicies([
      role("mixed", {
        inlinePolicies: [
          { name: "later", policy: UNKNOWN },
          { name: "now", policy: doc({ Effect: "Allow", Action: "s3:*Object", Resource: "arn:aws:s3:::sync-dev/*" }) },
        ],
      }),
    ]);
    assert.deepEqual(
      violations.map((v) => v.enforcementLevel),
      ["mandatory", "advisory"],
    );
    assert.match(violations[0].message, /inline policy "now"/);
    assert.match(violations[1].message, /inline policy "later": document: the policy document is not known yet/);
  });

  it("reproduces the runtime: a policy that reads an unknown value directly is skipped as advisory", async () => {
    const naive = {
      name: "naive",
      description: "Reads props without care.",
      enforcementLevel: "mandatory" as const,
      validateResource: (args: { props: Record<string, unknown> }) => {
        void String(args.props.policy);
      },
    };
    const violations = await runPolicies([{ type: IAM_TYPES.rolePolicy, name: "p", props: { role: "r", policy: UNKNOWN } }], { policies: [naive] });
    assert.deepEqual(violations.map((v) => v.enforcementLevel), ["advisory"]);
    assert.match(violations[0].message, /string value at \.policy can't be known during preview/);
  });
});

describe("policy pack: least privilege passes", () => {
  it("reports nothing for roles that name their actions and buckets, however the documents arrive", async () => {
    const violations = await runPolicies([
      role("copy-role", { inlinePolicies: [{ name: "copy", policy: COPY_DOCUMENT }] }),
      { type: IAM_TYPES.rolePolicy, name: "copy-extra", props: { role: "copy-role", policy: COPY_DOCUMENT } },
      { type: IAM_TYPES.policy, name: "copy-managed", props: { name: "copy-managed", policy: COPY_DOCUMENT, arn: "arn:aws:iam::123456789012:policy/copy-managed" } },
      { type: IAM_TYPES.rolePolicyAttachment, name: "copy-attach", props: { role: "copy-role", policyArn: "arn:aws:iam::123456789012:policy/copy-managed" } },
      { type: IAM_TYPES.rolePolicyAttachment, name: "logs", props: { role: "copy-role", policyArn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" } },
      { type: "aws:s3/bucket:Bucket", name: "sync-dev", props: { bucket: "sync-dev" } },
    ]);
    assert.deepEqual(violations, []);
  });
});
