/** The run report: its document and its HTML page, built from a summary. Pure; no S3. */
import { strict as assert } from "node:assert";
import type { SyncJob, SyncSummary, WriteReportInput } from "../../model/contract";
import { buildReport, renderHtml } from "../../handlers/engine/report";

const JOB: SyncJob = {
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

  describe("renderHtml", () => {
    it("shows the outcome, both places, the mode and every counter", () => {
      const html = renderHtml(buildReport({ summary: summary(), execution: { name: "run-7" } }));
      assert.match(html, /<h1>bucket-sync: succeeded<\/h1>/);
      assert.match(html, /s3:\/\/dev\/site\/ &rarr; s3:\/\/prod\/backup\//);
      assert.match(html, /mode <b>mirror<\/b>/);
      for (const counter of ["sourceObjects", "copied", "unchanged", "failed", "plannedDeletes", "deleteLimit", "deleteDecision"]) {
        assert.match(html, new RegExp(`<th>${counter}</th>`), counter);
      }
      assert.doesNotMatch(html, /dry run/);
    });

    it("marks a dry run and escapes keys and messages, so an object name cannot inject markup", () => {
      const html = renderHtml(
        buildReport({
          summary: summary({ failed: 1 }, {
            job: { ...JOB, dryRun: true },
            failures: [{ key: "<script>alert(1)</script>", action: "copy", error: "AccessDenied", message: `"quoted" & 'single'` }],
            changes: [{ key: "a&b", action: "copy", reason: "missing" }],
          }),
          execution: { name: "run-8" },
        }),
      );
      assert.match(html, /<b>dry run<\/b>/);
      assert.doesNotMatch(html, /<script>/);
      assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.match(html, /&quot;quoted&quot; &amp; &#39;single&#39;/);
      assert.match(html, /<td>a&amp;b<\/td>/);
    });
  });
});
