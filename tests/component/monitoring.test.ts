/**
 * SyncMonitoring alone, under mocks: an alarm for each way a backup can stop or go wrong, each to
 * the notification topic, and a dashboard of the run's own counters.
 */
import { strict as assert } from "node:assert";
import { RUN_METRICS } from "../../model/contract";
import { fullRunAlarmSeconds, schedulePeriodSeconds } from "../../infra/config";
import { SyncMonitoring, type SyncMonitoringArgs } from "../../infra/observability";
import type { ProgramRun, RecordedResource } from "../../offline-pulumi/program";
import { runProgram } from "../helpers/pulumiMocks";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:acme-prod-notifications";
const MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:acme-prod";

async function monitoring(extra: Partial<SyncMonitoringArgs> = {}): Promise<ProgramRun> {
  return runProgram({
    stack: "dev",
    program: async () => {
      new SyncMonitoring("monitoring", {
        nameStem: "acme-prod",
        region: "eu-west-1",
        stateMachineArn: MACHINE,
        functionNames: { "validate-input": "f1", "plan-partitions": "f2", "sync-range": "f3", summarize: "f4", "write-report": "f5" },
        alarmTopicArn: TOPIC,
        fullRunMaxAgeSeconds: 48 * 3600,
        deadLetterQueueNames: ["acme-prod-schedule-dlq", "acme-prod-on-change-dlq"],
        ...extra,
      });
      return {};
    },
  });
}

function alarm(run: ProgramRun, name: string): Record<string, any> {
  const found = run.resources.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.inputs.name === name);
  assert.ok(found, `no alarm ${name}; have ${alarms(run).map((a) => a.inputs.name).join(", ")}`);
  assert.deepEqual(found.inputs.alarmActions, [TOPIC], `${name} notifies the topic`);
  return found.inputs;
}

function alarms(run: ProgramRun): RecordedResource[] {
  return run.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
}

const RUN_DIMENSIONS = { [RUN_METRICS.dimension]: "acme-prod" };

describe("SyncMonitoring", () => {
  let run: ProgramRun;
  before(async () => {
    run = await monitoring();
  });

  it("alarms when no full run has succeeded in time, treating no data as a stopped backup", () => {
    const a = alarm(run, "acme-prod-full-run-overdue");
    assert.equal(a.namespace, RUN_METRICS.namespace);
    assert.equal(a.metricName, "FullRunsSucceeded");
    assert.deepEqual(a.dimensions, RUN_DIMENSIONS);
    assert.equal(a.period, 48 * 3600);
    assert.equal(a.statistic, "Sum");
    assert.equal(a.comparisonOperator, "LessThanThreshold");
    assert.equal(a.threshold, 1);
    assert.equal(a.treatMissingData, "breaching");
  });

  it("alarms on any message in each trigger's dead-letter queue", () => {
    const queues = ["acme-prod-schedule-dlq", "acme-prod-on-change-dlq"].map((queue, i) => {
      const a = alarm(run, `acme-prod-dead-letters-${i + 1}`);
      assert.equal(a.namespace, "AWS/SQS");
      assert.equal(a.metricName, "ApproximateNumberOfMessagesVisible");
      assert.equal(a.comparisonOperator, "GreaterThanOrEqualToThreshold");
      assert.equal(a.threshold, 1);
      return a.dimensions.QueueName;
    });
    assert.deepEqual(queues, ["acme-prod-schedule-dlq", "acme-prod-on-change-dlq"]);
  });

  it("alarms on failed, timed-out and aborted executions", () => {
    for (const [suffix, metric] of [["failed", "ExecutionsFailed"], ["timed-out", "ExecutionsTimedOut"], ["aborted", "ExecutionsAborted"]]) {
      const a = alarm(run, `acme-prod-executions-${suffix}`);
      assert.equal(a.namespace, "AWS/States");
      assert.equal(a.metricName, metric);
      assert.deepEqual(a.dimensions, { StateMachineArn: MACHINE });
      assert.equal(a.threshold, 1);
    }
  });

  it("alarms when a delete approval has waited the configured hours", async () => {
    const a = alarm(await monitoring({ deleteApprovalAlarmHours: 6 }), "acme-prod-delete-approval-waiting");
    assert.equal(a.evaluationPeriods, 7);
    assert.equal(a.datapointsToAlarm, 7);
    const queries = a.metricQueries as Array<{ id: string; expression?: string; metric?: { metricName: string; period: number; dimensions: unknown } }>;
    assert.deepEqual(queries.map((q) => q.metric?.metricName ?? q.expression), [
      "DeleteApprovalsRequested",
      "DeleteApprovalsAnswered",
      "RUNNING_SUM(FILL(asked, 0)) - RUNNING_SUM(FILL(answered, 0))",
    ]);
    for (const q of queries.filter((q) => q.metric)) {
      assert.equal(q.metric!.period, 3600);
      assert.deepEqual(q.metric!.dimensions, RUN_DIMENSIONS);
    }
  });

  it("alarms when a full run's source shrank by more than the share, and when it came back empty", async () => {
    const shrank = alarm(await monitoring({ sourceShrinkAlarmPercent: 25 }), "acme-prod-source-shrank");
    assert.equal(shrank.metricName, "SourceShrinkPercent");
    assert.equal(shrank.comparisonOperator, "GreaterThanThreshold");
    assert.equal(shrank.threshold, 25);
    const empty = alarm(run, "acme-prod-source-empty");
    assert.equal(empty.metricName, "EmptySourceRuns");
    assert.equal(empty.threshold, 1);
  });

  it("has no overdue alarm without a maximum age, and refuses one CloudWatch cannot evaluate", async () => {
    assert.ok(!alarms(await monitoring({ fullRunMaxAgeSeconds: undefined })).some((a) => a.inputs.name === "acme-prod-full-run-overdue"));
    await assert.rejects(monitoring({ fullRunMaxAgeSeconds: 8 * 24 * 3600 }), /fullRunMaxAgeSeconds must be a multiple of 60 up to 604800/);
  });

  it("draws the run's counters and every alarm on the dashboard", () => {
    const dashboard = run.resources.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard");
    const body = String(dashboard?.inputs.dashboardBody);
    for (const name of Object.values(RUN_METRICS.names)) assert.ok(body.includes(`"${name}"`), name);
    const alarmWidget = (JSON.parse(body) as { widgets: Array<{ properties: { alarms?: unknown[] } }> }).widgets.find((w) => w.properties.alarms);
    assert.equal(alarmWidget?.properties.alarms?.length, alarms(run).length);
  });
});

describe("the full-run alarm's age", () => {
  it("is twice the schedule's longest gap between runs", () => {
    assert.equal(schedulePeriodSeconds("rate(6 hours)"), 6 * 3600);
    assert.equal(schedulePeriodSeconds("rate(30 minutes)"), 1800);
    assert.equal(schedulePeriodSeconds("cron(0 3 * * ? *)"), 24 * 3600);
    assert.equal(schedulePeriodSeconds("cron(0 3,15 * * ? *)"), 12 * 3600);
    assert.equal(schedulePeriodSeconds("cron(0 1,5 * * ? *)"), 20 * 3600);
    assert.equal(schedulePeriodSeconds("cron(0 */4 * * ? *)"), 4 * 3600);
    assert.equal(schedulePeriodSeconds("cron(0 3 ? * MON-FRI *)"), 7 * 24 * 3600);
    assert.equal(schedulePeriodSeconds("at(2030-01-01T00:00:00)"), undefined);
    assert.equal(fullRunAlarmSeconds(undefined, "cron(0 3 * * ? *)"), 48 * 3600);
    assert.equal(fullRunAlarmSeconds(undefined, "rate(10 minutes)"), 3600, "at least an hour");
    assert.equal(fullRunAlarmSeconds(30, "cron(0 3 * * ? *)"), 30 * 3600, "the configured hours win");
    assert.equal(fullRunAlarmSeconds(undefined, "cron(0 3 ? * MON *)"), undefined, "beyond CloudWatch's 7 days");
    assert.equal(fullRunAlarmSeconds(undefined, undefined), undefined);
  });
});
