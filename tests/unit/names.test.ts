/** Physical names and ARNs: pure functions of project, stack, config and account. */
import { strict as assert } from "node:assert";
import { HANDLER_NAMES } from "../../model/contract";
import {
  arns,
  bucketName,
  consoleHost,
  functionName,
  functionNames,
  LONGEST_BUCKET_SUFFIX,
  longestFunctionName,
  nameStem,
  reportsBucketName,
  stateMachineConsoleUrl,
  stateMachineLogGroupName,
} from "../../infra/names";

const SCOPE = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };

describe("names", () => {
  it("names buckets after the account unless a prefix is configured", () => {
    assert.equal(bucketName({ project: "bucket-sync", stack: "prod", accountId: "123456789012" }), "bucket-sync-123456789012-prod");
    assert.equal(bucketName({ project: "bucket-sync", stack: "prod", accountId: "1", bucketNamePrefix: "acme" }), "acme-prod");
    assert.equal(reportsBucketName({ project: "p", stack: "prod", accountId: "1" }), `p-1-prod${LONGEST_BUCKET_SUFFIX}`);
  });

  it("names one function per handler from the stem, none longer than longestFunctionName", () => {
    const stem = nameStem("bucket-sync", "prod");
    const names = functionNames(stem, HANDLER_NAMES);
    assert.deepEqual(Object.keys(names), [...HANDLER_NAMES]);
    for (const handler of HANDLER_NAMES) {
      assert.equal(names[handler], functionName(stem, handler));
      assert.ok(names[handler].startsWith(`${stem}-`));
      assert.ok(names[handler].length <= longestFunctionName(stem).length, `${names[handler]} is longer than the length checks assume`);
    }
  });

  it("builds ARNs from names, so documents are known before the resources exist", () => {
    assert.equal(arns.bucket("aws-us-gov", "b"), "arn:aws-us-gov:s3:::b");
    assert.equal(arns.lambdaFunction(SCOPE, "f"), "arn:aws:lambda:eu-west-1:123456789012:function:f");
    assert.equal(arns.stateMachine(SCOPE, "m"), "arn:aws:states:eu-west-1:123456789012:stateMachine:m");
    assert.equal(arns.executions(SCOPE, "m"), "arn:aws:states:eu-west-1:123456789012:execution:m:*");
    assert.equal(arns.childExecutions(SCOPE, "m"), "arn:aws:states:eu-west-1:123456789012:execution:m/*");
    assert.equal(arns.logGroupStreams(SCOPE, stateMachineLogGroupName("s")), "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/s:*");
  });

  it("links to the console of the stack's partition", () => {
    assert.equal(consoleHost("aws"), "console.aws.amazon.com");
    assert.equal(consoleHost("aws-cn"), "console.amazonaws.cn");
    assert.equal(consoleHost("aws-us-gov"), "console.amazonaws-us-gov.com");
    const arn = arns.stateMachine(SCOPE, "m");
    assert.equal(
      stateMachineConsoleUrl(SCOPE, arn),
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/${encodeURIComponent(arn)}`,
    );
  });
});
