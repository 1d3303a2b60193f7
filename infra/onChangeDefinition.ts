/**
 * The on-change batch machine's definition, as a pure function of plain names and ARNs. One
 * execution per batch the pipe hands over (infra/onChangeBatches.ts):
 *
 * ```
 * Hold batch -> Take run slot (waits while every slot is taken) -> Sync batch (the sync machine, .sync)
 *   -> Give back run slot -> Batch synced
 * Sync batch fails -> Give back run slot after failure -> Return batch to dead-letter queue
 *   -> Notify batch failure -> Batch failed
 * ```
 *
 * Why a Standard workflow with a DynamoDB counter, and not an Express workflow: only a Standard
 * workflow can wait for the run it starts (`states:startExecution.sync:2`); Express workflows
 * support Request Response integrations only
 * (https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html), and run 5 minutes
 * at most. And no AWS part limits how many Standard executions a pipe starts: it starts them
 * asynchronously (`FIRE_AND_FORGET`; `REQUEST_RESPONSE` is not supported for Standard workflows,
 * https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeTargetStateMachineParameters.html).
 * So each batch takes a run slot first: one DynamoDB item whose `runs` counter a conditional
 * `UpdateItem` raises only while it is below the limit — atomic, so two batches can never both
 * take the last slot (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 * A batch that finds every slot taken retries with backoff: it waits, its events safe in its own
 * execution input. Every way out of the machine gives the slot back; only an operator's
 * StopExecution could leave one taken, and the item names the execution that holds it.
 * It is the smallest reliable part that does this natively, without a Lambda function; an S3
 * object with conditional writes would need one to read, compare and expire the lease.
 */
import {
  fail,
  retryWithBackoff,
  snsPublish,
  subMachine,
  succeed,
  type PayloadTemplate,
  type Retrier,
  type StateMachineDefinition,
  type TaskState,
} from "./asl";
import type { SyncRequest } from "../model/contract";

export interface OnChangeDefinitionArgs {
  /** The sync machine every batch run is an execution of. */
  syncMachineArn: string;
  /** The stack's request; a batch run adds the batch (`changes`) and its own delete limit. */
  request: SyncRequest;
  /** Most objects a batch run deletes without approval (a count). */
  maxDeletes: number;
  /** The DynamoDB table that keeps the run slots. */
  runSlotsTableName: string;
  /** Most batch runs at once. */
  maxConcurrentRuns: number;
  /** Where a failed batch's events go (an SQS queue URL). */
  deadLetterQueueUrl: string;
  /** Where a failed batch is announced. */
  notificationTopicArn: string;
}

export const ON_CHANGE_STATE_NAMES = {
  holdBatch: "Hold batch",
  takeRunSlot: "Take run slot",
  syncBatch: "Sync batch",
  giveBackRunSlot: "Give back run slot",
  batchSynced: "Batch synced",
  giveBackRunSlotAfterFailure: "Give back run slot after failure",
  returnBatch: "Return batch to dead-letter queue",
  notifyBatchFailure: "Notify batch failure",
  batchFailed: "Batch failed",
} as const;

const S = ON_CHANGE_STATE_NAMES;

/** The error a failed batch ends with. */
export const BATCH_FAILED = "BucketSync.BatchFailed";

/** Room kept in the batch's state for the Tasks that wrap its request (see Hold batch). */
const HEADROOM = "-".repeat(256);

/** The key of the one item that counts the runs. */
export const RUN_SLOTS_ITEM = "on-change-runs";

/** Transient errors of the DynamoDB and SQS integrations, retried quickly. */
const SERVICE_ERRORS = ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException", "DynamoDB.InternalServerErrorException", "SQS.SdkClientException", "States.TaskFailed"];

/**
 * How long a batch waits for a slot: up to about a day, polling at most once a minute (one state
 * transition each). A run longer than that leaves its successors failed into the dead-letter
 * queue, where the alarm calls someone; none of their keys is lost.
 */
const SLOT_WAIT: Retrier = retryWithBackoff(["DynamoDB.ConditionalCheckFailedException"], {
  intervalSeconds: 5,
  maxAttempts: 1500,
  maxDelaySeconds: 60,
  backoffRate: 1.5,
});

/** The `UpdateItem` that changes the counter, and records or forgets the execution holding a slot. */
function slotUpdate(tableName: string, take: boolean, maxConcurrentRuns: number): TaskState["Parameters"] {
  return {
    TableName: tableName,
    Key: { id: { S: RUN_SLOTS_ITEM } },
    ExpressionAttributeNames: { "#runs": "runs", "#holder.$": "$$.Execution.Name" },
    ...(take
      ? {
          UpdateExpression: "ADD #runs :one SET #holder = :since",
          ConditionExpression: "attribute_not_exists(#runs) OR #runs < :max",
          ExpressionAttributeValues: { ":one": { N: "1" }, ":max": { N: String(maxConcurrentRuns) }, ":since": { "S.$": "$$.Execution.StartTime" } },
        }
      : {
          // Only the holder gives back, once: a retried give-back finds its name gone.
          UpdateExpression: "ADD #runs :minusOne REMOVE #holder",
          ConditionExpression: "attribute_exists(#holder)",
          ExpressionAttributeValues: { ":minusOne": { N: "-1" } },
        }),
  };
}

/** Builds the definition. Pure. @throws if a number is out of range. */
export function buildOnChangeDefinition(args: OnChangeDefinitionArgs): StateMachineDefinition {
  if (!Number.isInteger(args.maxConcurrentRuns) || args.maxConcurrentRuns < 1) {
    throw new Error(`buildOnChangeDefinition: maxConcurrentRuns must be a positive integer, got ${args.maxConcurrentRuns}`);
  }
  if (!Number.isInteger(args.maxDeletes) || args.maxDeletes < 0) {
    throw new Error(`buildOnChangeDefinition: maxDeletes must be a count, got ${args.maxDeletes}`);
  }
  const update = "arn:aws:states:::dynamodb:updateItem";
  const giveBack = (next: string): TaskState => ({
    Type: "Task",
    Resource: update,
    Parameters: slotUpdate(args.runSlotsTableName, false, args.maxConcurrentRuns),
    ResultPath: null,
    TimeoutSeconds: 60,
    Retry: [retryWithBackoff(SERVICE_ERRORS, { intervalSeconds: 2, maxAttempts: 6, maxDelaySeconds: 60 })],
    // A slot already given back (a retry after a lost answer) is not an error.
    Catch: [{ ErrorEquals: ["DynamoDB.ConditionalCheckFailedException"], Next: next, ResultPath: null }],
    Next: next,
  });
  // The request of the batch run. Its keys come from the batch (validate-input), a routine success
  // sends no message, and the delete limit is a count the batch's own deletions lower further.
  const { keys: _keys, keysEncoding: _encoding, ...stackRequest } = args.request;
  const input = {
    ...stackRequest,
    maxDeletes: args.maxDeletes,
    notifyOnSuccess: false,
    "changes.$": "$",
    // Links the run to this execution in the console (nested executions).
    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
  };

  const states = {
    // The pipe hands over a JSON array of up to 262,144 characters, and every state's data is
    // limited to 256 KiB (States.DataLimitExceeded, which no Catch handles). So the run's whole
    // input is built first, before a slot is taken: a batch too large to wrap fails here, holding
    // nothing (the failed-batches alarm calls someone; its events are in this execution's input).
    // The headroom keeps the room `Sync batch` needs to wrap the request; no later state adds
    // more than it (errors are not kept: ResultPath null).
    [S.holdBatch]: { Type: "Pass" as const, Parameters: { request: JSON.parse(JSON.stringify(input)) as PayloadTemplate, headroom: HEADROOM }, Next: S.takeRunSlot },
    [S.takeRunSlot]: {
      Type: "Task" as const,
      Comment: `At most ${args.maxConcurrentRuns} batch run(s) at once: waits while every slot is taken.`,
      Resource: update,
      Parameters: slotUpdate(args.runSlotsTableName, true, args.maxConcurrentRuns),
      ResultPath: null,
      TimeoutSeconds: 60,
      Retry: [SLOT_WAIT, retryWithBackoff(SERVICE_ERRORS.filter((e) => e !== "States.TaskFailed"), { intervalSeconds: 2, maxAttempts: 6, maxDelaySeconds: 60 })],
      Catch: [{ ErrorEquals: ["States.ALL"], Next: S.returnBatch, ResultPath: null }],
      Next: S.syncBatch,
    },
    [S.syncBatch]: {
      Type: "Task" as const,
      Comment: "One run of the sync machine over the batch's keys; waits for it to end.",
      Resource: "arn:aws:states:::states:startExecution.sync:2",
      Parameters: { StateMachineArn: args.syncMachineArn, "Input.$": "$.request" },
      ResultPath: null,
      // The run's own execution (linked from this one) says why it failed; keeping its error here
      // could push the state past 256 KiB.
      Catch: [{ ErrorEquals: ["States.ALL"], Next: S.giveBackRunSlotAfterFailure, ResultPath: null }],
      Next: S.giveBackRunSlot,
    },
    [S.giveBackRunSlot]: giveBack(S.batchSynced),
    [S.batchSynced]: succeed(),
    [S.giveBackRunSlotAfterFailure]: giveBack(S.returnBatch),
    // No key is lost: a failed batch's events go to the dead-letter queue, whose alarm calls
    // someone; redriving them (SQS "start DLQ redrive") runs them again.
    [S.returnBatch]: {
      Type: "Task" as const,
      Resource: "arn:aws:states:::sqs:sendMessage",
      Parameters: {
        QueueUrl: args.deadLetterQueueUrl,
        "MessageBody.$": "States.JsonToString($.request.changes)",
        MessageAttributes: {
          execution: { DataType: "String", "StringValue.$": "$$.Execution.Name" },
        },
      },
      ResultPath: null,
      TimeoutSeconds: 60,
      Retry: [retryWithBackoff(SERVICE_ERRORS, { intervalSeconds: 2, maxAttempts: 6, maxDelaySeconds: 60 })],
      Catch: [{ ErrorEquals: ["States.ALL"], Next: S.notifyBatchFailure, ResultPath: null }],
      Next: S.notifyBatchFailure,
    },
    [S.notifyBatchFailure]: snsPublish(
      {
        topicArn: args.notificationTopicArn,
        subject: "bucket-sync: on-change batch failed",
        message: {
          "execution.$": "$$.Execution.Name",
          "events.$": "States.ArrayLength($.request.changes)",
          error: BATCH_FAILED,
          cause: "The batch's sync run failed, or no run slot came free; this execution's history and the run it started say why.",
          deadLetterQueue: args.deadLetterQueueUrl,
          keys: "The batch's events, every key named, are in the dead-letter queue (and in this execution's input). Redrive them once the cause is fixed; the next scheduled full run syncs them in any case.",
        },
        timeoutSeconds: 60,
        catchTo: S.batchFailed,
      },
      { next: S.batchFailed },
    ),
    [S.batchFailed]: fail(BATCH_FAILED, "The batch's events are in the dead-letter queue; redrive them once the cause is fixed."),
  };
  return {
    Comment: "bucket-sync on change: one sync run per batch of object events, at most a fixed number at once.",
    ...subMachine(S.holdBatch, states),
  };
}
