import { strict as assert } from "node:assert";
import { HANDLER_NAMES } from "../../model/contract";
import type { Catcher, ChoiceState, MapState, ParallelState, State, StateMachineDefinition, SubMachine, TaskState } from "../../infra/asl";
import { LAMBDA_INVOKE, LAMBDA_SERVICE_ERRORS, SNS_PUBLISH, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN, allStates, nextStates, type LocatedState } from "../../infra/asl";
import { buildDefinition, STATE_NAMES, type DefinitionArgs } from "../../infra/definition";
import { TASK_TIMEOUT_MARGIN_SECONDS } from "../../infra/handlerSpecs";

/** asl-validator 4 ships no type declarations; this is the part of its API used here. */
const aslValidator: (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string } = require("asl-validator");

const S = STATE_NAMES;
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:bucket-sync";
const ARGS: DefinitionArgs = {
  functionArns: Object.fromEntries(
    HANDLER_NAMES.map((n) => [n, `arn:aws:lambda:eu-west-1:123456789012:function:bucket-sync-${n}`]),
  ) as DefinitionArgs["functionArns"],
  notificationTopicArn: TOPIC,
};

function stateNamed(def: StateMachineDefinition, name: string): LocatedState {
  const found = allStates(def).find((s) => s.name === name);
  assert.ok(found, `no state named "${name}"`);
  return found;
}

/** Every state reachable from `from` within its machine (following Next, Choices, Default, Catch). */
function reachable(machine: SubMachine, from: string): Set<string> {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...nextStates(machine.States[name]));
  }
  return seen;
}

/** Whether every path from `from` (ignoring Catch edges) ends in a Fail that names error and cause. */
function allPathsEndInFail(machine: SubMachine, from: string): boolean {
  const seen = new Set<string>();
  const visit = (name: string): boolean => {
    if (seen.has(name)) return true; // a loop: judged where it exits
    seen.add(name);
    const state = machine.States[name];
    if (state.Type === "Fail") return hasErrorAndCause(state);
    if (state.Type === "Succeed" || ("End" in state && state.End)) return false;
    const next =
      state.Type === "Choice" ? [...state.Choices.map((c) => c.Next), ...(state.Default ? [state.Default] : [])] : [state.Next!];
    return next.every(visit);
  };
  return visit(from);
}

function hasErrorAndCause(state: State): boolean {
  if (state.Type !== "Fail") return false;
  return ("Error" in state && !!state.Error && !!state.Cause) || ("ErrorPath" in state && !!state.ErrorPath && !!state.CausePath);
}

/** The Catch that handles a Task's failure: its own, or that of the nearest enclosing state with one. */
function effectiveCatch(located: LocatedState): { catcher: Catcher; machine: SubMachine } | undefined {
  const chain = [located, ...[...located.enclosing].reverse()];
  for (const l of chain) {
    const catches = (l.state as TaskState | MapState | ParallelState).Catch;
    const all = catches?.find((c) => c.ErrorEquals.includes("States.ALL"));
    if (all) return { catcher: all, machine: l.machine };
  }
  return undefined;
}

describe("buildDefinition", () => {
  const def = buildDefinition(ARGS);
  const states = allStates(def);
  const tasks = states.filter((s): s is LocatedState & { state: TaskState } => s.state.Type === "Task");

  describe("validity", () => {
    it("is valid ASL for asl-validator, ARNs and paths included", () => {
      // The validator writes QueryLanguage into the states it checks: give it a copy.
      const result = aslValidator(structuredClone(def), { checkArn: true, checkPaths: true });
      assert.equal(result.isValid, true, result.errorsText("\n"));
    });

    it("is plain JSON: serializing and parsing it gives the same object", () => {
      assert.deepEqual(JSON.parse(JSON.stringify(def)), def);
    });

    it("is pure: the same arguments give the same definition, and the arguments are not changed", () => {
      const args = structuredClone(ARGS);
      assert.deepEqual(buildDefinition(args), buildDefinition(args));
      assert.deepEqual(args, ARGS);
    });

    it("uses JSONPath only, without ItemBatcher or ResultWriter", () => {
      const forbiddenKeys = ["QueryLanguage", "Arguments", "Output", "Assign", "ItemBatcher", "ResultWriter"];
      const walk = (value: unknown, path: string) => {
        if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
        else if (value && typeof value === "object") {
          for (const [k, v] of Object.entries(value)) {
            assert.ok(!forbiddenKeys.includes(k), `${path}.${k} is not allowed`);
            walk(v, `${path}.${k}`);
          }
        } else if (typeof value === "string") {
          assert.ok(!/^\s*\{%/.test(value), `${path} is a JSONata expression`);
        }
      };
      walk(def, "$");
    });

    it("uses only definite paths, which every interpreter lineage evaluates alike (no [*], .., filters or slices)", () => {
      // Jayway (AWS) returns a list for an indefinite path, other lineages a bare value over one element.
      const definite = /^\$\$?(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/;
      const pathFields = new Set(["InputPath", "OutputPath", "ResultPath", "ItemsPath", "Variable"]);
      const seen: string[] = [];
      const check = (where: string, value: string) => {
        // An intrinsic function's arguments are paths too: `States.Format('...', $$.Task.Token)`.
        const paths = value.startsWith("States.") ? value.replace(/'(?:[^'\\]|\\.)*'/g, "").match(/\$\$?[^,)\s]*/g) ?? [] : [value];
        for (const path of paths) {
          seen.push(path);
          assert.match(path, definite, `${where}: "${path}" is not a definite path`);
        }
      };
      const walk = (value: unknown, where: string) => {
        if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`));
        else if (value && typeof value === "object") {
          for (const [k, v] of Object.entries(value)) {
            if (typeof v === "string" && (k.endsWith(".$") || k.endsWith("Path") || pathFields.has(k))) check(`${where}.${k}`, v);
            else walk(v, `${where}.${k}`);
          }
        }
      };
      walk(def, "$");
      assert.ok(seen.includes("$.plan.location") && seen.includes("$.summary.deletePartitionIds"), "the id lists travel by plain paths");
      assert.ok(seen.length > 40, `${seen.length} paths checked`);
    });

    it("names every state once across the whole machine, with exactly the names in STATE_NAMES", () => {
      const names = states.map((s) => s.name);
      assert.equal(new Set(names).size, names.length, `duplicates: ${names.filter((n, i) => names.indexOf(n) !== i)}`);
      assert.deepEqual([...names].sort(), Object.values(STATE_NAMES).sort());
    });
  });

  describe("error handling", () => {
    it("gives every Task a TimeoutSeconds and a Retry with backoff and full jitter", () => {
      for (const { name, state } of tasks) {
        assert.ok(state.TimeoutSeconds && state.TimeoutSeconds > 0, `${name}: TimeoutSeconds`);
        assert.ok(state.Retry && state.Retry.length > 0, `${name}: Retry`);
        for (const r of state.Retry) {
          assert.equal(r.JitterStrategy, "FULL", `${name}: JitterStrategy`);
          assert.ok((r.BackoffRate ?? 2) > 1 && (r.MaxAttempts ?? 3) > 1, `${name}: backoff`);
          assert.ok(!r.ErrorEquals.includes("States.ALL"), `${name}: retries everything`);
        }
      }
    });

    it("retries Lambda service errors, Lambda throttling and S3 SlowDown on every Lambda Task", () => {
      const lambdaTasks = tasks.filter((t) => t.state.Resource === LAMBDA_INVOKE);
      assert.equal(lambdaTasks.length, 7);
      for (const { name, state } of lambdaTasks) {
        const retried = state.Retry!.flatMap((r) => r.ErrorEquals);
        for (const e of [...LAMBDA_SERVICE_ERRORS, "Lambda.TooManyRequestsException", "SlowDown"]) {
          assert.ok(retried.includes(e), `${name} does not retry ${e}`);
        }
      }
    });

    it("catches every Task's failure, by its own Catch or its Map's or Parallel's, into a path ending in a Fail with error and cause", () => {
      for (const task of tasks) {
        const handled = effectiveCatch(task);
        assert.ok(handled, `${task.name}: no Catch handles its failure`);
        assert.ok(allPathsEndInFail(handled.machine, handled.catcher.Next), `${task.name}: catch path does not end in a Fail`);
      }
    });

    it("catches at the Task itself wherever a Catch can reach the failure path (outside Maps and Parallels)", () => {
      for (const task of tasks.filter((t) => t.enclosing.length === 0)) {
        assert.ok(task.state.Catch?.some((c) => c.ErrorEquals.includes("States.ALL")), `${task.name}: Catch`);
      }
    });

    it("ends every failure in a Fail state that names an error and a cause", () => {
      const fails = states.filter((s) => s.state.Type === "Fail");
      assert.deepEqual(fails.map((f) => f.name).sort(), [S.copiesFailed, S.objectsFailed, S.syncFailed, S.unexpectedSummary].sort());
      for (const f of fails) assert.ok(hasErrorAndCause(f.state), `${f.name} lacks error or cause`);
      const syncFailed = def.States[S.syncFailed];
      assert.deepEqual(syncFailed, { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
    });

    it("gives every Choice a Default, so no input fails the run outside a Fail state", () => {
      for (const c of states.filter((s) => s.state.Type === "Choice")) {
        assert.ok((c.state as ChoiceState).Default, `${c.name}: Default`);
      }
      assert.ok(allPathsEndInFail(def, S.unexpectedDeleteDecision));
    });

    it("notifies failures on SNS with the error and the cause, then fails with them", () => {
      const notify = def.States[S.notifyFailure] as TaskState;
      assert.equal(notify.Resource, SNS_PUBLISH);
      assert.equal(notify.Parameters!.TopicArn, TOPIC);
      assert.deepEqual(notify.Parameters!.Message, {
        "execution.$": "$$.Execution.Name",
        "error.$": "$.error.Error",
        "cause.$": "$.error.Cause",
      });
      assert.equal(notify.Next, S.syncFailed);
      // A failing notification still ends in the original error, not its own.
      assert.deepEqual(notify.Catch, [{ ErrorEquals: ["States.ALL"], Next: S.syncFailed, ResultPath: "$.notifyError" }]);
    });
  });

  describe("Lambda tasks", () => {
    it("invoke each handler through lambda:invoke with its ARN and an explicit Payload, unwrapping the result's Payload", () => {
      const expected: Record<string, string> = {
        [S.validateInput]: "validate-input",
        [S.planPartitions]: "plan-partitions",
        [S.copyRange]: "sync-range",
        [S.deleteRange]: "sync-range",
        [S.summarizeCopy]: "summarize",
        [S.summarizeDelete]: "summarize",
        [S.writeReport]: "write-report",
      };
      for (const [name, handler] of Object.entries(expected)) {
        const task = stateNamed(def, name).state as TaskState;
        assert.equal(task.Resource, LAMBDA_INVOKE, name);
        assert.equal(task.Parameters!.FunctionName, ARGS.functionArns[handler as keyof DefinitionArgs["functionArns"]], name);
        assert.ok("Payload.$" in task.Parameters! || "Payload" in task.Parameters!, `${name}: Payload`);
        const selected = Object.values(task.ResultSelector!);
        if (name === S.planPartitions) assert.deepEqual(task.ResultSelector, { "location.$": "$.Payload" });
        else assert.deepEqual(selected, ["$.Payload"], name);
      }
    });

    it("times the sync-range Tasks out a margin after syncRangeTimeoutSeconds (900 by default)", () => {
      assert.equal((stateNamed(def, S.copyRange).state as TaskState).TimeoutSeconds, 900 + TASK_TIMEOUT_MARGIN_SECONDS);
      const custom = buildDefinition({ ...ARGS, syncRangeTimeoutSeconds: 300 });
      assert.equal((stateNamed(custom, S.copyRange).state as TaskState).TimeoutSeconds, 300 + TASK_TIMEOUT_MARGIN_SECONDS);
      assert.equal((stateNamed(custom, S.deleteRange).state as TaskState).TimeoutSeconds, 300 + TASK_TIMEOUT_MARGIN_SECONDS);
    });

    it("gives write-report the summary and the execution's name and start time from the context object", () => {
      const report = def.States[S.report] as ParallelState;
      assert.deepEqual(report.Parameters, {
        "summary.$": "$.summary",
        execution: { "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime" },
      });
      const write = stateNamed(def, S.writeReport).state as TaskState;
      assert.equal(write.Parameters!["Payload.$"], "$");
    });
  });

  describe("routing", () => {
    it("validates, plans, copies every partition, summarizes, then decides about deletes", () => {
      assert.equal(def.StartAt, S.validateInput);
      const path = [S.validateInput, S.planPartitions, S.copyPartitions, S.summarizeCopy, S.deleteDecision];
      for (let i = 0; i < path.length - 1; i++) {
        assert.equal((def.States[path[i]] as { Next?: string }).Next, path[i + 1], `${path[i]} -> ${path[i + 1]}`);
      }
    });

    it("routes each delete decision: no-deletes and blocked-by-failures to the report, within-limit to deleting, over-limit to approval", () => {
      const decision = def.States[S.deleteDecision] as ChoiceState;
      const routes = Object.fromEntries(
        decision.Choices.map((c) => {
          assert.equal((c as { Variable?: string }).Variable, "$.summary.deleteDecision");
          return [(c as { StringEquals: string }).StringEquals, c.Next];
        }),
      );
      assert.deepEqual(routes, {
        "no-deletes": S.report,
        "blocked-by-failures": S.report,
        "within-limit": S.deletePartitions,
        "over-limit": S.requestDeleteApproval,
      });
      assert.equal(decision.Default, S.unexpectedDeleteDecision);
      assert.equal((def.States[S.requestDeleteApproval] as TaskState).Next, S.deletePartitions);
      assert.equal((def.States[S.deletePartitions] as MapState).Next, S.summarizeDelete);
      assert.equal((def.States[S.summarizeDelete] as TaskState).Next, S.report);
    });

    it("reports, then fails when copies failed or objects failed, succeeds only on a failure count of 0, and fails otherwise", () => {
      assert.equal((def.States[S.report] as ParallelState).Next, S.checkOutcome);
      const outcome = def.States[S.checkOutcome] as ChoiceState;
      const countIs = [
        { Variable: "$.summary.stats.failed", IsPresent: true },
        { Variable: "$.summary.stats.failed", IsNumeric: true },
      ];
      assert.deepEqual(outcome.Choices, [
        {
          And: [
            { Variable: "$.summary.phase", IsPresent: true },
            { Variable: "$.summary.deleteDecision", IsPresent: true },
            { Variable: "$.summary.phase", StringEquals: "copy" },
            { Variable: "$.summary.deleteDecision", StringEquals: "blocked-by-failures" },
          ],
          Next: S.copiesFailed,
        },
        { And: [...countIs, { Variable: "$.summary.stats.failed", NumericGreaterThan: 0 }], Next: S.objectsFailed },
        { And: [...countIs, { Variable: "$.summary.stats.failed", NumericEquals: 0 }], Next: S.syncSucceeded },
      ]);
      // Fails closed: the Default is a Fail, never the Succeed state.
      assert.equal(outcome.Default, S.unexpectedSummary);
      assert.deepEqual(def.States[S.unexpectedSummary], {
        Type: "Fail",
        Error: "BucketSync.UnexpectedSummary",
        Cause: (def.States[S.unexpectedSummary] as { Cause: string }).Cause,
      });
      assert.equal(def.States[S.syncSucceeded].Type, "Succeed");
    });

    it("deletes nothing on the way from a blocked-by-failures decision to its Fail", () => {
      const onTheWay = reachable(def, S.report);
      assert.ok(onTheWay.has(S.copiesFailed));
      assert.ok(!onTheWay.has(S.deletePartitions) && !onTheWay.has(S.requestDeleteApproval));
    });

    for (const phase of ["copy", "delete"] as const) {
      it(`loops the ${phase} range Task with its cursor and stats until done`, () => {
        const names =
          phase === "copy"
            ? { map: S.copyPartitions, task: S.copyRange, done: S.copyRangeDone, again: S.continueCopyRange, keep: S.keepCopyResult }
            : { map: S.deletePartitions, task: S.deleteRange, done: S.deleteRangeDone, again: S.continueDeleteRange, keep: S.keepDeleteResult };
        const map = def.States[names.map] as MapState;
        const loop = map.ItemProcessor;
        assert.equal(loop.StartAt, names.task);
        const task = loop.States[names.task] as TaskState;
        assert.equal(task.Parameters!["Payload.$"], "$");
        assert.equal(task.ResultPath, "$.range");
        assert.equal(task.Next, names.done);
        const done = loop.States[names.done] as ChoiceState;
        assert.deepEqual(done.Choices, [{ Variable: "$.range.result.done", BooleanEquals: true, Next: names.keep }]);
        assert.equal(done.Default, names.again);
        const again = loop.States[names.again] as { Parameters: Record<string, unknown>; Next: string };
        assert.equal(again.Next, names.task);
        assert.equal(again.Parameters["cursor.$"], "$.range.result.cursor");
        assert.equal(again.Parameters["stats.$"], "$.range.result.stats");
        assert.equal(again.Parameters.phase, phase);
        assert.equal("deleteBudget.$" in again.Parameters, phase === "delete");
        assert.equal((loop.States[names.keep] as { End?: boolean }).End, true);
      });
    }

    it("maps over partitions as Distributed Maps: the copy Map reads the plan from S3 through its ItemReader, the delete Map the summary's partitions", () => {
      const copy = def.States[S.copyPartitions] as MapState;
      assert.deepEqual(copy.ItemProcessor.ProcessorConfig, { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });
      assert.equal(copy.ItemsPath, undefined);
      assert.deepEqual(copy.ItemReader, {
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "JSON" },
        Parameters: { "Bucket.$": "$.plan.location.bucket", "Key.$": "$.plan.location.key" },
      });
      const plan = def.States[S.planPartitions] as TaskState;
      assert.deepEqual(plan.Parameters!.Payload, { "job.$": "$.job", "run.$": "$$.Execution.Name" });
      assert.equal(plan.ResultPath, "$.plan");
      assert.deepEqual(copy.ItemSelector, { "job.$": "$.job", "partition.$": "$$.Map.Item.Value", phase: "copy", "run.$": "$$.Execution.Name" });
      assert.equal(copy.MaxConcurrency, 16);
      const del = def.States[S.deletePartitions] as MapState;
      assert.deepEqual(del.ItemProcessor.ProcessorConfig, { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });
      assert.equal(del.ItemsPath, "$.summary.deletePartitions");
      assert.deepEqual(del.ItemSelector, {
        "job.$": "$.summary.job",
        "partition.$": "$$.Map.Item.Value.partition",
        "deleteBudget.$": "$$.Map.Item.Value.deleteBudget",
        phase: "delete",
        "run.$": "$$.Execution.Name",
      });
      const custom = buildDefinition({ ...ARGS, maxConcurrency: 4 });
      assert.equal((custom.States[S.copyPartitions] as MapState).MaxConcurrency, 4);
      assert.equal((custom.States[S.deletePartitions] as MapState).MaxConcurrency, 4);
    });

    it("keeps partition results out of the state: iterations end empty, Maps drop their output, summarize reads the run records", () => {
      for (const name of [S.keepCopyResult, S.keepDeleteResult]) {
        const keep = stateNamed(def, name).state as { Type: string; Result?: unknown; Parameters?: unknown };
        assert.equal(keep.Type, "Pass");
        assert.deepEqual(keep.Result, {});
        assert.equal(keep.Parameters, undefined);
      }
      for (const name of [S.copyPartitions, S.deletePartitions]) assert.equal((def.States[name] as MapState).ResultPath, null);
      const summarizeCopy = (def.States[S.summarizeCopy] as TaskState).Parameters!.Payload as Record<string, unknown>;
      assert.deepEqual(summarizeCopy, {
        "job.$": "$.job",
        phase: "copy",
        "run.$": "$$.Execution.Name",
        "plan.$": "$.plan.location",
      });
      const summarizeDelete = (def.States[S.summarizeDelete] as TaskState).Parameters!.Payload as Record<string, unknown>;
      assert.equal(summarizeDelete["partitionIds.$"], "$.summary.deletePartitionIds");
      assert.equal(summarizeDelete["run.$"], "$$.Execution.Name");
      // After summarizing, only the summary goes on.
      for (const name of [S.summarizeCopy, S.summarizeDelete]) {
        const task = def.States[name] as TaskState;
        assert.deepEqual(task.ResultSelector, { "summary.$": "$.Payload" });
        assert.equal(task.ResultPath, undefined);
      }
    });

    it("asks for delete approval with a task token, the planned deletes, the limit and the commands to answer", () => {
      const approval = def.States[S.requestDeleteApproval] as TaskState;
      assert.equal(approval.Resource, SNS_PUBLISH_WAIT_FOR_TASK_TOKEN);
      assert.equal(approval.Parameters!.TopicArn, TOPIC);
      const message = approval.Parameters!.Message as Record<string, string>;
      assert.equal(message["taskToken.$"], "$$.Task.Token");
      assert.equal(message["plannedDeletes.$"], "$.summary.plannedDeletes");
      assert.equal(message["deleteLimit.$"], "$.summary.deleteLimit");
      assert.match(message["approveCommand.$"], /^States\.Format\('aws stepfunctions send-task-success .*--task-token \{\}', \$\$\.Task\.Token\)$/);
      assert.match(message["denyCommand.$"], /^States\.Format\('aws stepfunctions send-task-failure --error \S+ .*--task-token \{\}', \$\$\.Task\.Token\)$/);
      assert.equal(approval.ResultPath, null, "the approval's output must not replace the summary");
      assert.deepEqual(approval.Catch?.map((c) => c.Next), [S.notifyFailure]);
    });

    it("reports in one Parallel scope: write-report, then an SNS message with the report URL", () => {
      const report = def.States[S.report] as ParallelState;
      assert.equal(report.Branches.length, 1);
      const branch = report.Branches[0];
      assert.equal(branch.StartAt, S.writeReport);
      assert.equal((branch.States[S.writeReport] as TaskState).Next, S.announceResult);
      assert.equal((branch.States[S.announceResult] as ChoiceState).Default, S.publishResult, "announce unless told otherwise");
      const publish = branch.States[S.publishResult] as TaskState;
      assert.equal(publish.Resource, SNS_PUBLISH);
      assert.equal((publish.Parameters!.Message as Record<string, string>)["reportUrl.$"], "$.report.location.url");
      assert.deepEqual(report.Catch?.map((c) => c.Next), [S.notifyFailure]);
      assert.deepEqual(report.ResultSelector, { "summary.$": "$[0].summary", "report.$": "$[0].report.location" });
    });
  });

  describe("arguments", () => {
    it("refuses a missing function ARN, naming the handler", () => {
      const functionArns = { ...ARGS.functionArns, summarize: "" };
      assert.throws(() => buildDefinition({ ...ARGS, functionArns }), /functionArns\["summarize"\]/);
    });

    it("refuses a missing topic and out-of-range numbers", () => {
      assert.throws(() => buildDefinition({ ...ARGS, notificationTopicArn: "" }), /notificationTopicArn/);
      assert.throws(() => buildDefinition({ ...ARGS, maxConcurrency: 0 }), /maxConcurrency/);
      assert.throws(() => buildDefinition({ ...ARGS, maxConcurrency: 2.5 }), /maxConcurrency/);
      assert.throws(() => buildDefinition({ ...ARGS, syncRangeTimeoutSeconds: -1 }), /syncRangeTimeoutSeconds/);
    });
  });
});
