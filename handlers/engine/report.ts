/**
 * The run report: JSON for machines, HTML for people, written next to each other in S3, with a
 * presigned link (valid one hour) for the notification.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ReportLocation, SyncStats, SyncSummary, WriteReportInput } from "../../model/contract";

/** How long the report link in a notification stays valid: the most the design allows. */
export const REPORT_URL_SECONDS = 3600;

/** The report document (what report.json holds). */
export interface SyncReport {
  execution: string;
  startTime?: string;
  generatedAt: string;
  outcome: "succeeded" | "failed";
  summary: SyncSummary;
}

export function buildReport(input: WriteReportInput, now = new Date()): SyncReport {
  return {
    execution: input.execution?.name ?? `run-${now.toISOString().replace(/[:.]/g, "-")}`,
    startTime: input.execution?.startTime,
    generatedAt: now.toISOString(),
    outcome: input.summary.stats.failed > 0 ? "failed" : "succeeded",
    summary: input.summary,
  };
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** Renders the report as a self-contained HTML page. */
export function renderHtml(report: SyncReport): string {
  const { summary } = report;
  const { job } = summary;
  const counters = Object.entries(summary.stats) as Array<[keyof SyncStats, number]>;
  const rows = (items: Array<Record<string, unknown>>, columns: string[]) =>
    items
      .map((item) => `<tr>${columns.map((c) => `<td>${escapeHtml(String(item[c] ?? ""))}</td>`).join("")}</tr>`)
      .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bucket-sync ${escapeHtml(report.execution)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>
</head><body>
<h1>bucket-sync: ${escapeHtml(report.outcome)}</h1>
<p>s3://${escapeHtml(job.source.bucket)}/${escapeHtml(job.source.prefix)} &rarr; s3://${escapeHtml(job.destination.bucket)}/${escapeHtml(job.destination.prefix)}
 &middot; mode <b>${escapeHtml(job.mode)}</b>${job.dryRun ? " &middot; <b>dry run</b>" : ""} &middot; execution ${escapeHtml(report.execution)} &middot; ${escapeHtml(report.generatedAt)}</p>
<h2>Counts</h2>
<table>${counters.map(([name, value]) => `<tr><th>${name}</th><td>${value}</td></tr>`).join("")}
<tr><th>plannedDeletes</th><td>${summary.plannedDeletes}</td></tr><tr><th>deleteLimit</th><td>${summary.deleteLimit}</td></tr>
<tr><th>deleteDecision</th><td>${escapeHtml(summary.deleteDecision)}</td></tr></table>
<h2>Failures (${summary.stats.failed})</h2>
<table><tr><th>key</th><th>action</th><th>error</th><th>message</th></tr>
${rows(summary.failures as unknown as Array<Record<string, unknown>>, ["key", "action", "error", "message"])}</table>
<h2>Changes (first ${summary.changes.length})</h2>
<table><tr><th>key</th><th>action</th><th>reason</th><th>size</th></tr>
${rows(summary.changes as unknown as Array<Record<string, unknown>>, ["key", "action", "reason", "size"])}</table>
</body></html>
`;
}

/** Writes report.json and report.html under `prefix/<execution>/` and presigns the HTML. */
export async function writeReport(
  client: S3Client,
  location: { bucket: string; prefix: string },
  input: WriteReportInput,
): Promise<ReportLocation> {
  const report = buildReport(input);
  const base = `${location.prefix}${report.execution}/report`;
  const jsonKey = `${base}.json`;
  const htmlKey = `${base}.html`;
  await Promise.all([
    client.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: jsonKey,
        Body: JSON.stringify(report, null, 2),
        ContentType: "application/json",
      }),
    ),
    client.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: htmlKey,
        Body: renderHtml(report),
        ContentType: "text/html; charset=utf-8",
      }),
    ),
  ]);
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: location.bucket, Key: htmlKey }), {
    expiresIn: REPORT_URL_SECONDS,
  });
  return { bucket: location.bucket, jsonKey, htmlKey, url };
}
