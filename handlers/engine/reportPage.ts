/**
 * The run report as a page people open: one self-contained HTML document (inline styles, no
 * scripts, fonts or images to fetch), verdict first, then the counts in words, the delete guard,
 * timing, cost, limits, failures, conflicts and changes. A pure function of the report document,
 * so the same page comes from a Lambda writing to S3 and from a local run writing to disk.
 */
import { deletesExtras, type SyncChange, type SyncSummary } from "../../model/contract";
import { compareKeys } from "./keys";

/**
 * What the machine that ran the state machine measured. Local runs know it (the interpreter's
 * events and the handlers' time); a deployed write-report task does not, and its page shows the
 * duration from the execution's start instead.
 */
export interface RunFacts {
  /** Wall time of the whole run. */
  durationMs: number;
  /** Consecutive phases in the order they ran, each with its wall time. */
  phases: Array<{ name: string; ms: number }>;
  stateTransitions: number;
  /** Estimated AWS cost in USD, priced at the list prices in pricing/prices.ts. */
  estimatedCostUsd: { transitions: number; lambda: number; total: number };
  /** How close the run came to the platform's limits, when the runner measured them. */
  limits?: Record<string, number>;
}

/** The run's change log beside the report: its file name and how many changes it lists. */
export interface ChangeLogFacts {
  file: string;
  lines: number;
}

/** The report document (what report.json holds). */
export interface SyncReport {
  execution: string;
  startTime?: string;
  generatedAt: string;
  outcome: "succeeded" | "failed";
  summary: SyncSummary;
  run?: RunFacts;
  /** Every change of the run, in key order, in this file beside report.json (absent: no log was written). */
  changeLog?: ChangeLogFacts;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** `1,234`. */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** `1 object`, `3 objects`. */
const objects = (n: number) => `${formatCount(n)} ${n === 1 ? "object" : "objects"}`;

/** Bytes in binary units as `aws s3` and rclone print them: `512 B`, `1.5 KiB`, `3.25 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${formatCount(value)} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

/** `850 ms`, `4.2 s`, `2 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${two(seconds % 60)} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${two(minutes % 60)} min`;
}

/** US dollars with enough digits to show a fraction of a cent. */
export function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd >= 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(6)}`;
}

/** A change's action and reason in words. */
const ACTION_LABELS: Record<SyncChange["action"], string> = {
  copy: "copy",
  update: "update",
  "copy-to-source": "copy to source",
  delete: "delete",
  conflict: "conflict",
};
const REASON_LABELS: Record<string, string> = {
  missing: "missing in destination",
  "missing in source": "missing in source",
  size: "size differs",
  content: "content differs",
  metadata: "metadata differs",
  extra: "only in destination",
};
const NEWER_LABELS: Record<NonNullable<SyncChange["newer"]>, string> = {
  source: "source",
  destination: "destination",
  same: "neither (same time)",
};

/**
 * Known limits in words. A measure's bound is the entry named `<measure>Limit` (or, for
 * `maxX`, `xLimit`), as the runner reports them; the page shows how much of it the run used.
 */
const LIMIT_LABELS: Record<string, string> = {
  partitions: "Partitions",
  maxStateBytes: "Largest state data",
  historyEvents: "Execution history events",
};

/** `maxStateBytes` -> `Max state bytes`, for limits this page has no words for. */
const words = (name: string) => {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
};

const location = (l: { bucket: string; prefix: string }) => `s3://${l.bucket}/${l.prefix}`;

/** The headline: what happened, in one word or phrase, and its tone. */
function verdict(report: SyncReport): { tone: "ok" | "warn" | "fail" | "dry"; title: string } {
  const { stats, job, deleteDecision, phase } = report.summary;
  if (stats.failed > 0) {
    if (phase === "copy" && deleteDecision === "blocked-by-failures" && deletesExtras(job)) {
      return { tone: "fail", title: `Failed: ${objects(stats.failed)} could not be copied, so nothing was deleted` };
    }
    return { tone: "fail", title: `Failed: ${objects(stats.failed)} could not be synced` };
  }
  const conflicts = stats.conflicts === 1 ? "1 conflict" : `${formatCount(stats.conflicts)} conflicts`;
  if (job.dryRun) return { tone: "dry", title: `Dry run: nothing was written${stats.conflicts ? `; ${conflicts}` : ""}` };
  if (stats.conflicts > 0) return { tone: "warn", title: `Synced, with ${conflicts} left for you` };
  const changed = stats.copied + stats.updated + stats.copiedToSource + stats.deleted;
  if (job.mode === "restore") return { tone: "ok", title: `Restored as of ${job.asOf}` };
  return { tone: "ok", title: changed === 0 ? "In sync: nothing needed to change" : "Synced" };
}

/** The sentence under the headline: the changes made (or that would be) and the data moved. */
function lead(report: SyncReport, durationMs: number | undefined): string {
  const { stats, job, plannedDeletes } = report.summary;
  const dry = job.dryRun;
  const parts = [
    [stats.copied, dry ? "would be copied" : "copied"],
    [stats.updated, dry ? "would be updated" : "updated"],
    [stats.copiedToSource, dry ? "would be copied to the source" : "copied to the source"],
    [dry ? plannedDeletes : stats.deleted, dry ? "would be deleted" : "deleted"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${formatCount(n as number)} ${what}`);
  const changes = parts.length > 0 ? parts.join(", ") : `all ${formatCount(stats.unchanged)} objects unchanged`;
  const data = stats.bytes > 0 ? `; ${formatBytes(stats.bytes)} ${dry ? "to copy" : "copied"}` : "";
  const time = durationMs === undefined ? "" : ` in ${formatDuration(durationMs)}`;
  return `${changes.charAt(0).toUpperCase()}${changes.slice(1)}${data}${time}.`;
}

/** The counters that apply to the run's mode, labelled in words. */
function figures(summary: SyncSummary): Array<{ label: string; value: string; tone?: "fail" | "warn" }> {
  const { stats, job } = summary;
  const dry = job.dryRun;
  const rows: Array<{ label: string; value: string; tone?: "fail" | "warn"; show: boolean }> = [
    { label: dry ? "Would copy" : "Copied", value: formatCount(stats.copied), show: true },
    { label: dry ? "Would update" : "Updated", value: formatCount(stats.updated), show: true },
    { label: dry ? "Would copy to source" : "Copied to source", value: formatCount(stats.copiedToSource), show: job.mode === "two-way" },
    {
      label: dry ? "Would delete" : "Deleted",
      value: formatCount(dry ? summary.plannedDeletes : stats.deleted),
      show: deletesExtras(job),
    },
    { label: "Unchanged", value: formatCount(stats.unchanged), show: true },
    { label: job.mode === "backup" ? "Kept, only in destination" : "Only in destination", value: formatCount(stats.extra), show: job.mode !== "two-way" },
    { label: "Conflicts", value: formatCount(stats.conflicts), tone: stats.conflicts > 0 ? "warn" : undefined, show: job.mode === "two-way" },
    { label: "Failed", value: formatCount(stats.failed), tone: stats.failed > 0 ? "fail" : undefined, show: true },
    { label: dry ? "Data to copy" : "Data copied", value: formatBytes(stats.bytes), show: true },
    { label: "Listed in source", value: formatCount(stats.sourceObjects), show: true },
    { label: "Listed in destination", value: formatCount(stats.destinationObjects), show: true },
  ];
  return rows.filter((row) => row.show).map(({ label, value, tone }) => ({ label, value, tone }));
}

/** The delete guard's decision in words; undefined when the mode never deletes. */
function deleteGuard(summary: SyncSummary): string | undefined {
  const { job, plannedDeletes, deleteLimit, deleteDecision, stats } = summary;
  if (!deletesExtras(job)) return undefined;
  const limit = "percent" in job.maxDeletes ? `${job.maxDeletes.percent}% of the destination, ${objects(deleteLimit)}` : objects(deleteLimit);
  const planned = `${objects(plannedDeletes)} only in the destination`;
  if (deleteDecision === "blocked-by-failures") {
    return `${planned}; nothing was deleted because ${formatCount(stats.failed)} ${stats.failed === 1 ? "copy" : "copies"} failed: deletes only follow a copy phase without failures.`;
  }
  if (job.dryRun) {
    if (plannedDeletes === 0) return "Nothing to delete.";
    return plannedDeletes > deleteLimit
      ? `Would delete ${planned}: over the limit (${limit}), so the real run deletes only after approval (--approve-deletes, or the approval request of a deployed run).`
      : `Would delete ${planned}: within the limit (${limit}).`;
  }
  if (deleteDecision === "over-limit") return `Deleted ${formatCount(stats.deleted)} of ${planned}: over the limit (${limit}), approved.`;
  if (deleteDecision === "within-limit") return `Deleted ${formatCount(stats.deleted)} of ${planned}: within the limit (${limit}).`;
  return "Nothing to delete.";
}

const table = (head: string[], rows: string[][], className = "") =>
  `<table${className ? ` class="${className}"` : ""}><thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join("")}</tr></thead>
<tbody>${rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join("")}</tr>`).join("\n")}</tbody></table>`;

const section = (id: string, title: string, body: string) => `<section id="${id}"><h2>${title}</h2>\n${body}\n</section>`;

function timingSection(report: SyncReport, durationMs: number | undefined): string {
  const run = report.run;
  if (!run) {
    const total = durationMs === undefined ? "" : `<p>Total: <b>${formatDuration(durationMs)}</b> from the execution's start to this report.</p>`;
    return section("timing", "Timing", `${total}<p class="note">Per-phase timing: the execution's history in the Step Functions console.</p>`);
  }
  const longest = Math.max(1, ...run.phases.map((phase) => phase.ms));
  const rows = run.phases.map((phase) => [
    escapeHtml(phase.name),
    `<span class="num">${formatDuration(phase.ms)}</span>`,
    `<span class="bar" style="width:${Math.max(1, Math.round((phase.ms / longest) * 100))}%"></span>`,
  ]);
  return section(
    "timing",
    "Timing",
    `<p>Total: <b>${formatDuration(run.durationMs)}</b>, ${formatCount(run.stateTransitions)} state transitions.</p>\n${table(["Phase", "Time", ""], rows, "timing")}`,
  );
}

function costSection(run: RunFacts | undefined): string {
  if (!run) return "";
  const cost = run.estimatedCostUsd;
  const rows = [
    [`Step Functions: ${formatCount(run.stateTransitions)} state transitions`, `<span class="num">${formatUsd(cost.transitions)}</span>`],
    ["Lambda: handler time and requests", `<span class="num">${formatUsd(cost.lambda)}</span>`],
    ["<b>Total</b>", `<span class="num"><b>${formatUsd(cost.total)}</b></span>`],
  ];
  return section(
    "cost",
    "Cost estimate",
    `${table(["What this run would cost on AWS", "USD"], rows)}\n<p class="note">AWS list prices (us-east-1) for a Standard workflow and 1 GB functions; S3 requests and data transfer are billed by S3 on top.</p>`,
  );
}

/** `18%`; `under 1%` rather than a `0%` that reads as unused. */
export function share(value: number, bound: number): string {
  const percent = (value / bound) * 100;
  return percent > 0 && percent < 0.5 ? "under 1%" : `${Math.round(percent)}%`;
}

function limitsSection(limits: Record<string, number> | undefined): string {
  if (!limits || Object.keys(limits).length === 0) return "";
  const boundOf = (name: string) => {
    const unprefixed = name.replace(/^max([A-Z])/, (_, c: string) => c.toLowerCase());
    for (const candidate of [`${name}Limit`, `${unprefixed}Limit`]) if (candidate in limits) return candidate;
    return undefined;
  };
  const bounds = new Set(Object.keys(limits).map(boundOf).filter((name): name is string => name !== undefined));
  const shown = (name: string, value: number) => (/bytes/i.test(name) ? formatBytes(value) : formatCount(value));
  const rows = Object.entries(limits)
    .filter(([name]) => !bounds.has(name))
    .map(([name, value]) => {
      const bound = boundOf(name);
      const of = bound === undefined ? "" : `${share(value, limits[bound])} of ${shown(bound, limits[bound])}`;
      return [escapeHtml(LIMIT_LABELS[name] ?? words(name)), `<span class="num">${shown(name, value)}</span>`, escapeHtml(of)];
    });
  return section("limits", "Limits", table(["Measure", "This run", "Used of the limit"], rows));
}

/** Renders the report as a self-contained HTML page. Pure: the same document gives the same page. */
/** Under a sample of the changes: how many more there are, and where all of them are listed. */
function sampleNote(report: SyncReport, shown: number, total: number): string {
  const sample = `A sample of ${formatCount(shown)} of ${formatCount(total)} changes, sorted by key.`;
  if (!report.changeLog) return sample;
  const more = Math.max(0, report.changeLog.lines - shown);
  return `${sample} ${formatCount(more)} more in <a href="${escapeHtml(report.changeLog.file)}">${escapeHtml(report.changeLog.file)}</a>, beside this page.`;
}

export function renderHtml(report: SyncReport): string {
  const { summary } = report;
  const { job, stats } = summary;
  const started = report.startTime ? Date.parse(report.startTime) : NaN;
  const durationMs = report.run?.durationMs ?? (Number.isNaN(started) ? undefined : Date.parse(report.generatedAt) - started);
  const head = verdict(report);
  const guard = deleteGuard(summary);

  const failures =
    summary.failures.length === 0 && stats.failed === 0
      ? ""
      : section(
          "failures",
          `Failures (${formatCount(stats.failed)})`,
          `${table(
            ["Key", "Action", "Error", "Message"],
            [...summary.failures]
              .sort((a, b) => compareKeys(a.key, b.key))
              .map((f) => [`<code>${escapeHtml(f.key)}</code>`, escapeHtml(f.action), escapeHtml(f.error), escapeHtml(f.message)]),
          )}${summary.failures.length < stats.failed ? `\n<p class="note">The first ${formatCount(summary.failures.length)} of ${formatCount(stats.failed)}.</p>` : ""}`,
        );

  const conflictChanges = summary.changes.filter((c) => c.action === "conflict").sort((a, b) => compareKeys(a.key, b.key));
  const conflicts =
    stats.conflicts === 0
      ? ""
      : section(
          "conflicts",
          `Conflicts (${formatCount(stats.conflicts)})`,
          `<p>Changed on both sides since they last matched; left as they are (--conflict-policy report). Resolve them by hand, or run with --conflict-policy newer-wins to keep the newer side.</p>
${table(
  ["Key", "Difference", "Newer side"],
  conflictChanges.map((c) => [`<code>${escapeHtml(c.key)}</code>`, escapeHtml(REASON_LABELS[c.reason] ?? c.reason), escapeHtml(c.newer ? NEWER_LABELS[c.newer] : "unknown")]),
)}`,
        );

  const changes = summary.changes.filter((c) => c.action !== "conflict").sort((a, b) => compareKeys(a.key, b.key));
  const changeCount = stats.copied + stats.updated + stats.copiedToSource + (job.dryRun ? summary.plannedDeletes : stats.deleted);
  const changesSection = section(
    "changes",
    `Changes (${formatCount(changeCount)})`,
    changes.length === 0
      ? `<p>${changeCount === 0 ? "None." : "No sample of them was kept."}</p>`
      : `${table(
          ["Key", "Action", "Reason", "Size"],
          changes.map((c) => [
            `<code>${escapeHtml(c.key)}</code>`,
            escapeHtml(job.dryRun ? `would ${ACTION_LABELS[c.action]}` : ACTION_LABELS[c.action]),
            escapeHtml(REASON_LABELS[c.reason] ?? c.reason),
            `<span class="num">${c.size === undefined ? "" : formatBytes(c.size)}</span>`,
          ]),
        )}${changes.length < changeCount ? `\n<p class="note">${sampleNote(report, changes.length, changeCount)}</p>` : ""}`,
  );

  const route = `<code>${escapeHtml(location(job.source))}</code> &rarr; <code>${escapeHtml(location(job.destination))}</code>`;
  const mode = `${escapeHtml(job.mode)}${job.mode === "two-way" ? ` (conflicts: ${escapeHtml(job.conflictPolicy)})` : ""}${job.dryRun ? " &middot; dry run" : ""}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bucket-sync: ${escapeHtml(head.title)}</title>
<style>
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--card:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--fail:#d1242f;--dry:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#3d444d;--card:#151b23;--ok:#3fb950;--warn:#d29922;--fail:#f85149;--dry:#4493f8}}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;padding:1.5rem;max-width:64rem}
header.verdict{border-left:.5rem solid var(--tone);padding:.75rem 1.25rem;background:var(--card);border-radius:.5rem}
.ok{--tone:var(--ok)}.warn{--tone:var(--warn)}.fail{--tone:var(--fail)}.dry{--tone:var(--dry)}
h1{margin:0;font-size:1.75rem;color:var(--tone)}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
.lead{font-size:1.1rem;margin:.25rem 0}.route,.note,footer{color:var(--muted)}.route{margin:.25rem 0 0}
dl.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem;margin:0}
dl.figures div{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.5rem .75rem}
dl.figures dt{color:var(--muted);font-size:.85rem}dl.figures dd{margin:0;font-size:1.4rem;font-weight:600;font-variant-numeric:tabular-nums}
dl.figures div.fail dd{color:var(--fail)}dl.figures div.warn dd{color:var(--warn)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}tbody tr:nth-child(even){background:var(--card)}
td code{word-break:break-all}.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.timing td:last-child{width:50%}.bar{display:block;height:.8rem;background:var(--dry);border-radius:.2rem;opacity:.7}
footer{margin-top:2rem;font-size:.85rem;border-top:1px solid var(--line);padding-top:.5rem}
</style>
</head><body>
<header class="verdict ${head.tone}">
<h1>${escapeHtml(head.title)}</h1>
<p class="lead">${escapeHtml(lead(report, durationMs))}</p>
<p class="route">${route} &middot; ${mode}</p>
</header>
${section(
  "counts",
  "Objects",
  `<dl class="figures">${figures(summary)
    .map((f) => `<div${f.tone ? ` class="${f.tone}"` : ""}><dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd></div>`)
    .join("")}</dl>`,
)}
${guard ? section("deletes", "Deletes", `<p>${escapeHtml(guard)}</p>`) : ""}
${timingSection(report, durationMs)}
${costSection(report.run)}
${limitsSection(report.run?.limits)}
${failures}
${conflicts}
${changesSection}
<footer>Execution <code>${escapeHtml(report.execution)}</code>${report.startTime ? ` &middot; started ${escapeHtml(report.startTime)}` : ""} &middot; report written ${escapeHtml(report.generatedAt)} &middot; the same data as JSON: report.json beside this page</footer>
</body></html>
`;
}
