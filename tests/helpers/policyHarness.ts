/**
 * The policy evaluation the specs use: offline-pulumi/policyRuntime.ts (product code, which
 * `bucket-sync preview` uses too), under the names the policy specs have always used.
 */
export {
  evaluatePolicies as runPolicies,
  isBlocking,
  policyResources,
  UNKNOWN,
  type PolicyEvaluationOptions as HarnessOptions,
  type PolicyInputResource as HarnessResource,
  type PolicyViolation as HarnessViolation,
} from "../../offline-pulumi/policyRuntime";
