/**
 * A run's counters as CloudWatch metrics, in the embedded metric format: one JSON line on standard
 * output, which CloudWatch Logs turns into metrics without a PutMetricData call or its permission
 * ("Specification: Embedded metric format",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Pure: the handlers print what these functions build.
 */
import { RUN_METRICS, type RunMetricName, type SyncSummary } from "../../model/contract";

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
  };
  [field: string]: unknown;
}

const UNITS: Partial<Record<RunMetricName, string>> = { Bytes: "Bytes", LagSeconds: "Seconds", SourceShrinkPercent: "Percent" };

/** One EMF document of `values` for the stack's dimension. */
export function emfDocument(stack: string, values: Partial<Record<RunMetricName, number>>, now: Date): EmfDocument {
  const names = Object.keys(values) as RunMetricName[];
  return {
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: RUN_METRICS.namespace,
          Dimensions: [[RUN_METRICS.dimension]],
          Metrics: names.map((name) => ({ Name: name, Unit: UNITS[name] ?? "Count" })),
        },
      ],
    },
    [RUN_METRICS.dimension]: stack,
    ...values,
  };
}

/** The counters of a finished run (its final summary), as written in its report. */
export function runMetricValues(summary: SyncSummary, startTime: string | undefined, now: Date): Partial<Record<RunMetricName, number>> {
  const n = RUN_METRICS.names;
  const s = summary.stats;
  const values: Partial<Record<RunMetricName, number>> = {
    [n.sourceObjects]: s.sourceObjects,
    [n.destinationObjects]: s.destinationObjects,
    [n.copied]: s.copied + s.updated + s.copiedToSource,
    [n.failed]: s.failed,
    [n.extra]: s.extra,
    [n.deleted]: s.deleted,
    [n.bytes]: s.bytes,
  };
  const started = startTime === undefined ? NaN : Date.parse(startTime);
  if (!Number.isNaN(started)) values[n.lagSeconds] = Math.max(0, Math.round((now.getTime() - started) / 1000));
  const history = summary.history;
  if (history?.fullRun && !summary.job.dryRun) {
    values[n.fullRunsSucceeded] = s.failed === 0 ? 1 : 0;
    const previous = history.previousSourceObjects;
    if (previous !== undefined && previous > 0) {
      values[n.sourceShrinkPercent] = Math.max(0, Math.round(((previous - s.sourceObjects) / previous) * 1000) / 10);
      values[n.emptySourceRuns] = s.sourceObjects === 0 ? 1 : 0;
    }
  }
  return values;
}

/** What a phase's summary says about delete approval: asked (copy phase) or answered (delete phase). */
export function approvalMetricValues(summary: SyncSummary): Partial<Record<RunMetricName, number>> | undefined {
  if (summary.deleteDecision !== "over-limit") return undefined;
  return summary.phase === "copy"
    ? { [RUN_METRICS.names.deleteApprovalsRequested]: 1 }
    : { [RUN_METRICS.names.deleteApprovalsAnswered]: 1 };
}
