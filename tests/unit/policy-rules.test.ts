import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { findManagedPolicy, isAwsManagedPolicyArn, WILDCARD_S3_MANAGED_POLICIES } from "../../policy-pack/managedPolicies";
import {
  ACCOUNT_LEVEL_S3_ACTIONS,
  analyzeResource,
  canMatchS3Action,
  checkPolicyDocument,
  coversAllOfS3,
  describeFinding,
  globMatches,
  S3_ACTIONS,
  s3ActionsMatching,
  Unknown,
  Verdict,
  verdictOf,
} from "../../policy-pack/rules";

interface Fixture {
  why: string;
  source: string;
  expect: Verdict;
  /** The rules the violations come from, when the case is about which rule fires. */
  rules?: string[];
  options?: { allowedAccountLevelActions?: string[] };
  document: unknown;
}

const FIXTURES = path.join(__dirname, "..", "fixtures", "iam-policies");

function fixtures(): Array<[string, Fixture]> {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [f.replace(/\.json$/, ""), JSON.parse(readFileSync(path.join(FIXTURES, f), "utf8")) as Fixture]);
}

describe("policy rules: the IAM policy corpus", () => {
  const corpus = fixtures();

  it("has a verdict, a reason and a source for every case", () => {
    assert.ok(corpus.length >= 50, `only ${corpus.length} cases`);
    for (const [name, fixture] of corpus) {
      assert.ok(["pass", "violation", "malformed", "unchecked"].includes(fixture.expect), name);
      assert.ok(fixture.why.length > 10 && fixture.source.length > 5, name);
    }
  });

  for (const [name, fixture] of corpus) {
    it(`${name}: ${fixture.expect}`, () => {
      const findings = checkPolicyDocument(fixture.document, fixture.options);
      const shown = findings.map(describeFinding).join("\n");
      assert.equal(verdictOf(findings), fixture.expect, `${fixture.why}\n${shown}`);
      if (fixture.rules) {
        const fired = [...new Set(findings.filter((f) => f.kind === "violation").map((f) => f.rule))].sort();
        assert.deepEqual(fired, [...fixture.rules].sort(), shown);
      }
    });
  }
});

describe("policy rules: action patterns", () => {
  it("treats service prefixes and action names case-insensitively", () => {
    assert.ok(canMatchS3Action("S3:GetObject"));
    assert.ok(coversAllOfS3("S3:*"));
    assert.deepEqual(s3ActionsMatching("s3:getobject"), ["s3:GetObject"]);
  });

  it("knows which patterns cover every S3 action, present and future", () => {
    for (const p of ["*", "*:*", "s3:*", "s3*", "s3*:*", "s3:**"]) assert.ok(coversAllOfS3(p), p);
    for (const p of ["s3:Get*", "s3:*Object", "s3-object-lambda:*", "iam:*", "*:Get*"]) assert.ok(!coversAllOfS3(p), p);
  });

  it("counts a wildcard service as S3 only when it matches a real S3 action", () => {
    assert.ok(canMatchS3Action("*:GetObject"));
    assert.ok(canMatchS3Action("?3:ListBucket"));
    assert.ok(!canMatchS3Action("*:RunInstances"));
    assert.ok(!canMatchS3Action("ec2:*"));
    assert.ok(!canMatchS3Action("s3-object-lambda:*"));
  });

  it("treats a literal s3 service as S3 even for names AWS has not listed yet", () => {
    assert.ok(canMatchS3Action("s3:SomeFutureAction"));
    assert.ok(canMatchS3Action("s3:Future*"));
  });

  it("expands s3:Get* to the listed Get actions only", () => {
    const matched = s3ActionsMatching("s3:Get*");
    assert.ok(matched.includes("s3:GetObject"));
    assert.ok(matched.every((a) => a.startsWith("s3:Get")));
  });

  it("matches ? to exactly one character", () => {
    assert.ok(globMatches("s3:?etObject", "s3:GetObject"));
    assert.ok(!globMatches("s3:?etObject", "s3:etObject"));
    assert.ok(!globMatches("s3:?etObject", "s3:GGetObject"));
  });
});

describe("policy rules: resource patterns", () => {
  it("finds a wildcard in the bucket part in any partition", () => {
    for (const r of ["*", "arn:*", "arn:aws:s3:::*", "arn:*:s3:::*", "arn:aws:s3:::*/*", "arn:aws:s3:::my-bucket*", "arn:aws:s3:::my-bucket?", "arn:aws-cn:s3:::*", "arn:aws:s3:*:*:*", "arn:aws:s3:::my-*/logs/*"]) {
      assert.ok(analyzeResource(r).wildcardBucket, r);
    }
  });

  it("allows a wildcard only in the key part under a named bucket", () => {
    for (const r of ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*", "arn:aws:s3:::my-bucket/logs/*", "arn:aws:s3:::my-bucket/*/x?.json"]) {
      const shape = analyzeResource(r);
      assert.ok(shape.s3 && !shape.wildcardBucket, r);
    }
  });

  it("does not take other services' ARNs or access points for buckets", () => {
    assert.ok(!analyzeResource("arn:aws:sqs:us-east-1:123456789012:queue").s3);
    assert.ok(!analyzeResource("arn:aws:logs:*:*:*").s3);
    const ap = analyzeResource("arn:aws:s3:us-east-1:123456789012:accesspoint/*");
    assert.ok(ap.s3 && !ap.wildcardBucket);
  });

  it("suggests the pattern's own partition and bucket stem in the fix", () => {
    const [finding] = checkPolicyDocument({ Statement: [{ Action: "s3:GetObject", Resource: "arn:aws-cn:s3:::logs-*" }] });
    assert.match(finding.fix, /"arn:aws-cn:s3:::logs-\/\*"/);
  });
});

describe("policy rules: findings", () => {
  it("name the statement by Sid and index, the action, the resource and the fix", () => {
    const findings = checkPolicyDocument({
      Statement: [
        { Sid: "Fine", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::a/*" },
        { Sid: "TooMuch", Effect: "Allow", Action: ["s3:GetObject", "s3:Put*"], Resource: "arn:aws:s3:::a/*" },
      ],
    });
    assert.equal(findings.length, 1);
    const [f] = findings;
    assert.equal(f.statementIndex, 1);
    assert.equal(f.sid, "TooMuch");
    assert.equal(f.action, "s3:Put*");
    assert.equal(f.resource, "arn:aws:s3:::a/*");
    const line = describeFinding(f);
    assert.match(line, /^Statement\[1\] \(Sid "TooMuch"\): action "s3:Put\*" on "arn:aws:s3:::a\/\*": .*s3:PutObject.*Instead: /);
  });

  it("never throws on values that are not strings, and reports them as unchecked", () => {
    const odd: unknown[] = [
      { Statement: [{ Action: 42, Resource: "*" }] },
      { Statement: [{ Action: null, Resource: "*" }] },
      { Statement: [{ Action: [["s3:*"]], Resource: "*" }] },
      { Statement: [{ Action: "s3:GetObject", Resource: { "Fn::Join": ["", ["arn:aws:s3:::", { Ref: "B" }]] } }] },
      { Statement: [null, 7, "s3:*"] },
      { Statement: "nope" },
      [],
      42,
      null,
      undefined,
    ];
    for (const doc of odd) {
      const findings = checkPolicyDocument(doc);
      assert.notEqual(verdictOf(findings), "pass", JSON.stringify(doc));
      assert.ok(findings.every((f) => typeof f.reason === "string"));
    }
  });

  it("reports a statement with both Action and NotAction as malformed and checks it no further", () => {
    const findings = checkPolicyDocument({ Statement: [{ Action: "s3:*", NotAction: "iam:*", Resource: "*" }] });
    assert.deepEqual(findings.map((f) => f.kind), ["malformed"]);
    assert.match(findings[0].reason, /both Action and NotAction/);
  });

  it("matches the config allowlist case-insensitively", () => {
    const doc = { Statement: [{ Action: "S3:LISTALLMYBUCKETS", Resource: "*" }] };
    assert.equal(verdictOf(checkPolicyDocument(doc)), "violation");
    assert.equal(verdictOf(checkPolicyDocument(doc, { allowedAccountLevelActions: ["s3:ListAllMyBuckets"] })), "pass");
  });
});

describe("policy rules: values not known at preview", () => {
  it("reports a document that is not known as unchecked", () => {
    const findings = checkPolicyDocument(new Unknown("policy"));
    assert.equal(verdictOf(findings), "unchecked");
    assert.match(findings[0].reason, /not known yet \(policy\)/);
  });

  it("checks the known parts: a wildcard action next to an unknown resource is a violation", () => {
    const findings = checkPolicyDocument({ Statement: [{ Action: "s3:*", Resource: [new Unknown("bucket.arn")] }] });
    assert.ok(findings.some((f) => f.kind === "violation" && f.rule === "wildcard-action"));
    assert.ok(findings.some((f) => f.kind === "unchecked" && /could name every bucket/.test(f.reason)));
  });

  it("cannot pass a named action on an unknown resource, nor fail it", () => {
    const findings = checkPolicyDocument({ Statement: [{ Action: "s3:GetObject", Resource: new Unknown("Resource") }] });
    assert.equal(verdictOf(findings), "unchecked");
  });

  it("checks the known resources when one of several is unknown", () => {
    const findings = checkPolicyDocument({
      Statement: [{ Action: "s3:GetObject", Resource: ["arn:aws:s3:::*", new Unknown("Resource[1]")] }],
    });
    assert.equal(verdictOf(findings), "violation");
  });

  it("does not report an unknown resource when the statement grants nothing in S3", () => {
    assert.equal(verdictOf(checkPolicyDocument({ Statement: [{ Action: "sqs:SendMessage", Resource: new Unknown("q") }] })), "pass");
    assert.equal(verdictOf(checkPolicyDocument({ Statement: [{ Effect: "Deny", Action: new Unknown("a"), Resource: "*" }] })), "pass");
  });

  it("turns violations into unchecked findings when Effect is not known", () => {
    const findings = checkPolicyDocument({ Statement: [{ Effect: new Unknown("Effect"), Action: "s3:*", Resource: "*" }] });
    assert.equal(verdictOf(findings), "unchecked");
    assert.match(findings[0].reason, /if it is "Allow"/);
  });
});

describe("policy rules: the S3 action list and the managed policy list", () => {
  it("lists every account-level action among the S3 actions", () => {
    assert.ok(S3_ACTIONS.includes("ListAllMyBuckets"));
    for (const a of ACCOUNT_LEVEL_S3_ACTIONS) assert.ok(S3_ACTIONS.includes(a), a);
  });

  it("records, for every listed managed policy, a document the rules find in violation", () => {
    for (const names of ["AmazonS3FullAccess", "AmazonS3ReadOnlyAccess", "AdministratorAccess", "PowerUserAccess"]) {
      assert.ok(WILDCARD_S3_MANAGED_POLICIES.some((p) => p.name === names), names);
    }
    for (const policy of WILDCARD_S3_MANAGED_POLICIES) {
      assert.equal(verdictOf(checkPolicyDocument(policy.document)), "violation", policy.name);
      assert.match(policy.source, /^https:\/\/docs\.aws\.amazon\.com\//);
    }
  });

  it("finds a listed managed policy by ARN in any partition, and nothing else", () => {
    assert.equal(findManagedPolicy("arn:aws:iam::aws:policy/AmazonS3FullAccess")?.name, "AmazonS3FullAccess");
    assert.equal(findManagedPolicy("arn:aws-cn:iam::aws:policy/AdministratorAccess")?.name, "AdministratorAccess");
    assert.equal(findManagedPolicy("arn:aws:iam::aws:policy/AWSLambda_FullAccess"), undefined);
    assert.equal(findManagedPolicy("arn:aws:iam::123456789012:policy/AmazonS3FullAccess"), undefined);
    assert.ok(isAwsManagedPolicyArn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"));
    assert.ok(!isAwsManagedPolicyArn("arn:aws:iam::123456789012:policy/copy"));
  });
});
