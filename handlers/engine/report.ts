/**
 * The run report: JSON for machines, HTML for people, written next to each other in S3, with a
 * presigned link (valid one hour) for the notification.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ReportLocation, WriteReportInput } from "../../model/contract";
import { CHANGE_LOG_FILE, type ChunkSource, mergeChangeChunks } from "./changeLog";
import { type ChangeLogFacts, renderHtml, type RunFacts, type SyncReport } from "./reportPage";

/** How long the report link in a notification stays valid: the most the design allows. */
export const REPORT_URL_SECONDS = 3600;

/** The report document of a run; `run` holds what the runner measured, when it measured it. */
export function buildReport(input: WriteReportInput, now = new Date(), run?: RunFacts, changeLog?: ChangeLogFacts): SyncReport {
  return {
    execution: input.execution?.name ?? `run-${now.toISOString().replace(/[:.]/g, "-")}`,
    startTime: input.execution?.startTime,
    generatedAt: now.toISOString(),
    outcome: input.summary.stats.failed > 0 ? "failed" : "succeeded",
    summary: input.summary,
    ...(run ? { run } : {}),
    ...(changeLog ? { changeLog } : {}),
  };
}

/** The key of a run's change log: beside its report.json, under the same prefix (and so the same retention). */
export function changeLogKey(prefix: string, execution: string): string {
  return `${prefix}${execution}/${CHANGE_LOG_FILE}`;
}

/**
 * Merges a run's change chunks into one object: a single PutObject when it fits one 8 MiB block,
 * else a multipart upload of 8 MiB parts, so a log of 10^8 lines never sits in memory whole. A
 * failed upload is aborted. Returns the number of changes.
 */
export async function writeChangeLog(
  client: S3Client,
  location: { bucket: string; key: string },
  chunks: ChunkSource[],
): Promise<number> {
  const common = { Bucket: location.bucket, Key: location.key };
  let first: string | undefined;
  let uploadId: string | undefined;
  const parts: Array<{ ETag?: string; PartNumber: number }> = [];
  const upload = async (body: string) => {
    if (uploadId === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand({ ...common, ContentType: "application/jsonl" }));
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    const part = await client.send(new UploadPartCommand({ ...common, UploadId: uploadId, PartNumber, Body: body }));
    parts.push({ ETag: part.ETag, PartNumber });
  };
  try {
    const lines = await mergeChangeChunks(chunks, async (block) => {
      if (first === undefined) {
        first = block;
        return;
      }
      if (uploadId === undefined) await upload(first);
      await upload(block);
    });
    if (uploadId === undefined) {
      await client.send(new PutObjectCommand({ ...common, Body: first ?? "", ContentType: "application/jsonl" }));
    } else {
      await client.send(new CompleteMultipartUploadCommand({ ...common, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    }
    return lines;
  } catch (err) {
    if (uploadId !== undefined) await client.send(new AbortMultipartUploadCommand({ ...common, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
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
  changeLog?: ChangeLogFacts,
): Promise<ReportLocation> {
  const report = buildReport(input, new Date(), run, changeLog);
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
  return { bucket: location.bucket, jsonKey, htmlKey, url, ...(changeLog ? { changesKey: changeLogKey(location.prefix, report.execution), changeCount: changeLog.lines } : {}) };
}
