/**
 * The roles a sync stack deploys, as plain data: each handler's role and the state machine's role,
 * with their ARNs and identity policies. The SyncMachine component creates them on AWS; the local
 * runtime's IAM enforcement (local-stepfunctions/iam.ts) runs the handlers under the very same
 * documents. One function builds both, so what a local run enforces is what the stack deploys.
 */
import { HANDLER_NAMES, type HandlerName, type SyncMode } from "../model/contract";
import { REPORT_PREFIX } from "../model/settings";
import { HANDLER_SPECS } from "./handlerSpecs";
import { stateMachinePolicy, type HandlerPolicyArgs, type PolicyDocument } from "./iamDocuments";
import {
  arns,
  functionLogGroupName,
  functionName,
  functionRoleName,
  notificationTopicName,
  stateMachineName,
  type AwsScope,
} from "./names";

/** What a stack's roles are scoped to, as the SyncMachine component receives it. */
export interface StackRolesArgs {
  /** `<project>-<stack>` (infra/names.ts `nameStem`). */
  nameStem: string;
  scope: AwsScope;
  source: { bucket: string; prefix: string };
  destination: { bucket: string; prefix: string };
  reportsBucket: string;
  /** @default REPORT_PREFIX.default */
  reportPrefix?: string;
  /** @default "backup" */
  mode?: SyncMode;
  /** KMS key of the stack's buckets (SSE-KMS). */
  kmsKeyArn?: string;
  /** KMS key of the source bucket, when not `kmsKeyArn`. */
  sourceKmsKeyArn?: string;
}

/** A role: its ARN and its one inline policy. */
export interface RoleDocument {
  arn: string;
  policy: PolicyDocument;
}

/** Every role of a sync stack. */
export interface StackRoles {
  handlers: Record<HandlerName, RoleDocument>;
  /** The state machine's role (it has no fixed name on AWS; locally it is `<stem>-state-machine`). */
  machine: RoleDocument;
  /** The ARNs the machine's role is scoped to, as the definition names them. */
  functionArns: Record<HandlerName, string>;
  notificationTopicArn: string;
  stateMachineArn: string;
}

/** The scope of one handler's role (HANDLER_SPECS[h].policy's argument). */
export function handlerPolicyArgs(args: StackRolesArgs, handler: HandlerName): HandlerPolicyArgs {
  const { scope } = args;
  return {
    source: { bucketArn: arns.bucket(scope.partition, args.source.bucket), prefix: args.source.prefix },
    destination: { bucketArn: arns.bucket(scope.partition, args.destination.bucket), prefix: args.destination.prefix },
    reports: { bucketArn: arns.bucket(scope.partition, args.reportsBucket), prefix: args.reportPrefix ?? REPORT_PREFIX.default },
    mode: args.mode ?? "backup",
    kmsKeyArns: args.kmsKeyArn ? [args.kmsKeyArn] : [],
    sourceKmsKeyArn: args.sourceKmsKeyArn && args.sourceKmsKeyArn !== args.kmsKeyArn ? args.sourceKmsKeyArn : undefined,
    logGroupStreamsArn: arns.logGroupStreams(scope, functionLogGroupName(functionName(args.nameStem, handler))),
  };
}

/** Every role of the stack with its policy, from the stack's names and scope. */
export function stackRoles(args: StackRolesArgs): StackRoles {
  const { scope, nameStem } = args;
  const machineName = stateMachineName(nameStem);
  const functionArns = Object.fromEntries(
    HANDLER_NAMES.map((h) => [h, arns.lambdaFunction(scope, functionName(nameStem, h))]),
  ) as Record<HandlerName, string>;
  const handlers = Object.fromEntries(
    HANDLER_NAMES.map((h) => [
      h,
      {
        arn: arns.role(scope.partition, scope.accountId, functionRoleName(nameStem, h)),
        policy: HANDLER_SPECS[h].policy(handlerPolicyArgs(args, h)),
      },
    ]),
  ) as Record<HandlerName, RoleDocument>;
  const notificationTopicArn = arns.snsTopic(scope, notificationTopicName(nameStem));
  const stateMachineArn = arns.stateMachine(scope, machineName);
  return {
    handlers,
    machine: {
      arn: arns.role(scope.partition, scope.accountId, `${nameStem}-state-machine`),
      policy: stateMachinePolicy({
        functionArns: HANDLER_NAMES.map((h) => functionArns[h]),
        notificationTopicArn,
        stateMachineArn,
        executionsArn: arns.executions(scope, machineName),
        childExecutionsArn: arns.childExecutions(scope, machineName),
        reports: { bucketArn: arns.bucket(scope.partition, args.reportsBucket), prefix: args.reportPrefix ?? REPORT_PREFIX.default },
        kmsKeyArns: args.kmsKeyArn ? [args.kmsKeyArn] : [],
      }),
    },
    functionArns,
    notificationTopicArn,
    stateMachineArn,
  };
}
