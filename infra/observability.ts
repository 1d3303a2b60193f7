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
import { HANDLER_NAMES, type HandlerName } from "../model/contract";

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
}

/** Alarms and a dashboard for one sync machine. */
export class SyncMonitoring extends pulumi.ComponentResource {
  readonly failedExecutionsAlarm: aws.cloudwatch.MetricAlarm;
  readonly timedOutExecutionsAlarm: aws.cloudwatch.MetricAlarm;
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
              markdown: `# ${args.nameStem}\nExecutions of the sync machine and its functions. Failed and timed-out executions alarm to the notification topic.`,
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
            new cloudwatch.AlarmWidget({
              title: "Alarms",
              width: 24,
              alarms: [this.failedExecutionsAlarm.arn, this.timedOutExecutionsAlarm.arn],
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
