/**
 * The on-change chain, run on this machine: object events -> the rule's pattern -> a buffer queue
 * -> batches as the pipe forms them -> the batch machine's very definition (run slots, the sync
 * run, the dead-letter queue) -> sync runs through the local runtime (runLocalSync). What AWS does
 * between the parts is modelled here, each part by the same declaration the stack deploys: the
 * rule's event pattern (`onChangeEventPattern`, given by the caller), the pipe's record template
 * (`ON_CHANGE_RECORD_TEMPLATE`) and its batch limits, and `buildOnChangeDefinition`, interpreted by
 * aws-local-stepfunctions with its Tasks served here: the DynamoDB run-slot counter by a counter
 * with the same condition, `startExecution.sync` by a local sync run, SQS and SNS by lists.
 *
 * Used by `bucket-sync watch` and by the specs; nothing here polls a store.
 */
import "core-js/actual/promise/with-resolvers";

import { randomUUID } from "node:crypto";
import { StateMachine, type StateMachineDefinition as InterpreterDefinition } from "aws-local-stepfunctions";
import type { SyncRequest } from "../model/contract";
import { ON_CHANGE_LIMITS, ON_CHANGE_RECORD_TEMPLATE, type OnChangeRecord } from "../model/onChange";
import { buildOnChangeDefinition, ON_CHANGE_STATE_NAMES as S } from "../infra/onChangeDefinition";

/** A message in the buffer queue: the event as the rule delivered it. */
export interface BufferedMessage {
  messageId: string;
  /** The SQS message body: the EventBridge event, as JSON text. */
  body: string;
}

/** What one sync run of a batch reported. */
export interface BatchRunOutcome {
  status: "SUCCEEDED" | "FAILED";
  error?: string;
  cause?: string;
  /** Anything the caller wants to keep about the run (its summary, its report). */
  details?: unknown;
}

/** One batch execution, as it ended. */
export interface BatchExecution {
  name: string;
  events: number;
  status: "SUCCEEDED" | "FAILED";
  error?: string;
  /** The sync run, when one ran. */
  run?: BatchRunOutcome;
}

export interface OnChangeChainOptions {
  /** The stack's request (the sync run's settings and buckets). */
  request: SyncRequest;
  /**
   * The rule's event pattern, as the stack deploys it: `onChangeEventPattern(sourceBucket, "")`
   * (infra/triggers.ts; passed in so that this module loads without Pulumi).
   */
  eventPattern: Record<string, unknown>;
  /** onChangeMaxDeletes. */
  maxDeletes: number;
  /** onChangeMaxBatchKeys: most events in one batch. */
  maxBatchKeys: number;
  /** onChangeMaxConcurrentRuns. */
  maxConcurrentRuns: number;
  /** Runs one sync-machine execution with this input (runLocalSync, for the CLI and specs). */
  runSync: (input: SyncRequest) => Promise<BatchRunOutcome>;
  /** How long a batch waiting for a run slot waits between tries, in ms. @default 200 */
  slotRetryMs?: number;
}

/** EventBridge's content filters, the subset the on-change pattern uses: values, `prefix`, `anything-but`. */
export function matchesEventPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  for (const [field, expected] of Object.entries(pattern)) {
    const value = (event as Record<string, unknown>)[field];
    if (Array.isArray(expected)) {
      if (!expected.some((rule) => matchesValue(rule, value))) return false;
    } else if (typeof expected === "object" && expected !== null) {
      if (!matchesEventPattern(expected as Record<string, unknown>, value)) return false;
    } else throw new Error(`event pattern field ${field}: expected a list or an object`);
  }
  return true;
}

function matchesValue(rule: unknown, value: unknown): boolean {
  if (typeof rule !== "object" || rule === null) return value === rule;
  const [operator, operand] = Object.entries(rule)[0] ?? [];
  if (operator === "prefix") return typeof value === "string" && value.startsWith(String(operand));
  // anything-but matches a present value that is none of the listed ones (and, as in EventBridge, a missing one)
  if (operator === "anything-but") return !(operand as unknown[]).includes(value);
  throw new Error(`event pattern operator ${JSON.stringify(operator)} is not modelled locally`);
}

/**
 * A pipe's input template applied to one SQS record: each unquoted `<$.path>` becomes the JSON of
 * the value at that path, the body read as JSON (null when absent).
 */
export function applyRecordTemplate(template: string, message: BufferedMessage): OnChangeRecord {
  let body: unknown;
  try {
    body = JSON.parse(message.body);
  } catch {
    body = message.body;
  }
  const record = { messageId: message.messageId, body } as Record<string, unknown>;
  const text = template.replace(/<\$\.([^>]+)>/g, (_, path: string) => {
    let value: unknown = record;
    for (const segment of path.split(".")) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[segment] : undefined;
    return JSON.stringify(value ?? null);
  });
  return JSON.parse(text) as OnChangeRecord;
}

/** The whole chain, with its queues open to inspection. */
export class OnChangeChain {
  /** Events the rule buffered and no batch took yet. */
  readonly buffer: BufferedMessage[] = [];
  /** Messages of failed batches (their events, as JSON) and events the rule could not place. */
  readonly deadLetters: Array<{ body: string; execution?: string }> = [];
  /** Every batch execution, in the order they ended. */
  readonly executions: BatchExecution[] = [];
  /** Failure notifications of batches. */
  readonly notifications: unknown[] = [];
  /** Events the rule did not match (lifecycle expirations, other buckets, other event types). */
  ruleSkipped = 0;
  /** Most sync runs that were running at once. */
  maxRunsAtOnce = 0;

  private slotsTaken = 0;
  private runsNow = 0;
  private readonly pattern: Record<string, unknown>;
  private readonly definition: InterpreterDefinition;

  constructor(private readonly options: OnChangeChainOptions) {
    this.pattern = options.eventPattern;
    this.definition = buildOnChangeDefinition({
      syncMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:bucket-sync",
      request: options.request,
      maxDeletes: options.maxDeletes,
      runSlotsTableName: "bucket-sync-on-change-run-slots",
      maxConcurrentRuns: options.maxConcurrentRuns,
      deadLetterQueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/bucket-sync-on-change-dlq",
      notificationTopicArn: "arn:aws:sns:us-east-1:000000000000:bucket-sync-notifications",
    }) as unknown as InterpreterDefinition;
  }

  /** An event on the bus: buffered when the rule matches it. Returns whether it was. */
  publish(event: unknown): boolean {
    if (!matchesEventPattern(this.pattern, event)) {
      this.ruleSkipped++;
      return false;
    }
    this.enqueue(JSON.stringify(event));
    return true;
  }

  /** A message put into the buffer queue as it is (what a malformed message would be). */
  enqueue(body: string): void {
    this.buffer.push({ messageId: randomUUID(), body });
  }

  /**
   * Takes the next batch as the pipe would: at most `maxBatchKeys` events, and no more than fit in
   * a Step Functions target's 262,144 characters.
   */
  takeBatch(): OnChangeRecord[] {
    const batch: OnChangeRecord[] = [];
    let chars = 2;
    while (this.buffer.length > 0 && batch.length < this.options.maxBatchKeys) {
      const record = applyRecordTemplate(ON_CHANGE_RECORD_TEMPLATE, this.buffer[0]);
      const size = JSON.stringify(record).length + 1;
      if (batch.length > 0 && chars + size > ON_CHANGE_LIMITS.targetPayloadChars) break;
      this.buffer.shift();
      batch.push(record);
      chars += size;
    }
    return batch;
  }

  /**
   * The pipe's window ends: every buffered event is cut into batches, and each batch starts its
   * batch execution at once (as `FIRE_AND_FORGET` does); the run slots hold the runs back.
   * Resolves when every execution has ended.
   */
  async flush(): Promise<BatchExecution[]> {
    const started: Array<Promise<BatchExecution>> = [];
    while (this.buffer.length > 0) started.push(this.execute(this.takeBatch()));
    return Promise.all(started);
  }

  /** One execution of the batch machine's definition over one batch. */
  async execute(batch: OnChangeRecord[]): Promise<BatchExecution> {
    const name = `batch-${randomUUID()}`;
    let run: BatchRunOutcome | undefined;
    const conditionalCheckFailed = () => Object.assign(new Error("The conditional request failed"), { name: "DynamoDB.ConditionalCheckFailedException" });
    const machine = new StateMachine(structuredClone(this.definition), { validationOptions: { noValidate: true } });
    const execution = machine.run(batch as never, {
      overrides: {
        taskResourceLocalHandlers: {
          [S.takeRunSlot]: () => {
            if (this.slotsTaken >= this.options.maxConcurrentRuns) throw conditionalCheckFailed();
            this.slotsTaken++;
            return {};
          },
          [S.syncBatch]: async (input) => {
            const { Input } = input as unknown as { Input: SyncRequest };
            this.runsNow++;
            this.maxRunsAtOnce = Math.max(this.maxRunsAtOnce, this.runsNow);
            try {
              run = await this.options.runSync(Input);
            } finally {
              this.runsNow--;
            }
            // startExecution.sync fails the Task when the run fails (States.TaskFailed).
            if (run.status !== "SUCCEEDED") throw Object.assign(new Error(run.cause ?? "the run failed"), { name: "States.TaskFailed" });
            return { Status: "SUCCEEDED" };
          },
          [S.giveBackRunSlot]: () => this.giveBack(),
          [S.giveBackRunSlotAfterFailure]: () => this.giveBack(),
          [S.returnBatch]: (input) => {
            const message = input as unknown as { MessageBody: string; MessageAttributes: Record<string, { StringValue: string }> };
            this.deadLetters.push({ body: message.MessageBody, execution: message.MessageAttributes.execution.StringValue });
            return { MessageId: randomUUID() };
          },
          [S.notifyBatchFailure]: (input) => {
            this.notifications.push((input as unknown as { Message: unknown }).Message);
            return { MessageId: randomUUID() };
          },
        },
        retryIntervalOverrides: { [S.takeRunSlot]: this.options.slotRetryMs ?? 200 },
      },
      context: { Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:bucket-sync-on-change-batch:${name}`, Name: name, StartTime: new Date().toISOString() } } as never,
    });
    let ended: BatchExecution;
    try {
      await execution.result;
      ended = { name, events: batch.length, status: "SUCCEEDED", run };
    } catch (err) {
      const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      ended = { name, events: batch.length, status: "FAILED", error: inner instanceof Error ? inner.name : String(inner), run };
    }
    this.executions.push(ended);
    return ended;
  }

  private giveBack(): Record<string, never> {
    // The give-back's condition: only a holder gives back.
    if (this.slotsTaken <= 0) throw Object.assign(new Error("The conditional request failed"), { name: "DynamoDB.ConditionalCheckFailedException" });
    this.slotsTaken--;
    return {};
  }
}

/**
 * The EventBridge event S3 sends for a change ("Amazon S3 Event Notifications with EventBridge",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): the fields the chain
 * reads, the key URL-encoded as S3 writes it.
 */
export function s3ObjectEvent(args: { bucket: string; key: string; type: "Object Created" | "Object Deleted"; reason?: string; account?: string; time?: Date }): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": args.type,
    source: "aws.s3",
    account: args.account ?? "000000000000",
    time: (args.time ?? new Date()).toISOString(),
    region: "us-east-1",
    resources: [`arn:aws:s3:::${args.bucket}`],
    detail: {
      version: "0",
      bucket: { name: args.bucket },
      object: { key: encodeURIComponent(args.key).replace(/%2F/g, "/").replace(/%20/g, "+") },
      "request-id": randomUUID(),
      requester: "000000000000",
      reason: args.reason ?? (args.type === "Object Created" ? "PutObject" : "DeleteObject"),
    },
  };
}
