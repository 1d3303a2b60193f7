/**
 * The run report: JSON for machines, HTML for people, written next to each other in S3, with a
 * presigned link (valid one hour) for the notification.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ReportLocation, WriteReportInput } from "../../model/contract";
import { renderHtml, type RunFacts, type SyncReport } from "./reportPage";

/** How long the report link in a notification stays valid: the most the design allows. */
export const REPORT_URL_SECONDS = 3600;

/** The report document of a run; `run` holds what the runner measured, when it measured it. */
export function buildReport(input: WriteReportInput, now = new Date(), run?: RunFacts): SyncReport {
  return {
    execution: input.execution?.name ?? `run-${now.toISOString().replace(/[:.]/g, "-")}`,
    startTime: input.execution?.startTime,
    generatedAt: now.toISOString(),
    outcome: input.summary.stats.failed > 0 ? "failed" : "succeeded",
    summary: input.summary,
    ...(run ? { run } : {}),
  };
}

/**
 * Writes report.json and report.html under `prefix/<execution>/` and presigns the HTML. Writing
 * again for the same execution replaces both (a local run adds what it measured once it ends).
 */
export async function writeReport(
  client: S3Client,
  location: { bucket: string; prefix: string },
  input: WriteReportInput,
  run?: RunFacts,
): Promise<ReportLocation> {
  const report = buildReport(input, new Date(), run);
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
