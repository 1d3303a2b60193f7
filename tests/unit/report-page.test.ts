/**
 * The HTML report page as a pure function of the report document: verdict first, counts in
 * words, humanized bytes and durations, timing, cost and limits when measured, failures only
 * when any, changes sorted by key, conflicts with the newer side, and nothing to fetch.
 */
import { strict as assert } from "node:assert";
import type { SyncChange, SyncSummary } from "../../model/contract";
import { formatBytes, formatDuration, formatUsd, renderHtml, type SyncReport } from "../../handlers/engine/reportPage";
import { emptyStats } from "../../handlers/engine/stats";
import { validateRequest } from "../../handlers/engine/validation";

function report(overrides: { request?: object; stats?: object; summary?: Partial<SyncSummary>; run?: SyncReport["run"] } = {}): SyncReport {
  const job = validateRequest({ source: { bucket: "dev-data", prefix: "site/" }, destination: { bucket: "prod-data" }, ...overrides.request });
  const stats = { ...emptyStats(), ...overrides.stats };
  return {
    execution: "local-1234",
    startTime: "2026-12-02T07:00:00.000Z",
    generatedAt: "2026-12-02T07:00:03.500Z",
    outcome: stats.failed > 0 ? "failed" : "succeeded",
    summary: {
      job,
      phase: "copy",
      stats,
      plannedDeletes: 0,
      deleteLimit: 0,
      deleteDecision: "no-deletes",
      deletePartitions: [],
      deletePartitionIds: [],
      failures: [],
      changes: [],
      ...overrides.summary,
    },
    ...(overrides.run ? { run: overrides.run } : {}),
  };
}

/** The page's text without tags or styles, whitespace collapsed: roughly what a reader sees. */
const text = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/, "")
    .replace(/<title>[\s\S]*?<\/title>/, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&rarr;/g, "→")
    .replace(/&middot;/g, "·")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/\s+/g, " ")
    .trim();

const RUN = {
  durationMs: 3_450,
  phases: [
    { name: "Validate and plan", ms: 120 },
    { name: "List, compare and copy", ms: 3_100 },
    { name: "Report", ms: 230 },
  ],
  stateTransitions: 17,
  estimatedCostUsd: { transitions: 0.000425, lambda: 0.0000621, total: 0.0004871 },
};

describe("report page", () => {
  it("humanizes bytes, durations and dollars", () => {
    assert.deepEqual([0, 512, 1536, 10 * 1024 * 1024 + 1, 3.25 * 1024 ** 3].map(formatBytes), ["0 B", "512 B", "1.5 KiB", "10 MiB", "3.25 GiB"]);
    assert.deepEqual([850, 4_200, 125_000, 3_720_000].map(formatDuration), ["850 ms", "4.2 s", "2 min 05 s", "1 h 02 min"]);
    assert.deepEqual([0, 0.0004871, 0.25, 12.5].map(formatUsd), ["$0", "$0.000487", "$0.2500", "$12.50"]);
  });

  it("opens with the verdict, then the counts in words with humanized bytes, timing per phase and the cost", () => {
    const html = renderHtml(
      report({
        stats: { sourceObjects: 3_000, destinationObjects: 2, copied: 2_999, updated: 1, unchanged: 0, extra: 1, bytes: 1_572_864 },
        run: RUN,
      }),
    );
    const page = text(html);
    assert.ok(page.startsWith("Synced 2,999 copied, 1 updated; 1.5 MiB copied in 3.5 s."), page.slice(0, 200));
    assert.match(page, /s3:\/\/dev-data\/site\/ → s3:\/\/prod-data\/ · backup/);
    assert.match(page, /Copied 2,999 Updated 1 Unchanged 0 Kept, only in destination 1 Failed 0 Data copied 1\.5 MiB Listed in source 3,000 Listed in destination 2/);
    assert.doesNotMatch(page, /copiedToSource|destinationObjects|deleteDecision/, "no camelCase counters");
    assert.doesNotMatch(page, /Copied to source|Deleted|Conflicts/, "only the counters of the run's mode");
    assert.match(page, /Timing Total: 3\.5 s ?, 17 state transitions\. Phase Time Validate and plan 120 ms List, compare and copy 3\.1 s Report 230 ms/);
    assert.match(page, /Step Functions: 17 state transitions \$0\.000425 Lambda: handler time and requests \$0\.000062 Total \$0\.000487/);
    assert.doesNotMatch(page, /Failures|Limits/, "no failures or limits section when there are none");
  });

  it("is self-contained: no scripts, stylesheets, images or fonts to fetch", () => {
    const html = renderHtml(report({ run: RUN }));
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(|\bsrc=|\bhref=/i);
  });

  it("escapes keys and messages", () => {
    const html = renderHtml(
      report({
        stats: { copied: 1, failed: 1 },
        summary: {
          changes: [{ key: "<script>alert(1)</script>", action: "copy", reason: "missing", size: 1 }],
          failures: [{ key: "a&b\"'.txt", action: "copy", error: "AccessDenied", message: "<denied>" }],
        },
      }),
    );
    assert.ok(!html.includes("<script>alert"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(html.includes("a&amp;b&quot;&#39;.txt") && html.includes("&lt;denied&gt;"));
  });

  it("lists failures with the verdict saying so, and says nothing was deleted when copies failed in a mirror", () => {
    const page = text(
      renderHtml(
        report({
          request: { mode: "mirror" },
          stats: { copied: 3, failed: 2, extra: 4 },
          summary: {
            plannedDeletes: 4,
            deleteLimit: 10,
            deleteDecision: "blocked-by-failures",
            failures: [
              { key: "z", action: "copy", error: "AccessDenied", message: "Access Denied" },
              { key: "a", action: "copy", error: "SlowDown", message: "Please reduce your request rate" },
            ],
          },
        }),
      ),
    );
    assert.ok(page.startsWith("Failed: 2 objects could not be copied, so nothing was deleted"), page.slice(0, 120));
    assert.match(page, /Failures \(2\) Key Action Error Message a copy SlowDown Please reduce your request rate z copy AccessDenied Access Denied/);
    assert.match(page, /Deletes 4 objects only in the destination; nothing was deleted because 2 copies failed/);
  });

  it("sorts changes by key with their reasons and shows conflicts with the newer side", () => {
    const changes: SyncChange[] = [
      { key: "zeta", action: "copy", reason: "missing", size: 2048 },
      { key: "conflicted", action: "conflict", reason: "content", size: 5, newer: "destination" },
      { key: "alpha", action: "copy-to-source", reason: "missing in source", size: 10 },
      { key: "mid", action: "update", reason: "metadata", size: 0 },
    ];
    const page = text(
      renderHtml(
        report({
          request: { mode: "two-way" },
          stats: { copied: 1, updated: 1, copiedToSource: 1, conflicts: 1, bytes: 2058 },
          summary: { changes },
        }),
      ),
    );
    assert.ok(page.startsWith("Synced, with 1 conflict left for you"), page.slice(0, 80));
    assert.match(page, /Copied to source 1/);
    assert.match(page, /Conflicts \(1\) .* Key Difference Newer side conflicted content differs destination/);
    assert.match(
      page,
      /Changes \(3\) Key Action Reason Size alpha copy to source missing in source 10 B mid update metadata differs 0 B zeta copy missing in destination 2 KiB/,
    );
  });

  it("words a dry run and an approved over-limit mirror", () => {
    const dry = text(
      renderHtml(
        report({
          request: { mode: "mirror", dryRun: true, maxDeletes: 1 },
          stats: { copied: 1, extra: 3, bytes: 10 },
          summary: { plannedDeletes: 3, deleteLimit: 1, changes: [{ key: "x", action: "delete", reason: "extra" }] },
        }),
      ),
    );
    assert.ok(dry.startsWith("Dry run: nothing was written 1 would be copied, 3 would be deleted; 10 B to copy"), dry.slice(0, 120));
    assert.match(dry, /Would copy 1 .*Would delete 3/);
    assert.match(dry, /Would delete 3 objects only in the destination: over the limit \(1 object\), so the real run deletes only after approval/);
    assert.match(dry, /x would delete only in destination/);

    const approved = text(
      renderHtml(
        report({
          request: { mode: "mirror", maxDeletes: "10%" },
          stats: { destinationObjects: 20, unchanged: 17, extra: 3, deleted: 3 },
          summary: { phase: "delete", plannedDeletes: 3, deleteLimit: 2, deleteDecision: "over-limit" },
        }),
      ),
    );
    assert.match(approved, /Deleted 3 of 3 objects only in the destination: over the limit \(10% of the destination, 2 objects\), approved\./);
  });

  it("shows the limits a run measured, with their bounds", () => {
    const limits = { partitions: 16, maxStateBytes: 48_128, stateBytesLimit: 262_144, historyEvents: 212, historyEventsLimit: 25_000 };
    const page = text(renderHtml(report({ run: { ...RUN, limits } })));
    assert.match(page, /Limits Measure This run Used of the limit Partitions 16 Largest state data 47 KiB 18% of 256 KiB Execution history events 212 1% of 25,000 /);
    assert.doesNotMatch(page, /State bytes limit|Limit 256/, "bounds are shown beside their measures, not as rows");
    const small = text(renderHtml(report({ run: { ...RUN, limits: { historyEvents: 43, historyEventsLimit: 25_000 } } })));
    assert.match(small, /Execution history events 43 under 1% of 25,000/, "a small share is not shown as 0%");
  });

  it("without measurements (a deployed run) shows the duration from the execution's start", () => {
    const page = text(renderHtml(report({ stats: { unchanged: 5 } })));
    assert.ok(page.startsWith("In sync: nothing needed to change All 5 objects unchanged in 3.5 s."), page.slice(0, 100));
    assert.match(page, /Total: 3\.5 s from the execution's start/);
    assert.doesNotMatch(page, /Cost estimate/);
  });
});
