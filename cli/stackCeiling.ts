/**
 * The request ceiling of a stack, for `bucket-sync sync --stack <stack>`: what that stack's
 * deployed validate-input would let a request ask, read from Pulumi.yaml and Pulumi.<stack>.yaml
 * with the program's own config loader, so a user sees locally what the machine would refuse.
 *
 * The stack's buckets are named on AWS (after an account id, or another stack's output) and a
 * local run syncs buckets of its own endpoint: the buckets the user names stand for the stack's.
 * Everything else — prefixes, mode, delete limit, bounds — is the stack's. Loaded from the
 * sources, as `preview` loads the program (cli/sources.ts).
 */
import type { RequestCeiling } from "../model/contract";
import type * as Config from "../infra/config";
import type * as Program from "../offline-pulumi/program";
import type * as SyncRequestModule from "../infra/syncRequest";
import { projectStacks, requireSource } from "./sources";

/** The ceiling of `stack`, with the buckets of this run standing for its own. */
export function stackCeiling(stack: string, buckets: { source: string; destination: string }): RequestCeiling {
  const stacks = projectStacks();
  if (!stacks.includes(stack)) throw new Error(`--stack: no stack "${stack}" (no Pulumi.${stack}.yaml); stacks: ${stacks.join(", ")}`);
  const program = requireSource<typeof Program>("offline-pulumi/program");
  const { parseStackConfig } = requireSource<typeof Config>("infra/config");
  const { buildRequestCeiling, buildSyncRequest } = requireSource<typeof SyncRequestModule>("infra/syncRequest");
  const project = program.projectName();
  const config = parseStackConfig(program.stackConfig(stack), { project, stack, organization: program.MOCK_ORGANIZATION });
  if (!config.syncMachine) {
    throw new Error(`--stack ${stack}: that stack has no sync machine (${project}:syncMachine is false), so no ceiling; name the stack that syncs`);
  }
  const request = buildSyncRequest(config, { sourceBucket: buckets.source, destinationBucket: buckets.destination });
  return buildRequestCeiling(request, config.onChangeMaxDeletes);
}
