/** The run report document, built from a summary (its HTML page has its own spec). Pure; no S3. */
import { strict as assert } from "node:assert";
import type { SyncJob, SyncSummary, WriteReportInput } from "../../model/contract";
import { buildReport } from "../../handlers/engine/report";

const JOB: SyncJob = {
  version: 1,
  source: { bucket: "dev", prefix: "site/" },
  destination: { bucket: "prod", prefix: "backup/" },
  mode: "mirror",
  conflictPolicy: "report",
  dryRun: false,
  maxDeletes: { count: 10 },
  concurrency: 32,
  multipartThresholdBytes: 64 * 1024 * 1024,
  partSizeBytes: 64 * 1024 * 1024,
  partitions: 4,
  minKeysPerPartition: 1000,
  timeBudgetSeconds: 600,
};

function summary(overrides: Partial<SyncSummary["stats"]> = {}, extra: Partial<SyncSummary> = {}): SyncSummary {
  return {
    job: JOB,
    phase: "copy",
    stats: { sourceObjects: 3, destinationObjects: 1, copied: 2, updated: 0, copiedToSource: 0, deleted: 0, extra: 0, unchanged: 1, conflicts: 0, failed: 0, bytes: 42, ...overrides },
    plannedDeletes: 0,
    deleteLimit: 10,
    deleteDecision: "no-deletes",
    deletePartitions: [],
    deletePartitionIds: [],
    failures: [],
    changes: [],
    ...extra,
  };
}

describe("report", () => {
  describe("buildReport", () => {
    it("names the execution, keeps the summary, and succeeds when nothing failed", () => {
      const input: WriteReportInput = { summary: summary(), execution: { name: "run-7", startTime: "2026-01-01T00:00:00Z" } };
      const report = buildReport(input, new Date("2026-01-01T00:05:00Z"));
      assert.deepEqual(report, {
        execution: "run-7",
        startTime: "2026-01-01T00:00:00Z",
        generatedAt: "2026-01-01T00:05:00.000Z",
        outcome: "succeeded",
        summary: input.summary,
      });
    });

    it("fails when any object failed, and names an unnamed run after the time", () => {
      const report = buildReport({ summary: summary({ failed: 1 }) }, new Date("2026-01-01T00:05:00Z"));
      assert.equal(report.outcome, "failed");
      assert.equal(report.execution, "run-2026-01-01T00-05-00-000Z");
    });
  });
});
