/**
 * Watching the sync machine: alarms on failed and timed-out executions that notify the topic,
 * and a CloudWatch dashboard of executions and functions.
 *
 * Built with `@pulumi/awsx/classic`'s CloudWatch helpers (Metric, createAlarm, Dashboard and its
 * widgets): they run in-process, unlike the rest of awsx, which is a provider plugin. awsx has no
 * Step Functions metrics, so the `AWS/States` ones are plain `Metric`s.
 */
import * as aws from "@pulumi/aws";
import * as awsxClassic from "@pulumi/awsx/classic";
import * as pulumi from "@pulumi/pulumi";
import { HANDLER_NAMES, RUN_METRICS, type HandlerName, type RunMetricName } from "../model/contract";
import { ALARM_MAX_WINDOW_SECONDS } from "./config";

const HOUR = 3600;

const cloudwatch = awsxClassic.cloudwatch;

/** Metric period: five minutes, the finest Step Functions publishes without extra cost. */
const PERIOD_SECONDS = 300;

export interface SyncMonitoringArgs {
  /** `<project>-<stack>`: names the alarms and the dashboard. */
  nameStem: string;
  region: string;
  stateMachineArn: pulumi.Input<string>;
  /** Function name per handler, for the Lambda widgets. */
  functionNames: Record<HandlerName, pulumi.Input<string>>;
  /** Where alarms notify (and say they recovered). */
  alarmTopicArn: pulumi.Input<string>;
  /** The `Stack` dimension the functions give the run metrics. @default nameStem */
  metricsStack?: string;
  /**
   * Alarm when no full run has succeeded for this long (a multiple of 60, at most
   * ALARM_MAX_WINDOW_SECONDS). @default none: no such alarm (a stack without a schedule)
   */
  fullRunMaxAgeSeconds?: number;
  /** The triggers' dead-letter queues: any message in one alarms. @default none */
  deadLetterQueueNames?: pulumi.Input<string>[];
  /** Alarm when a delete approval has waited this many hours. @default 4 */
  deleteApprovalAlarmHours?: number;
  /** Alarm when a full run lists this share fewer source objects than the previous one. @default 10 */
  sourceShrinkAlarmPercent?: number;
}

/** Alarms and a dashboard for one sync machine. */
export class SyncMonitoring extends pulumi.ComponentResource {
  readonly failedExecutionsAlarm: aws.cloudwatch.MetricAlarm;
  readonly timedOutExecutionsAlarm: aws.cloudwatch.MetricAlarm;
  readonly abortedExecutionsAlarm: aws.cloudwatch.MetricAlarm;
  /** No full run succeeded within fullRunMaxAgeSeconds; absent without it. */
  readonly staleBackupAlarm?: aws.cloudwatch.MetricAlarm;
  /** One per dead-letter queue. */
  readonly deadLetterAlarms: aws.cloudwatch.MetricAlarm[];
  readonly deleteApprovalWaitingAlarm: aws.cloudwatch.MetricAlarm;
  readonly sourceShrankAlarm: aws.cloudwatch.MetricAlarm;
  readonly emptySourceAlarm: aws.cloudwatch.MetricAlarm;
  readonly dashboard: awsxClassic.cloudwatch.Dashboard;
  readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: SyncMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:SyncMonitoring", name, args, opts);

    const executions = (metricName: string, label: string) =>
      new cloudwatch.Metric(
        {
          namespace: "AWS/States",
          name: metricName,
          dimensions: { StateMachineArn: args.stateMachineArn },
          statistic: "Sum",
          period: PERIOD_SECONDS,
          // No unit: an alarm whose unit differs from the published one never leaves INSUFFICIENT_DATA.
          label,
        },
        this,
      );
    const failed = executions("ExecutionsFailed", "Failed");
    const timedOut = executions("ExecutionsTimedOut", "Timed out");

    const alarm = (metric: awsxClassic.cloudwatch.Metric, suffix: string, description: string) =>
      metric.createAlarm(
        `${name}-${suffix}`,
        {
          name: `${args.nameStem}-${suffix}`,
          alarmDescription: description,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          evaluationPeriods: 1,
          // No executions means nothing went wrong.
          treatMissingData: "notBreaching",
          alarmActions: [args.alarmTopicArn],
          okActions: [args.alarmTopicArn],
        },
        { parent: this },
      );
    this.failedExecutionsAlarm = alarm(failed, "executions-failed", "A sync execution failed; its report and logs say why.");
    this.timedOutExecutionsAlarm = alarm(timedOut, "executions-timed-out", "A sync execution timed out.");
    const aborted = executions("ExecutionsAborted", "Aborted");
    this.abortedExecutionsAlarm = alarm(aborted, "executions-aborted", "A sync execution was aborted (stopped) before it finished.");

    // The run's own counters, printed by the functions in the embedded metric format.
    const metricsStack = args.metricsStack ?? args.nameStem;
    const run = (name: RunMetricName, statistic: awsxClassic.cloudwatch.MetricStatistic, period = PERIOD_SECONDS) =>
      new cloudwatch.Metric(
        { namespace: RUN_METRICS.namespace, name, dimensions: { [RUN_METRICS.dimension]: metricsStack }, statistic, period, label: name },
        this,
      );
    const alarmOn = (
      suffix: string,
      metric: awsxClassic.cloudwatch.Metric,
      description: string,
      rule: {
        threshold: number;
        comparisonOperator: "LessThanThreshold" | "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
        treatMissingData: "breaching" | "notBreaching";
      },
    ) =>
      metric.createAlarm(
        `${name}-${suffix}`,
        {
          name: `${args.nameStem}-${suffix}`,
          alarmDescription: description,
          evaluationPeriods: 1,
          alarmActions: [args.alarmTopicArn],
          okActions: [args.alarmTopicArn],
          ...rule,
        },
        { parent: this },
      );
    const names = RUN_METRICS.names;

    // "No executions" is not fine for a backup: missing data means no full run succeeded.
    if (args.fullRunMaxAgeSeconds !== undefined) {
      const age = args.fullRunMaxAgeSeconds;
      if (!Number.isInteger(age / 60) || age < 60 || age > ALARM_MAX_WINDOW_SECONDS) {
        throw new Error(`SyncMonitoring: fullRunMaxAgeSeconds must be a multiple of 60 up to ${ALARM_MAX_WINDOW_SECONDS}, got ${age}`);
      }
      this.staleBackupAlarm = alarmOn(
        "full-run-overdue",
        run(names.fullRunsSucceeded, "Sum", age),
        `No full sync has succeeded for ${age / HOUR} hours: check the schedule, its dead-letter queue and the last executions.`,
        { threshold: 1, comparisonOperator: "LessThanThreshold", treatMissingData: "breaching" },
      );
    }
    this.deadLetterAlarms = (args.deadLetterQueueNames ?? []).map((queueName, i) =>
      alarmOn(
        `dead-letters-${i + 1}`,
        new cloudwatch.Metric(
          { namespace: "AWS/SQS", name: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queueName }, statistic: "Maximum", period: PERIOD_SECONDS },
          this,
        ),
        "A trigger could not start a sync (its start landed in the dead-letter queue): a schedule or an S3 change was not synced.",
        { threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" },
      ),
    );
    this.sourceShrankAlarm = alarmOn(
      "source-shrank",
      run(names.sourceShrinkPercent, "Maximum"),
      `A full run listed over ${args.sourceShrinkAlarmPercent ?? 10}% fewer source objects than the previous full run.`,
      { threshold: args.sourceShrinkAlarmPercent ?? 10, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" },
    );
    this.emptySourceAlarm = alarmOn(
      "source-empty",
      run(names.emptySourceRuns, "Maximum"),
      "A full run listed no source objects where the previous full run listed some: a wrong prefix, a lost permission, or an emptied source.",
      { threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" },
    );

    // A delete approval waiting N hours: approvals asked minus answered, summed from the start of
    // an (N+1)-hour window. It is at least 1 at every hour of the window only when an approval asked
    // in the window's first hour is still unanswered N hours later. A denial fails the execution
    // (executions-failed) and is not counted as answered.
    const waitHours = args.deleteApprovalAlarmHours ?? 4;
    const approvals = (id: string, metricName: RunMetricName) => ({
      id,
      returnData: false,
      metric: { namespace: RUN_METRICS.namespace, metricName, dimensions: { [RUN_METRICS.dimension]: metricsStack }, period: HOUR, stat: "Sum" },
    });
    this.deleteApprovalWaitingAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-delete-approval-waiting`,
      {
        name: `${args.nameStem}-delete-approval-waiting`,
        alarmDescription: `A delete approval has waited ${waitHours} hours for an answer; it expires after 24 and fails the run.`,
        metricQueries: [
          approvals("asked", names.deleteApprovalsRequested),
          approvals("answered", names.deleteApprovalsAnswered),
          { id: "waiting", expression: "RUNNING_SUM(FILL(asked, 0)) - RUNNING_SUM(FILL(answered, 0))", label: "Approvals waiting", returnData: true },
        ],
        evaluationPeriods: waitHours + 1,
        datapointsToAlarm: waitHours + 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
      },
      { parent: this },
    );

    const lambda = (metricName: string, handler: HandlerName, statistic: awsxClassic.cloudwatch.MetricStatistic) =>
      new cloudwatch.Metric(
        {
          namespace: "AWS/Lambda",
          name: metricName,
          dimensions: { FunctionName: args.functionNames[handler] },
          statistic,
          period: PERIOD_SECONDS,
          label: handler,
        },
        this,
      );

    this.dashboard = new cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        name: args.nameStem,
        region: args.region as aws.Region,
        widgets: [
          new cloudwatch.RowWidget(
            new cloudwatch.TextWidget({
              markdown: `# ${args.nameStem}\nExecutions of the sync machine, its functions and its runs' counters. Every alarm below notifies the topic: failed, timed-out or aborted executions, no successful full run in time, a start in a dead-letter queue, a delete approval left waiting, and a source that shrank or came back empty.`,
              width: 24,
              height: 2,
            }),
          ),
          new cloudwatch.RowWidget(
            new cloudwatch.LineGraphMetricWidget({
              title: "Executions",
              width: 12,
              metrics: [
                executions("ExecutionsStarted", "Started"),
                executions("ExecutionsSucceeded", "Succeeded"),
                failed,
                timedOut,
                executions("ExecutionsAborted", "Aborted"),
              ],
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Execution time (ms)",
              width: 12,
              metrics: [
                executions("ExecutionTime", "Average").withStatistic("Average"),
                executions("ExecutionTime", "Maximum").withStatistic("Maximum"),
              ],
            }),
          ),
          new cloudwatch.RowWidget(
            new cloudwatch.LineGraphMetricWidget({
              title: "Function errors",
              width: 8,
              metrics: HANDLER_NAMES.map((h) => lambda("Errors", h, "Sum")),
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Function duration, maximum (ms)",
              width: 8,
              metrics: HANDLER_NAMES.map((h) => lambda("Duration", h, "Maximum")),
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Function throttles",
              width: 8,
              metrics: HANDLER_NAMES.map((h) => lambda("Throttles", h, "Sum")),
            }),
          ),
          new cloudwatch.RowWidget(
            new cloudwatch.LineGraphMetricWidget({
              title: "Objects listed",
              width: 8,
              metrics: [run(names.sourceObjects, "Maximum"), run(names.destinationObjects, "Maximum")],
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Changes per run",
              width: 8,
              metrics: [run(names.copied, "Sum"), run(names.deleted, "Sum"), run(names.extra, "Maximum"), run(names.failed, "Sum")],
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Bytes copied, lag (s)",
              width: 8,
              metrics: [run(names.bytes, "Sum"), run(names.lagSeconds, "Maximum")],
            }),
          ),
          new cloudwatch.RowWidget(
            new cloudwatch.LineGraphMetricWidget({
              title: "Full runs, source shrink (%)",
              width: 12,
              metrics: [run(names.fullRunsSucceeded, "Sum"), run(names.sourceShrinkPercent, "Maximum"), run(names.emptySourceRuns, "Maximum")],
            }),
            new cloudwatch.LineGraphMetricWidget({
              title: "Delete approvals",
              width: 12,
              metrics: [run(names.deleteApprovalsRequested, "Sum"), run(names.deleteApprovalsAnswered, "Sum")],
            }),
          ),
          new cloudwatch.RowWidget(
            new cloudwatch.AlarmWidget({
              title: "Alarms",
              width: 24,
              alarms: [
                this.failedExecutionsAlarm.arn,
                this.timedOutExecutionsAlarm.arn,
                this.abortedExecutionsAlarm.arn,
                ...(this.staleBackupAlarm ? [this.staleBackupAlarm.arn] : []),
                ...this.deadLetterAlarms.map((a) => a.arn),
                this.deleteApprovalWaitingAlarm.arn,
                this.sourceShrankAlarm.arn,
                this.emptySourceAlarm.arn,
              ],
            }),
          ),
        ],
      },
      { parent: this },
    );

    this.dashboardUrl = this.dashboard.url;
    this.registerOutputs({ dashboardUrl: this.dashboardUrl });
  }
}
