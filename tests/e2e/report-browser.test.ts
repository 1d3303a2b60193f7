/**
 * The report page in a real headless browser: `bucket-sync sync` runs against the embedded S3,
 * and the page it prints is opened in chromium. The page loads with nothing to fetch and no
 * errors, the verdict is on top, and its visible text shows the run's own numbers (those of the
 * `--json` document), the delete guard, the changes sorted by key, and conflicts with the newer side.
 */
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Browser } from "playwright-core";
import { formatBytes, formatCount, formatDuration, formatUsd, share } from "../../handlers/engine/reportPage";
import type { EmbeddedS3 } from "../../s3-server/embeddedS3";
import { startS3rverProcess } from "../servers/s3rver";
import { browserUnavailableReason, launchBrowser, openFile } from "../helpers/browser";
import { credentialsEnv, runCli } from "../helpers/cli";
import { countingClient, newBucket, put, putMany } from "../helpers/s3";

/** Visible text with whitespace collapsed. */
const squash = (text: string) => text.replace(/\s+/g, " ").trim();

describe("report page in a headless browser", function () {
  this.timeout(120_000);
  let browser: Browser;
  let s3: EmbeddedS3;
  let client: S3Client;
  let reports: string;

  before(async function () {
    const reason = browserUnavailableReason();
    if (reason && process.env.CI === "true") throw new Error(`the report's browser check is required in CI: ${reason}`);
    if (reason) {
      console.log(`      skipped: report browser check: ${reason}`);
      this.skip();
    }
    browser = await launchBrowser();
    s3 = await startS3rverProcess();
    client = countingClient(s3).client;
    reports = await mkdtemp(join(tmpdir(), "bucket-sync-browser-"));
  });
  after(async () => {
    await browser?.close();
    client?.destroy();
    await s3?.stop();
    if (reports) await rm(reports, { recursive: true, force: true });
  });

  const syncJson = async (source: string, destination: string, args: string[]) => {
    const run = await runCli(
      ["sync", `s3://${source}`, `s3://${destination}`, "--endpoint", s3.endpoint, "--report-to", reports, "--json", ...args],
      { env: credentialsEnv(s3) },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    return JSON.parse(run.stdout);
  };

  it("shows a mirror run's verdict, counts, bytes, timing, cost, approved deletes and sorted changes", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["c", "a", "b/deep", "same"]);
    await put(client, source, "changed", "the new, longer content");
    await putMany(client, destination, ["same", "x1", "x2"]);
    await put(client, destination, "changed", "old");
    const doc = await syncJson(source, destination, ["--mode", "mirror", "--max-deletes", "1", "--approve-deletes"]);
    assert.deepEqual([doc.copied, doc.updated, doc.deleted, doc.unchanged], [3, 1, 2, 1]);

    const { page, otherRequests, errors } = await openFile(browser, doc.report.htmlKey);
    try {
      assert.deepEqual(otherRequests, [], "the page fetches nothing");
      assert.deepEqual(errors, []);
      const verdict = page.locator("h1");
      assert.equal(squash(await verdict.innerText()), "Synced");
      const box = await verdict.boundingBox();
      assert.ok(box && box.y < 100, `the verdict is at the top of the page (y=${box?.y})`);
      // Runs in the page; the specs compile without the DOM's types.
      const display = await page.locator("dl.figures").evaluate(
        (dl) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(dl).display,
      );
      assert.equal(display, "grid", "the page is styled");

      const text = squash(await page.locator("body").innerText());
      assert.ok(text.startsWith(`Synced 3 copied, 1 updated, 2 deleted; ${formatBytes(doc.bytes)} copied in ${formatDuration(doc.durationMs)}.`), text.slice(0, 200));
      for (const [label, value] of [
        ["Copied", doc.copied],
        ["Updated", doc.updated],
        ["Deleted", doc.deleted],
        ["Unchanged", doc.unchanged],
        ["Failed", doc.failed],
      ]) {
        assert.ok(text.includes(`${label} ${formatCount(value)}`), `${label} ${value} in: ${text}`);
      }
      assert.ok(text.includes(`Data copied ${formatBytes(doc.bytes)}`), text);
      assert.ok(text.includes(`Total: ${formatDuration(doc.durationMs)}, ${doc.stateTransitions} state transitions.`), text);
      assert.match(text, /Phase Time Validate and plan \d+ ms List, compare and copy [\d.]+ m?s Summarize \d+ ms Delete approval \d+ ms Delete [\d.]+ m?s/);
      assert.ok(text.includes(`Total ${formatUsd(doc.estimatedCostUsd.total)}`), text);
      const { limits } = doc;
      assert.ok(
        text.includes(
          `Limits Measure This run Used of the limit Partitions ${limits.partitions} Largest state data ${formatBytes(limits.maxStateBytes)} ` +
            `${share(limits.maxStateBytes, limits.stateBytesLimit)} of 256 KiB Execution history events ${formatCount(limits.historyEvents)} ` +
            `${share(limits.historyEvents, limits.historyEventsLimit)} of 25,000`,
        ),
        text,
      );
      assert.ok(text.includes("Deleted 2 of 2 objects only in the destination: over the limit (1 object), approved."), text);
      assert.match(text, /Key Action Reason Size a copy missing in destination \d+ B b\/deep copy .* c copy .* changed update size differs 23 B x1 delete only in destination x2 delete/);
      assert.equal(await page.locator("#failures").count(), 0, "no failures section without failures");
      assert.doesNotMatch(text, /copiedToSource|deleteDecision|destinationObjects/);
    } finally {
      await page.close();
    }
  });

  it("shows a two-way run's both directions and its conflict with the newer side", async () => {
    const source = await newBucket(client, "src");
    const destination = await newBucket(client, "dst");
    await putMany(client, source, ["from-source"]);
    await putMany(client, destination, ["from-destination"]);
    await put(client, source, "both", "source side");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // LastModified may have 1 s resolution
    await put(client, destination, "both", "destination side, newer");
    const doc = await syncJson(source, destination, ["--mode", "two-way"]);
    assert.deepEqual([doc.copied, doc.copiedToSource, doc.conflicts], [1, 1, 1]);

    const { page, errors } = await openFile(browser, doc.report.htmlKey);
    try {
      assert.deepEqual(errors, []);
      const text = squash(await page.locator("body").innerText());
      assert.ok(text.startsWith("Synced, with 1 conflict left for you 1 copied, 1 copied to the source;"), text.slice(0, 200));
      assert.ok(text.includes("Copied 1 Updated 0 Copied to source 1 Unchanged 0 Conflicts 1 Failed 0"), text);
      assert.ok(text.includes("Key Difference Newer side both size differs destination"), text);
      assert.match(text, /from-destination copy to source missing in source \d+ B from-source copy missing in destination \d+ B/);
    } finally {
      await page.close();
    }
  });
});
