/**
 * The sync machine's Step Functions definition, as a pure function of plain ARNs.
 *
 * ```
 * Validate input -> Plan partitions -> Copy partitions (Map: Copy range until done)
 *   -> Summarize copy -> Delete decision
 *        no-deletes, blocked-by-failures -> Report
 *        within-limit                    -> Delete partitions
 *        over-limit  -> Request delete approval (human) -> Delete partitions
 *   Delete partitions (Map: Delete range until done) -> Summarize delete -> Report
 *   Report (Write report, Publish result unless a quiet success) -> Check outcome -> Sync succeeded | Copies failed | Objects failed
 *     (a summary of any other shape -> Unexpected summary)
 * Any error -> Notify failure -> Sync failed
 * ```
 *
 * Data between states stays small (Step Functions limits a state's data to 256 KiB, and
 * `States.DataLimitExceeded` cannot be caught): the state holds only `job`, the plan's location,
 * and then just the summary. The plan itself is an object beside the run's records, which the
 * copy Map reads through its ItemReader and summarize reads to know which records to expect. Per-partition results never enter it: the sync-range call that finishes a
 * partition writes its result to the run records beside the run's report
 * (handlers/engine/runRecords.ts), each Map iteration ends with an empty object, the Maps discard
 * their output (ResultPath null), and `summarize` reads the records of the run
 * (`$$.Execution.Name`) for the partitions of the plan. JSONPath only: the local runner
 * (local-stepfunctions/runner.ts) executes this very definition, and it does not implement JSONata.
 *
 * Every path is definite: `$` or `$$`, then field names and numeric indexes; no `[*]`, `..`,
 * filters or slices. Step Functions evaluates paths with Jayway JsonPath ("Paths",
 * https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html), where
 * an indefinite path such as `$.items[*].id` always yields a list; interpreters of other lineages
 * (LocalStack's) yield a bare value over a one-element list, so a definition
 * that projects would behave differently there. The arrays a state needs are carried by the
 * handlers instead (PartitionPlan.partitionIds, SyncSummary.deletePartitionIds).
 */
import { HANDLER_NAMES, type HandlerName, type SyncPhase } from "../model/contract";
import { taskTimeoutSeconds } from "./handlerSpecs";
import {
  booleanEquals,
  catchAll,
  choice,
  fail,
  failFromPath,
  lambdaInvoke,
  reshape,
  snsPublish,
  stringEquals,
  subMachine,
  succeed,
  type ChoiceCondition,
  type ItemReader,
  type MapState,
  S3_GET_OBJECT,
  type PayloadTemplate,
  type State,
  type StateMachineDefinition,
  type SubMachine,
} from "./asl";

export type { StateMachineDefinition } from "./asl";

export interface DefinitionArgs {
  /** Lambda function ARN per handler name (HANDLER_NAMES in model/contract.ts). */
  functionArns: Record<HandlerName, string>;
  /** SNS topic for results, failures and delete-approval requests. */
  notificationTopicArn: string;
  /** Most partitions synced at once by each Map. @default 16 */
  maxConcurrency?: number;
  /**
   * Timeout of the sync-range function (its own time budget is shorter); like every Lambda Task,
   * its Tasks wait TASK_TIMEOUT_MARGIN_SECONDS (infra/handlerSpecs.ts) longer. @default 900
   */
  syncRangeTimeoutSeconds?: number;
}

/**
 * Every state name, one per state, unique across the whole machine (nested ones included): the
 * local runner keys its overrides by name, and tests and docs refer to states through these.
 */
export const STATE_NAMES = {
  validateInput: "Validate input",
  planPartitions: "Plan partitions",
  copyPartitions: "Copy partitions",
  copyRange: "Copy range",
  copyRangeDone: "Copy range done?",
  continueCopyRange: "Continue copy range",
  keepCopyResult: "Keep copy result",
  summarizeCopy: "Summarize copy",
  deleteDecision: "Delete decision",
  unexpectedDeleteDecision: "Unexpected delete decision",
  requestDeleteApproval: "Request delete approval",
  deletePartitions: "Delete partitions",
  deleteRange: "Delete range",
  deleteRangeDone: "Delete range done?",
  continueDeleteRange: "Continue delete range",
  keepDeleteResult: "Keep delete result",
  summarizeDelete: "Summarize delete",
  report: "Report",
  writeReport: "Write report",
  announceResult: "Announce result?",
  publishResult: "Publish result",
  quietSuccess: "Success not announced",
  checkOutcome: "Check outcome",
  syncSucceeded: "Sync succeeded",
  unexpectedSummary: "Unexpected summary",
  copiesFailed: "Copies failed",
  objectsFailed: "Objects failed",
  notifyFailure: "Notify failure",
  syncFailed: "Sync failed",
} as const;

const S = STATE_NAMES;

/** Timeouts of the Tasks that call no function, in seconds. Those that do take theirs from HANDLER_SPECS. */
const TIMEOUTS = {
  publish: 60,
  /** How long a delete-approval request waits for an answer before the run fails. */
  approval: 24 * 60 * 60,
} as const;

/** Where the summary keeps its count of failed objects. */
const FAILED_COUNT = "$.summary.stats.failed";
/** Guards before a numeric comparison on FAILED_COUNT: present and a number. */
function failedCountIs(): ChoiceCondition[] {
  return [
    { Variable: FAILED_COUNT, IsPresent: true },
    { Variable: FAILED_COUNT, IsNumeric: true },
  ];
}

/** The error an operator's denial sends (it is in the denial command of the approval message). */
export const DELETES_DENIED = "BucketSync.DeletesDenied";

/**
 * Builds the definition. Pure: same arguments, same object; serialize it with `JSON.stringify`.
 * @throws if an ARN is missing or a number is out of range.
 */
export function buildDefinition(args: DefinitionArgs): StateMachineDefinition {
  const maxConcurrency = args.maxConcurrency ?? 16;
  const syncRangeTimeoutSeconds = args.syncRangeTimeoutSeconds ?? 900;
  for (const name of HANDLER_NAMES) {
    if (!args.functionArns?.[name]) throw new Error(`buildDefinition: functionArns["${name}"] is missing`);
  }
  if (!args.notificationTopicArn) throw new Error("buildDefinition: notificationTopicArn is missing");
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new Error(`buildDefinition: maxConcurrency must be a positive integer, got ${maxConcurrency}`);
  }
  if (!Number.isInteger(syncRangeTimeoutSeconds) || syncRangeTimeoutSeconds < 1) {
    throw new Error(
      `buildDefinition: syncRangeTimeoutSeconds must be a positive integer, got ${syncRangeTimeoutSeconds}`,
    );
  }
  const arn = args.functionArns;
  const topicArn = args.notificationTopicArn;
  /** Each Lambda Task waits its function's timeout (HANDLER_SPECS) plus the margin. */
  const taskTimeout = (handler: HandlerName): number => taskTimeoutSeconds(handler, { syncRangeTimeoutSeconds });

  const states: Record<string, State> = {
    // State data: the SyncRequest (execution input) -> { job }
    [S.validateInput]: lambdaInvoke(
      {
        functionArn: arn["validate-input"],
        payload: "$",
        resultKey: "job",
        timeoutSeconds: taskTimeout("validate-input"),
        catchTo: S.notifyFailure,
        comment: "Check the request and fill in every default: the SyncJob every later step reads.",
      },
      { next: S.planPartitions },
    ),
    // -> { job, plan: { location: PlanLocation } }
    [S.planPartitions]: lambdaInvoke(
      {
        functionArn: arn["plan-partitions"],
        payload: { "job.$": "$.job", "run.$": "$$.Execution.Name" },
        resultKey: "location",
        resultPath: "$.plan",
        timeoutSeconds: taskTimeout("plan-partitions"),
        catchTo: S.notifyFailure,
        comment: "Split the key space into ranges that workers sync independently.",
      },
      { next: S.copyPartitions },
    ),
    // -> { job, plan } (results go to the run records)
    [S.copyPartitions]: partitionMap({
      name: "Copy",
      items: {
        itemReader: {
          Resource: S3_GET_OBJECT,
          ReaderConfig: { InputType: "JSON" },
          Parameters: { "Bucket.$": "$.plan.location.bucket", "Key.$": "$.plan.location.key" },
        },
      },
      itemSelector: { "job.$": "$.job", "partition.$": "$$.Map.Item.Value", phase: "copy", "run.$": "$$.Execution.Name" },
      iteration: rangeLoop("copy", arn["sync-range"], taskTimeout("sync-range")),
      maxConcurrency,
      next: S.summarizeCopy,
      comment: "Copy and update every partition; deletes are only counted here.",
    }),
    // -> { summary }
    [S.summarizeCopy]: lambdaInvoke(
      {
        functionArn: arn.summarize,
        payload: {
          "job.$": "$.job",
          phase: "copy",
          "run.$": "$$.Execution.Name",
          "plan.$": "$.plan.location",
        },
        resultKey: "summary",
        timeoutSeconds: taskTimeout("summarize"),
        catchTo: S.notifyFailure,
        comment: "Add up the copy phase and decide whether, and how, to delete.",
      },
      { next: S.deleteDecision },
    ),
    [S.deleteDecision]: choice(
      [
        stringEquals("$.summary.deleteDecision", "no-deletes", S.report),
        stringEquals("$.summary.deleteDecision", "within-limit", S.deletePartitions),
        stringEquals("$.summary.deleteDecision", "over-limit", S.requestDeleteApproval),
        stringEquals("$.summary.deleteDecision", "blocked-by-failures", S.report),
      ],
      S.unexpectedDeleteDecision,
    ),
    // A Choice without a match would fail the execution outside any Fail state; route it to the
    // common failure path instead.
    [S.unexpectedDeleteDecision]: {
      Type: "Pass",
      Result: {
        Error: "BucketSync.UnexpectedDeleteDecision",
        Cause: "summarize returned a deleteDecision this state machine does not handle; nothing was deleted.",
      },
      ResultPath: "$.error",
      Next: S.notifyFailure,
    },
    // The delete guard: over the limit, a human approves (SendTaskSuccess) or denies
    // (SendTaskFailure, which ends the run in Sync failed with nothing deleted).
    [S.requestDeleteApproval]: snsPublish(
      {
        topicArn,
        subject: "bucket-sync: approve deletes",
        message: approvalMessage(),
        waitForTaskToken: true,
        timeoutSeconds: TIMEOUTS.approval,
        catchTo: S.notifyFailure,
        // Email subscribers who have not confirmed their subscription get nothing; with nobody
        // confirmed, nobody answers, and the timeout fails the run with nothing deleted.
        comment: `Waits at most ${TIMEOUTS.approval / 3600} h for an answer; a timeout (also when no subscriber has confirmed) fails the run like a denial, with nothing deleted.`,
      },
      { next: S.deletePartitions },
    ),
    // -> { summary } (results go to the run records)
    [S.deletePartitions]: partitionMap({
      name: "Delete",
      items: { itemsPath: "$.summary.deletePartitions" },
      itemSelector: {
        "job.$": "$.summary.job",
        "partition.$": "$$.Map.Item.Value.partition",
        "deleteBudget.$": "$$.Map.Item.Value.deleteBudget",
        phase: "delete",
        "run.$": "$$.Execution.Name",
      },
      iteration: rangeLoop("delete", arn["sync-range"], taskTimeout("sync-range")),
      maxConcurrency,
      next: S.summarizeDelete,
      comment: "Delete the extras each partition counted, never more than its budget.",
    }),
    // -> { summary }
    [S.summarizeDelete]: lambdaInvoke(
      {
        functionArn: arn.summarize,
        payload: {
          "job.$": "$.summary.job",
          phase: "delete",
          "run.$": "$$.Execution.Name",
          "partitionIds.$": "$.summary.deletePartitionIds",
          "previous.$": "$.summary",
        },
        resultKey: "summary",
        timeoutSeconds: taskTimeout("summarize"),
        catchTo: S.notifyFailure,
        comment: "Add the delete phase to the copy phase's totals.",
      },
      { next: S.report },
    ),
    // -> { summary, report }
    [S.report]: reportState(arn["write-report"], taskTimeout("write-report"), topicArn),
    // Fails closed: success is an explicit condition (a failure count that is present, numeric and
    // 0); a summary of any other shape ends in Unexpected summary, never in Sync succeeded. Each
    // comparison is guarded by IsPresent, as a comparison on a missing path is a runtime error.
    [S.checkOutcome]: choice(
      [
        {
          And: [
            { Variable: "$.summary.phase", IsPresent: true },
            { Variable: "$.summary.deleteDecision", IsPresent: true },
            { Variable: "$.summary.phase", StringEquals: "copy" },
            { Variable: "$.summary.deleteDecision", StringEquals: "blocked-by-failures" },
          ],
          Next: S.copiesFailed,
        },
        // Any other failed object (a backup's copy, a mirror's delete) fails the run too, after
        // the report, so alarms on failed executions see it.
        { And: [...failedCountIs(), { Variable: FAILED_COUNT, NumericGreaterThan: 0 }], Next: S.objectsFailed },
        { And: [...failedCountIs(), { Variable: FAILED_COUNT, NumericEquals: 0 }], Next: S.syncSucceeded },
      ],
      S.unexpectedSummary,
    ),
    [S.syncSucceeded]: succeed(),
    [S.unexpectedSummary]: fail(
      "BucketSync.UnexpectedSummary",
      "The run's summary has no numeric failure count, so its success cannot be shown. The report and the execution history show what was done.",
    ),
    [S.copiesFailed]: fail(
      "BucketSync.CopiesFailed",
      "Some objects could not be copied, so nothing was deleted. The report lists the failures.",
    ),
    [S.objectsFailed]: fail(
      "BucketSync.ObjectsFailed",
      "Some objects could not be synced. The report lists the failures.",
    ),
    // Every caught error lands here with the error at $.error.
    [S.notifyFailure]: snsPublish(
      {
        topicArn,
        subject: "bucket-sync: sync failed",
        message: {
          "execution.$": "$$.Execution.Name",
          "error.$": "$.error.Error",
          "cause.$": "$.error.Cause",
        },
        timeoutSeconds: TIMEOUTS.publish,
        // If even the notification fails, still end with the original error.
        catchTo: S.syncFailed,
        catchResultPath: "$.notifyError",
      },
      { next: S.syncFailed },
    ),
    [S.syncFailed]: failFromPath("$.error.Error", "$.error.Cause"),
  };

  return {
    Comment:
      "bucket-sync: copy every partition, then (mirror) delete extras within a limit or after approval, then report.",
    ...subMachine(S.validateInput, states),
  };
}

/**
 * The loop one Map iteration runs over one partition: call sync-range, and while it is not done,
 * call it again from its cursor with its running stats and samples (bounded by SAMPLE_LIMIT, in
 * the iteration's own data). The last call writes the partition's result to the run records, so
 * the iteration ends with an empty object and the Map's output stays the same size however many
 * partitions there are.
 *
 * Iteration data: SyncRangeInput, then `{ ...input, range: { result: SyncRangeResult } }`.
 */
function rangeLoop(phase: SyncPhase, syncRangeArn: string, timeoutSeconds: number): SubMachine {
  const names =
    phase === "copy"
      ? { task: S.copyRange, done: S.copyRangeDone, again: S.continueCopyRange, keep: S.keepCopyResult }
      : { task: S.deleteRange, done: S.deleteRangeDone, again: S.continueDeleteRange, keep: S.keepDeleteResult };
  return subMachine(names.task, {
    // No Catch here: a Task in a Map iteration cannot move to a state outside it. Its failure
    // fails the iteration, and the Map's Catch sends the run to Notify failure.
    [names.task]: lambdaInvoke(
      {
        functionArn: syncRangeArn,
        payload: "$",
        resultKey: "result",
        resultPath: "$.range",
        timeoutSeconds,
        comment: "Sync part of one partition within the handler's time budget; returns a cursor until done.",
      },
      { next: names.done },
    ),
    [names.done]: choice([booleanEquals("$.range.result.done", true, names.keep)], names.again),
    [names.again]: reshape(
      {
        "job.$": "$.job",
        "partition.$": "$.partition",
        phase,
        "cursor.$": "$.range.result.cursor",
        "stats.$": "$.range.result.stats",
        "failures.$": "$.range.result.failures",
        "changes.$": "$.range.result.changes",
        "uploads.$": "$.range.result.uploads",
        "handledAhead.$": "$.range.result.handledAhead",
        "run.$": "$.run",
        ...(phase === "delete" ? { "deleteBudget.$": "$.deleteBudget" } : {}),
      },
      { next: names.task },
      "Call again from the cursor, carrying the running totals and samples.",
    ),
    [names.keep]: {
      Type: "Pass",
      Comment: "The result is in the run records (written by the last call): the iteration returns nothing.",
      Result: {},
      End: true,
    },
  });
}

/**
 * A Map over partitions. Distributed in AWS, so each partition runs as its own child execution
 * (own history and 256 KiB limit, up to thousands in parallel). The copy Map reads the plan
 * through an ItemReader (a JSON array in S3; the state machine's role reads it, see
 * stateMachinePolicy); the delete Map takes the summary's partitions with deletes through
 * `ItemsPath`.
 */
function partitionMap(props: {
  name: "Copy" | "Delete";
  items: { itemsPath: string } | { itemReader: ItemReader };
  itemSelector: PayloadTemplate;
  iteration: SubMachine;
  maxConcurrency: number;
  next: string;
  comment: string;
}): MapState {
  return {
    Type: "Map",
    Comment: props.comment,
    // Map Run names are built from the label, which may not contain spaces.
    Label: `${props.name}Partitions`,
    ...("itemReader" in props.items ? { ItemReader: props.items.itemReader } : { ItemsPath: props.items.itemsPath }),
    ItemSelector: props.itemSelector,
    ItemProcessor: {
      ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
      ...props.iteration,
    },
    MaxConcurrency: props.maxConcurrency,
    // The iterations' results are in the run records; the Map's output (an array of empty
    // objects) is dropped and the state's data passes through unchanged.
    ResultPath: null,
    Catch: catchAll(S.notifyFailure),
    Next: props.next,
  };
}

/**
 * Reporting, as one Parallel state with a single branch (Write report -> Publish result).
 *
 * Why a Parallel: it is the one scope of "reporting". Both ways into it (straight from the delete
 * decision, or after the delete phase) target one state; its Parameters read `$$.Execution` at
 * the top level of the execution (inside a branch or a Map the context differs); the report
 * location stays inside the branch while the Parallel's ResultSelector decides what comes out;
 * and one Catch on the Parallel covers both steps, which, being inside a branch, cannot move to
 * Notify failure themselves.
 */
function reportState(writeReportArn: string, writeReportTimeoutSeconds: number, topicArn: string): State {
  return {
    Type: "Parallel",
    Comment: "Write the JSON/HTML report to S3 and announce the result with a presigned link.",
    Parameters: {
      "summary.$": "$.summary",
      execution: { "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime" },
    },
    Branches: [
      subMachine(S.writeReport, {
        // Input: WriteReportInput. Output: { ...input, report: { location: ReportLocation } }.
        [S.writeReport]: lambdaInvoke(
          {
            functionArn: writeReportArn,
            payload: "$",
            resultKey: "location",
            resultPath: "$.report",
            timeoutSeconds: writeReportTimeoutSeconds,
            comment: "Returns where the report is and a presigned URL valid for at most one hour.",
          },
          { next: S.announceResult },
        ),
        // A routine success of a run that asked not to announce one (on-change batches) stays
        // quiet; anything else, failures included, is announced (the default, fail closed).
        [S.announceResult]: choice(
          [
            {
              And: [
                { Variable: "$.summary.job.notifyOnSuccess", IsPresent: true },
                { Variable: "$.summary.job.notifyOnSuccess", BooleanEquals: false },
                ...failedCountIs(),
                { Variable: FAILED_COUNT, NumericEquals: 0 },
              ],
              Next: S.quietSuccess,
            },
          ],
          S.publishResult,
        ),
        [S.quietSuccess]: { Type: "Pass", Comment: "The report is written; a routine success sends no message.", End: true },
        [S.publishResult]: snsPublish(
          {
            topicArn,
            subject: "bucket-sync: sync finished",
            message: {
              "execution.$": "$.execution.name",
              "mode.$": "$.summary.job.mode",
              "dryRun.$": "$.summary.job.dryRun",
              "source.$": "$.summary.job.source",
              "destination.$": "$.summary.job.destination",
              "phase.$": "$.summary.phase",
              "deleteDecision.$": "$.summary.deleteDecision",
              "plannedDeletes.$": "$.summary.plannedDeletes",
              "deleteLimit.$": "$.summary.deleteLimit",
              "stats.$": "$.summary.stats",
              "reportUrl.$": "$.report.location.url",
              reportUrlValidFor: "1 hour",
            },
            timeoutSeconds: TIMEOUTS.publish,
          },
          { end: true },
        ),
      }),
    ],
    ResultSelector: { "summary.$": "$[0].summary", "report.$": "$[0].report.location" },
    Catch: catchAll(S.notifyFailure),
    Next: S.checkOutcome,
  };
}

/**
 * The approval request: what would be deleted, the limit it exceeds, and the two commands an
 * operator pastes to answer. The task token appears in both commands and on its own.
 *
 * The command templates avoid the characters States.Format treats specially (`'`, `{`, `}`, `\`)
 * apart from the placeholders. `--task-output true` is the smallest valid JSON output; the result
 * is discarded (ResultPath null), so the summary flows on unchanged.
 */
function approvalMessage(): PayloadTemplate {
  return {
    request:
      "A mirror sync wants to delete more objects than its limit allows. Nothing has been deleted yet; copies are done.",
    "execution.$": "$$.Execution.Name",
    "source.$": "$.summary.job.source",
    "destination.$": "$.summary.job.destination",
    "plannedDeletes.$": "$.summary.plannedDeletes",
    "deleteLimit.$": "$.summary.deleteLimit",
    "taskToken.$": "$$.Task.Token",
    "approveCommand.$":
      "States.Format('aws stepfunctions send-task-success --task-output true --task-token {}', $$.Task.Token)",
    "denyCommand.$": `States.Format('aws stepfunctions send-task-failure --error ${DELETES_DENIED} --cause "Deletes were not approved" --task-token {}', $$.Task.Token)`,
    expiresInHours: TIMEOUTS.approval / 3600,
  };
}
