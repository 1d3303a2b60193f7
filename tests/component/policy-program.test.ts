/**
 * The real policy pack against real programs: this project's program (index.ts) for the dev and
 * prod stacks, as `pulumi preview --policy-pack policy-pack` and `pulumi up --policy-pack
 * policy-pack` would evaluate it, and fixture programs that make the mistakes the pack exists for.
 *
 * Each program runs under mocks (offline-pulumi/program.ts); each resource it registered is shown
 * to the policies as the policy runtime shows it (offline-pulumi/policyRuntime.ts `policyResources`):
 * its inputs, unknown where a preview does not know them yet, an `aws.iam.Policy`'s `arn`, and
 * the engine's property dependencies.
 */
import { strict as assert } from "node:assert";
import * as aws from "@pulumi/aws";
import { IAM_TYPES } from "../../policy-pack/policies";
import { isBlocking, policyResources, runPolicies, type HarnessViolation } from "../helpers/policyHarness";
import { containsUnknown, runProgram, type ProgramRun, type PulumiProgram } from "../helpers/pulumiMocks";

const ROLE_POLICY = "no-wildcard-s3-role-policy";
const MANAGED_POLICY = "no-wildcard-s3-managed-policy";

/** Policies' own words for "some of this could not be checked at preview". */
const UNCHECKED = /could not be checked|can't run policy/;

async function evaluate(run: ProgramRun): Promise<HarnessViolation[]> {
  return runPolicies(policyResources(run));
}

const MODES = [
  { preview: true, as: "pulumi preview" },
  { preview: false, as: "pulumi up" },
] as const;

describe("policy pack on the bucket-sync program", () => {
  // The callback packaging serializes every handler (seconds each run); its roles are the same
  // documents in both modes, so a preview is enough.
  const cases = [
    { stack: "dev", config: {}, modes: MODES },
    { stack: "prod", config: {}, modes: MODES },
    { stack: "prod", config: { handlerPackaging: "callback" }, modes: MODES.filter((m) => m.preview) },
    { stack: "prod", config: { apiTrigger: "true" }, modes: MODES },
    // Dev and prod in different accounts, each side.
    {
      stack: "dev",
      config: { backupAccountId: "210987654321", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
      modes: MODES,
    },
    { stack: "prod", config: { sourceAccountId: "111122223333", sourceKmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" }, modes: MODES },
  ];
  for (const { stack, config, modes } of cases) {
    for (const { preview, as } of modes) {
      const label = `${stack}${Object.keys(config).length ? ` (${JSON.stringify(config)})` : ""}`;
      it(`passes ${label} with no violation and nothing left unchecked, as ${as} would`, async () => {
        const run = await runProgram({ stack, preview, config });
        const violations = await evaluate(run);
        assert.deepEqual(
          violations.map((v) => `${v.policyName} (${v.enforcementLevel}): ${v.message}`),
          [],
          "the program's resources should pass every policy",
        );
        if (stack === "prod") {
          // The pass means something: the policies saw the roles and their documents, known.
          const policies = run.resources.filter((r) => r.type === IAM_TYPES.rolePolicy);
          assert.ok(policies.length >= 6, `expected the functions' and the state machine's role policies, got ${policies.length}`);
          for (const policy of policies) assert.ok(!containsUnknown(policy.inputs.policy), `${policy.name}'s document is unknown`);
        }
      });
    }
  }

  it("has IAM documents fully known at preview, so no policy reports anything it could not check", async () => {
    for (const stack of ["dev", "prod"]) {
      const violations = await evaluate(await runProgram({ stack, preview: true }));
      assert.deepEqual(violations.filter((v) => UNCHECKED.test(v.message)), [], `${stack}: advisories about unknown values`);
    }
  });
});

/** A function created the way the style guide forbids: CallbackFunction with no role. */
const callbackFunctionWithoutRole: PulumiProgram = async () => {
  const fn = new aws.lambda.CallbackFunction("thumbnailer", { callback: async () => ({ ok: true }) });
  return { functionName: fn.name };
};

/** A role with `s3:*` on a named bucket, inline and as an aws.iam.RolePolicy. */
const roleWithS3Star: PulumiProgram = async () => {
  const everything = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: ["arn:aws:s3:::fixture-data", "arn:aws:s3:::fixture-data/*"] }],
  });
  const role = new aws.iam.Role("copy-role", {
    name: "copy-role",
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
    inlinePolicies: [{ name: "inline-everything", policy: everything }],
  });
  new aws.iam.RolePolicy("copy-everything", { role: role.name, policy: everything });
  return { roleName: role.name };
};

/** A customer-managed policy with `s3:Get*`, attached to a role: at preview its ARN is unknown. */
const attachedCustomerPolicy: PulumiProgram = async () => {
  const role = new aws.iam.Role("reader-role", {
    name: "reader-role",
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
  });
  const policy = new aws.iam.Policy("read-all", {
    name: "read-all",
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "ReadAll", Effect: "Allow", Action: "s3:Get*", Resource: "arn:aws:s3:::fixture-data/*" }],
    }),
  });
  new aws.iam.RolePolicyAttachment("reader-read-all", { role: role.name, policyArn: policy.arn });
  return {};
};

describe("policy pack on fixture programs", () => {
  for (const { preview, as } of MODES) {
    it(`fails an aws.lambda.CallbackFunction without a role for its AmazonS3FullAccess attachment, as ${as} would`, async () => {
      const run = await runProgram({ stack: "dev", preview, program: callbackFunctionWithoutRole });
      const violations = await evaluate(run);

      const managed = violations.filter((v) => v.policyName === MANAGED_POLICY);
      assert.equal(managed.length, 1, violations.map((v) => v.message).join("\n"));
      const [v] = managed;
      assert.ok(isBlocking(v), "a mandatory violation stops the update");
      // The role CallbackFunction made for itself, the attachment, and the managed policy.
      const attachment = run.resources.find((r) => r.type === IAM_TYPES.rolePolicyAttachment && String(r.inputs.policyArn).endsWith("/AmazonS3FullAccess"));
      assert.ok(attachment, "CallbackFunction attached AmazonS3FullAccess");
      assert.equal(v.urn, attachment.urn);
      assert.match(v.message, new RegExp(`RolePolicyAttachment "${attachment.name}" attaches the AWS managed policy AmazonS3FullAccess \\(arn:aws:iam::aws:policy/AmazonS3FullAccess\\)`));
      // At preview the role's name is computed by AWS, so not known yet; at update it is.
      assert.match(v.message, preview ? /to role "<unknown until apply>"/ : /to role "thumbnailer"/);
      assert.match(v.message, /action "s3:\*" on "\*"/);
      assert.match(v.message, /an aws\.lambda\.CallbackFunction without a role attaches AmazonS3FullAccess, so pass it that role/);
    });

    it(`fails a role granting s3:* on a named bucket, inline and as a RolePolicy, naming role, statement, action, resource and fix, as ${as} would`, async () => {
      const run = await runProgram({ stack: "dev", preview, program: roleWithS3Star });
      const violations = (await evaluate(run)).filter((v) => v.policyName === ROLE_POLICY);

      const inline = violations.filter((v) => /Role "copy-role" inline policy "inline-everything"/.test(v.message));
      const rolePolicy = violations.filter((v) => /RolePolicy "copy-everything" on role "copy-role"/.test(v.message));
      for (const found of [inline, rolePolicy]) {
        assert.equal(found.length, 1, violations.map((v) => v.message).join("\n"));
        const [v] = found;
        assert.ok(isBlocking(v));
        assert.match(v.message, /Statement\[0\] \(Sid "Everything"\): action "s3:\*" on "arn:aws:s3:::fixture-data, arn:aws:s3:::fixture-data\/\*"/);
        assert.match(v.message, /"s3:\*" grants every action of S3/);
        assert.match(v.message, /Instead: list only the S3 actions the role needs by name, e\.g\. "s3:GetObject"/);
      }
      assert.deepEqual(violations.filter((v) => UNCHECKED.test(v.message)), [], "a named bucket is known at preview");
    });

    it(`fails a customer policy with s3:Get* attached to a role, following the attachment to the policy, as ${as} would`, async () => {
      const run = await runProgram({ stack: "dev", preview, program: attachedCustomerPolicy });
      const attachment = run.resources.find((r) => r.type === IAM_TYPES.rolePolicyAttachment);
      assert.ok(attachment);
      // At preview the policy's ARN is not known: only the engine's dependencies lead to it.
      assert.equal(containsUnknown(attachment.inputs.policyArn), preview);
      assert.ok(attachment.propertyDependencies.policyArn?.some((urn) => urn.endsWith("::read-all")));

      const violations = (await evaluate(run)).filter((v) => v.policyName === "no-wildcard-s3-attached-policy");
      assert.equal(violations.length, 1, JSON.stringify(violations, null, 2));
      const [v] = violations;
      assert.equal(v.urn, attachment.urn);
      assert.match(v.message, /Policy "read-all" attached to role "reader-role" by RolePolicyAttachment "reader-read-all": Statement\[0\] \(Sid "ReadAll"\): action "s3:Get\*" on "arn:aws:s3:::fixture-data\/\*"/);
      assert.match(v.message, /Instead: list only the ones the role needs by name/);
    });
  }
});
