/**
 * A real headless browser for the report page: Debian's chromium (scripts/chromium/install.sh),
 * driven by playwright-core, which never downloads a browser of its own.
 */
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/** Name used in skip messages and failures. */
export const BROWSER_NAME = "chromium (headless)";

/** Where chromium is: $BUCKET_SYNC_CHROMIUM, else `chromium` on PATH. */
function chromiumPath(): string | undefined {
  if (process.env.BUCKET_SYNC_CHROMIUM) return process.env.BUCKET_SYNC_CHROMIUM;
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * Why the browser check cannot run on this machine, or undefined when it can.
 *
 * Rule for callers, as for the Swift tier: when this returns a reason and CI=true, throw it (CI
 * installs chromium through scripts/chromium/install.sh, so a missing browser is a broken
 * build); otherwise skip and print the reason.
 */
export function browserUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `${BROWSER_NAME}: the browser check runs on Linux, not ${process.platform}`;
  if (!chromiumPath()) return `${BROWSER_NAME} is not installed (run scripts/chromium/install.sh as root)`;
  return undefined;
}

/** Starts headless chromium. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, timeout: 30_000 });
}

/** What loading a local page did: the page, and every request it made besides itself. */
export interface OpenedPage {
  page: Page;
  otherRequests: string[];
  errors: string[];
}

/** Opens a local HTML file and waits until it has loaded. */
export async function openFile(browser: Browser, path: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const url = pathToFileURL(path).href;
  const otherRequests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    if (request.url() !== url) otherRequests.push(request.url());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, otherRequests, errors };
}
