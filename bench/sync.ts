/**
 * Sync benchmark: `bucket-sync sync` (the state machine run locally, as a user runs it) against
 * `aws s3 sync`, `rclone sync` and a raw CopyObject ceiling, on one embedded S3 server started as
 * its own process. Prints Markdown tables and writes them, with the machine and the command, to a
 * new file, bench/runs/<date>.md (not tracked); `--out bench/RESULTS.md` replaces the published
 * results. Peers missing from the machine are left out, unless `--install-peers` installs them
 * (awscli and rclone from Debian, as root).
 *
 *   npm run bench                                   # 2,000 × 1 KiB, flat keys, 3 rounds
 *   npm run bench -- --objects 20000 --rounds 1     # the scale run
 *   npm run bench -- --keys prefixed --sizes 1KiB,64KiB,1MiB
 *   npm run bench -- --tunings 2x32,1x64            # also bucket-sync --partitions 2 --concurrency 32, ...
 *
 * Data set: --objects N (default 2000), --sizes 1KiB[,64KiB,...] (taken in turn), --keys flat |
 * prefixed | deep | awkward (see bench/lib/dataset.ts), --change P (percent rewritten, default 10).
 * Other options: --rounds N (default 3), --tools bucket-sync,aws,rclone,ceiling,
 * --aws-concurrency 10,32,64, --rclone-transfers 16,32,64, --ceiling-concurrency 16,32,64 (the
 * settings calibrated), --skip-calibration (first of each), --skip-count (no proxy round),
 * --plan-keys N (the planning benchmark's size, 0 to skip), --out FILE ("" to write nothing),
 * --install-peers (apt-get install awscli rclone when missing),
 * --append (add to FILE instead of replacing it), --json, --render SAVED (print a run's tables
 * again from the measurements it saved, without running anything).
 *
 * Method. Round 0 runs every contestant through a counting proxy (request counts by S3
 * operation) and warms the server up; rounds 1..N run straight against the server and are the
 * timed ones. Within a round every contestant gets a fresh destination and runs, in an order that
 * rotates each round: a first sync, a no-op re-sync, and (after `--change` % of the source is
 * rewritten) a sync of the changes. Every result is checked to be a faithful copy (keys, sizes,
 * content hashes; handlers/engine/faithfulCopy.ts) before its time counts. Peers run in the settings a
 * calibration pass found fastest. Times are medians; the machine is shared, so compare ratios.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compareCopy, describeDifferences } from "../handlers/engine/faithfulCopy";
import { AWS_PRICES } from "../pricing/prices";
import { createS3Client } from "../handlers/engine/s3Client";
import { EMBEDDED_S3_CREDENTIALS } from "../s3-server/embeddedS3";
import {
  awsCli,
  bucketSync,
  ceiling,
  type Contestant,
  type RunMeasure,
  rclone,
  type Scenario,
} from "./lib/contestants";
import { alternatives, measuredCost, paperRun, S3_PREFIX_LIMITS, type PaperAssumptions } from "./lib/costModel";
import { type RequestCounts, startCountingProxy } from "./lib/countingProxy";
import { changedIndexes, createBuckets, type Dataset, KEY_SHAPES, type KeyShape, keysOf, objectKey, parseSize, writeObjects } from "./lib/dataset";
import { processCpuSeconds, runCommand, startServerProcess } from "./lib/processes";

const ROOT = resolve(__dirname, "..");
const CLI = join(ROOT, "dist", "cli", "index.js");

const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "2000" },
    sizes: { type: "string", default: "1KiB" },
    keys: { type: "string", default: "flat" },
    rounds: { type: "string", default: "3" },
    change: { type: "string", default: "10" },
    tools: { type: "string", default: "bucket-sync,aws,rclone,ceiling" },
    tunings: { type: "string", default: "" },
    "aws-concurrency": { type: "string", default: "10,32,64" },
    "rclone-transfers": { type: "string", default: "16,32,64" },
    "ceiling-concurrency": { type: "string", default: "16,32,64" },
    "skip-calibration": { type: "boolean", default: false },
    "skip-setup": { type: "boolean", default: false },
    "skip-count": { type: "boolean", default: false },
    "plan-keys": { type: "string", default: "1000000" },
    out: { type: "string" },
    "install-peers": { type: "boolean", default: false },
    aws: { type: "string", default: "/usr/bin/aws" },
    rclone: { type: "string", default: "/usr/bin/rclone" },
    json: { type: "boolean", default: false },
    append: { type: "boolean", default: false },
    render: { type: "string", default: "" },
  },
});

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${text}"`);
  return n;
}
const list = (text: string) => text.split(",").map((s) => s.trim()).filter((s) => s !== "");

// `let`: --render-last takes them from the saved run
let objects = positive("objects", values.objects);
let rounds = positive("rounds", values.rounds);
let changePercent = positive("change", values.change);
let sizesText = values.sizes;
let counted = !values["skip-count"];
const sizes = list(values.sizes).map(parseSize);
let shape = values.keys as KeyShape;
if (!KEY_SHAPES.includes(shape)) throw new Error(`--keys must be one of ${KEY_SHAPES.join(", ")}`);
const tools = new Set(list(values.tools));
/** `--tunings 4x32,2x64`: bucket-sync contestants with --partitions × --concurrency. */
const tunings = list(values.tunings).map((t) => {
  const match = /^(\d+)x(\d+)$/.exec(t);
  if (!match) throw new Error(`--tunings takes PARTITIONSxCONCURRENCY items, got "${t}"`);
  return { partitions: Number(match[1]), concurrency: Number(match[2]) };
});

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Setup: the peers from Debian, the CLI built into dist/.

function setup(): void {
  const peers = [
    { tool: "aws", path: values.aws },
    { tool: "rclone", path: values.rclone },
  ].filter(({ tool, path }) => tools.has(tool) && !existsSync(path));
  if (peers.length > 0 && values["install-peers"]) {
    if (process.getuid?.() !== 0) {
      throw new Error(`--install-peers: run as root, or install them yourself: apt-get install -y --no-install-recommends awscli rclone`);
    }
    log("# installing awscli and rclone from Debian (--install-peers)");
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "awscli", "rclone"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } else {
    for (const { tool, path } of peers) {
      tools.delete(tool);
      log(`# ${tool}: ${path} is not installed, left out (--install-peers installs it from Debian)`);
    }
  }
  if (!existsSync(CLI) || newestSource() > statSync(CLI).mtimeMs) {
    log("# building the CLI (npm run build)");
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
  }
}

function newestSource(): number {
  let newest = 0;
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ["model", "handlers", "cli", "local-stepfunctions", "offline-pulumi", "s3-server", "pricing", "infra"]) visit(join(ROOT, dir));
  return newest;
}

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).split("\n")[0].trim();
  } catch {
    return "not installed";
  }
}

// ---------------------------------------------------------------------------------------------
// Runs.

interface RunRecord {
  contestant: string;
  scenario: Scenario;
  round: number;
  seconds: number;
  cpuSeconds: number;
  serverCpuSeconds: number;
  measure: RunMeasure;
  counts?: RequestCounts;
  peakInFlight?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  if (!values["skip-setup"]) setup();
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const work = mkdtempSync(join(os.tmpdir(), "bucket-sync-bench-"));
  const dataDirectory = join(work, "s3");
  const server = await startServerProcess(CLI, dataDirectory);
  const interrupted = (signal: NodeJS.Signals) => {
    void server.stop().finally(() => {
      rmSync(work, { recursive: true, force: true });
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const proxy = await startCountingProxy(server.endpoint);
  const clientFor = (endpoint: string) =>
    createS3Client({ endpoint, credentials: EMBEDDED_S3_CREDENTIALS, region: "us-east-1", maxSockets: 256 });
  const admin = clientFor(server.endpoint);
  const dataset: Dataset = { bucket: "bench-source", objects, shape, sizes };
  const allKeys = keysOf(dataset);
  const reportBucket = "bench-reports";
  const records: RunRecord[] = [];
  const calibration: Array<{ name: string; seconds: number }> = [];
  let bucketCounter = 0;

  try {
    log(`# embedded S3 (its own process, pid ${server.pid}) at ${server.endpoint}; counting proxy at ${proxy.endpoint}`);
    await createBuckets(admin, [dataset.bucket, reportBucket]);
    const fillStarted = performance.now();
    await writeObjects(admin, dataset, allKeys.map((_, i) => i), 0);
    log(`# source: ${objects} objects (${values.sizes}, ${shape} keys) written in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
    await sleep(1100); // copies must be written in a later second than their sources (LastModified)

    const freshBucket = async (label: string) => {
      const name = `bench-${label}-${++bucketCounter}`;
      await createBuckets(admin, [name]);
      return name;
    };
    const dropBucket = (name: string) => rmSync(join(dataDirectory, name), { recursive: true, force: true });

    /** One timed run, checked to be a faithful copy before it counts. */
    const runOnce = async (contestant: Contestant, scenario: Scenario, destination: string, keys: string[], round: number, counted: boolean) => {
      if (counted) proxy.reset();
      const serverCpuBefore = processCpuSeconds(server.pid);
      const measure = await contestant.run({
        endpoint: counted ? proxy.endpoint : server.endpoint,
        source: dataset.bucket,
        destination,
        scenario,
        keys,
        reportBucket,
        runId: `${destination}-${scenario}`,
      });
      const serverCpuSeconds = processCpuSeconds(server.pid) - serverCpuBefore;
      // Content only: the other tools do not all promise to carry metadata.
      const check = await compareCopy(admin, { bucket: dataset.bucket }, { bucket: destination }, { metadata: false });
      if (check.count > 0) {
        throw new Error(`${contestant.name} ${scenario}: not a faithful copy: ${describeDifferences(check)}`);
      }
      const record: RunRecord = {
        contestant: contestant.name,
        scenario,
        round,
        seconds: measure.seconds,
        cpuSeconds: measure.cpuSeconds,
        serverCpuSeconds,
        measure,
        ...(counted ? { counts: proxy.counts(), peakInFlight: proxy.peakInFlight() } : {}),
      };
      records.push(record);
      log(
        `  r${round} ${scenario.padEnd(6)} ${contestant.name.padEnd(42)} ${measure.seconds.toFixed(2).padStart(7)} s  ${(objects / measure.seconds).toFixed(0).padStart(6)} obj/s  cpu ${measure.cpuSeconds.toFixed(2)} s  server cpu ${serverCpuSeconds.toFixed(2)} s${counted ? `  ${formatCounts(record.counts ?? {})}` : ""}`,
      );
      return record;
    };

    // -- calibration: each peer's fastest settings, on a first sync
    const bucketSyncs: Contestant[] = tools.has("bucket-sync") ? [bucketSync(CLI), ...tunings.map((t) => bucketSync(CLI, t))] : [];
    const families: Array<{ tool: string; candidates: Contestant[] }> = [];
    if (tools.has("aws")) families.push({ tool: "aws", candidates: list(values["aws-concurrency"]).map((n) => awsCli(values.aws, work, Number(n))) });
    if (tools.has("rclone")) families.push({ tool: "rclone", candidates: list(values["rclone-transfers"]).map((n) => rclone(values.rclone, work, Number(n))) });
    if (tools.has("ceiling")) families.push({ tool: "ceiling", candidates: list(values["ceiling-concurrency"]).map((n) => ceiling(clientFor, Number(n))) });
    const chosen: Contestant[] = [];
    for (const family of families) {
      if (values["skip-calibration"] || family.candidates.length === 1) {
        chosen.push(family.candidates[0]);
        continue;
      }
      log(`# calibrating ${family.tool}: ${family.candidates.map((c) => c.settings).join(" | ")}`);
      let best: { contestant: Contestant; seconds: number } | undefined;
      for (const candidate of family.candidates) {
        const destination = await freshBucket("cal");
        const record = await runOnce(candidate, "first", destination, allKeys, -1, false);
        records.pop(); // calibration runs are reported separately
        calibration.push({ name: candidate.name, seconds: record.seconds });
        dropBucket(destination);
        if (!best || record.seconds < best.seconds) best = { contestant: candidate, seconds: record.seconds };
      }
      chosen.push((best as { contestant: Contestant }).contestant);
    }
    const contestants = [...bucketSyncs, ...chosen];

    // -- rounds: 0 counted through the proxy (and warm-up), 1..N timed
    for (let round = values["skip-count"] ? 1 : 0; round <= rounds; round++) {
      const counted = round === 0;
      log(`# round ${round}${counted ? " (requests counted through the proxy; not timed)" : ""}`);
      const order = rotate(contestants, round);
      const destinations = new Map<Contestant, string>();
      for (const contestant of order) destinations.set(contestant, await freshBucket(`r${round}`));
      for (const contestant of order) {
        await runOnce(contestant, "first", destinations.get(contestant) as string, allKeys, round, counted);
      }
      for (const contestant of order.filter((c) => c.scenarios.includes("noop"))) {
        await runOnce(contestant, "noop", destinations.get(contestant) as string, [], round, counted);
      }
      if (changePercent > 0) {
        await sleep(1100); // the rewritten sources must be newer, to the second, than every copy
        const changed = changedIndexes(dataset, changePercent, round);
        await writeObjects(admin, dataset, changed, round + 1);
        const changedKeys = changed.map((i) => objectKey(shape, i));
        for (const contestant of order.filter((c) => c.scenarios.includes("change"))) {
          await runOnce(contestant, "change", destinations.get(contestant) as string, changedKeys, round, counted);
        }
      }
      for (const destination of destinations.values()) dropBucket(destination);
    }

    // -- planning at scale, no server
    let plan: { keys: number; seconds: number; keysPerSecond: number; peakRssMiB: number } | undefined;
    const planKeys = positive("plan-keys", values["plan-keys"]);
    if (planKeys > 0) {
      const result = await runCommand(process.execPath, ["--import", "tsx", join(ROOT, "bench", "plan.ts"), "--keys", String(planKeys), "--json"], process.env);
      if (result.code === 0) plan = JSON.parse(result.stdout.trim().split("\n").pop() as string);
      else log(`# bench:plan failed: ${result.stderr}`);
    }

    const input: RenderInput = {
      command: commandLine(process.argv.slice(2)),
      dataset: { objects, sizesText, shape, rounds, changePercent, counted },
      contestants: contestants.map(({ name, tool, settings, scenarios }) => ({ name, tool, settings, scenarios })),
      records,
      calibration,
      plan,
      machine: {
        cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}`,
        memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
        os: `${os.type()} ${os.release()}`,
        node: process.version,
        aws: versionOf(values.aws, ["--version"]),
        rclone: versionOf(values.rclone, ["version"]),
        commit: `${versionOf("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"])}${
          versionOf("git", ["-C", ROOT, "status", "--porcelain", "--", "model", "handlers", "local-stepfunctions", "offline-pulumi", "s3-server", "pricing", "cli", "infra"]) === "" ? "" : " (working tree modified)"
        }`,
        loadBefore: loadBefore.map((l) => l.toFixed(1)).join(" "),
        loadAfter: os.loadavg().map((l) => l.toFixed(1)).join(" "),
        date: startedAt.toISOString().replace(/\.\d+Z$/, "Z"),
      },
    };
    writeFileSync(LAST_RUN, JSON.stringify(input));
    log(`# measurements saved to ${LAST_RUN}`);
    publish(input);
    if (values.json) console.log(JSON.stringify({ records, calibration, plan }, null, 2));
  } finally {
    admin.destroy();
    await proxy.stop();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every run's measurements, kept so that `--render FILE` can print them again. */
const LAST_RUN = join(os.tmpdir(), "bucket-sync-bench-last.json");

function commandLine(args: string[]): string {
  return args.length > 0 ? `npm run bench -- ${args.join(" ")}` : "npm run bench";
}

function publish(input: RenderInput): void {
  ({ objects, sizesText, shape, rounds, changePercent, counted } = input.dataset);
  const markdown = render(input);
  console.log(markdown);
  // a new file unless --out names one: a run never replaces the published results unasked
  const out = values.out ?? join("bench", "runs", `${input.machine.date.replace(/:/g, "")}.md`);
  if (out) {
    mkdirSync(dirname(resolve(ROOT, out)), { recursive: true });
    if (values.append) appendFileSync(resolve(ROOT, out), `\n${markdown}`);
    else writeFileSync(resolve(ROOT, out), markdown);
    log(`# written to ${out}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rotate<T>(items: T[], by: number): T[] {
  const k = by % Math.max(1, items.length);
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return by % 2 === 1 ? rotated.reverse() : rotated;
}

const SHORT: Record<string, string> = {
  ListObjectsV2: "LIST",
  ListObjects: "LIST(v1)",
  CopyObject: "COPY",
  HeadObject: "HEAD",
  HeadBucket: "HEADBUCKET",
  PutObject: "PUT",
  GetObject: "GET",
  GetBucketLocation: "LOCATION",
  GetObjectTagging: "GETTAGS",
};
function formatCounts(counts: RequestCounts): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${SHORT[op] ?? op} ${n}`)
    .join(", ");
}

// ---------------------------------------------------------------------------------------------
// The report.

type ContestantInfo = Pick<Contestant, "name" | "tool" | "settings" | "scenarios">;

interface RenderInput {
  command: string;
  dataset: { objects: number; sizesText: string; shape: KeyShape; rounds: number; changePercent: number; counted: boolean };
  contestants: ContestantInfo[];
  records: RunRecord[];
  calibration: Array<{ name: string; seconds: number }>;
  plan?: { keys: number; seconds: number; keysPerSecond: number; peakRssMiB: number };
  machine: Record<string, string>;
}

function render(input: RenderInput): string {
  const { contestants, records } = input;
  const timed = (name: string, scenario: Scenario) => records.filter((r) => r.contestant === name && r.scenario === scenario && r.round > 0);
  const countedRun = (name: string, scenario: Scenario) => records.find((r) => r.contestant === name && r.scenario === scenario && r.round === 0);
  const med = (name: string, scenario: Scenario, pick: (r: RunRecord) => number = (r) => r.seconds) => median(timed(name, scenario).map(pick));
  const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
  const rate = (seconds: number) => (Number.isFinite(seconds) ? Math.round(objects / seconds).toLocaleString("en-US") : "–");
  const range = (name: string, scenario: Scenario) => {
    const xs = timed(name, scenario).map((r) => r.seconds);
    return xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : "";
  };
  const lines: string[] = [];
  lines.push(`# Sync benchmark: ${objects.toLocaleString("en-US")} objects × ${sizesText}, ${shape} keys`, "");
  lines.push(
    `${objects.toLocaleString("en-US")} objects of ${sizesText} (${shape} keys), ${rounds} timed round(s)${counted ? " after a warm-up round that counted requests" : ""}; ${changePercent}% of the objects rewritten (same size, new content) before the "changed" sync. Objects/s = source objects ÷ wall time of the whole command (start-up included), median over rounds, range in brackets. The ceiling is timed inside this process (no start-up, keys known, no listing). The machine is shared with other jobs: absolute figures move by ±30% from run to run, ratios much less.`,
    "",
  );
  lines.push("## Wall time", "");
  lines.push("| contestant | first sync s | first sync obj/s | no-op re-sync s | changed sync s | CPU ms/object, first sync: tool + server |");
  lines.push("|---|---:|---:|---:|---:|---:|");
  for (const c of contestants) {
    const first = med(c.name, "first");
    lines.push(
      `| ${c.name} | ${fmt(first)}${range(c.name, "first")} | ${rate(first)} | ${c.scenarios.includes("noop") ? fmt(med(c.name, "noop")) + range(c.name, "noop") : "n/a"} | ${fmt(med(c.name, "change"))}${range(c.name, "change")} | ${fmt((med(c.name, "first", (r) => r.cpuSeconds) * 1000) / objects)} + ${fmt((med(c.name, "first", (r) => r.serverCpuSeconds) * 1000) / objects)} |`,
    );
  }
  lines.push("");
  if (records.some((r) => r.counts)) lines.push(...requestTable(contestants, countedRun));

  // ratios: each bucket-sync contestant against each other contestant
  const ours = contestants.filter((c) => c.tool === "bucket-sync");
  const others = contestants.filter((c) => c.tool !== "bucket-sync");
  if (ours.length > 0 && others.length > 0) {
    lines.push("## Ratios (time of the other ÷ time of bucket-sync; > 1 means bucket-sync is faster)", "");
    lines.push(`| bucket-sync | vs | first sync | no-op | changed |`);
    lines.push("|---|---|---:|---:|---:|");
    for (const o of ours) {
      for (const p of others) {
        const r = (s: Scenario) => fmt(med(p.name, s) / med(o.name, s));
        lines.push(`| ${o.name} | ${p.name} | ${r("first")} | ${p.scenarios.includes("noop") ? r("noop") : "n/a"} | ${r("change")} |`);
      }
    }
    lines.push("");
  }

  if (input.calibration.length > 0) {
    lines.push("## Calibration (first sync, one run each; the fastest setting of each tool is used above)", "");
    lines.push("| setting | first sync s | obj/s |", "|---|---:|---:|");
    for (const c of input.calibration) lines.push(`| ${c.name} | ${fmt(c.seconds)} | ${rate(c.seconds)} |`);
    lines.push("");
  }

  lines.push(...goals(contestants, med, countedRun, records));
  lines.push(...costSection(ours[0], records));

  if (input.plan) {
    lines.push("## Planning at scale (no server: `npm run bench:plan`)", "");
    lines.push(
      `${input.plan.keys.toLocaleString("en-US")} keys per side merged and decided in ${input.plan.seconds} s (${input.plan.keysPerSecond.toLocaleString("en-US")} keys/s), peak RSS ${input.plan.peakRssMiB} MiB.`,
      "",
    );
  }

  lines.push("## Machine and command", "");
  for (const [k, v] of Object.entries(input.machine)) lines.push(`- ${k}: ${v}`);
  lines.push(`- command: \`${input.command}\``, "");
  return lines.join("\n");
}

function requestTable(contestants: ContestantInfo[], countedRun: (name: string, scenario: Scenario) => RunRecord | undefined): string[] {
  const lines = ["## Requests (counted at the proxy, round 0)", ""];
  lines.push("| contestant | first sync | no-op re-sync | changed sync | peak in flight (first) |");
  lines.push("|---|---|---|---|---:|");
  for (const c of contestants) {
    const cell = (s: Scenario) => {
      const run = countedRun(c.name, s);
      return run?.counts ? formatCounts(run.counts) : "n/a";
    };
    lines.push(`| ${c.name} | ${cell("first")} | ${cell("noop")} | ${cell("change")} | ${countedRun(c.name, "first")?.peakInFlight ?? "–"} |`);
  }
  lines.push("");
  return lines;
}

function goals(
  contestants: ContestantInfo[],
  med: (name: string, scenario: Scenario) => number,
  countedRun: (name: string, scenario: Scenario) => RunRecord | undefined,
  records: RunRecord[],
): string[] {
  const ours = contestants.find((c) => c.tool === "bucket-sync");
  if (!ours) return [];
  const lines = ["## Goals", "", "| goal | measured | reached |", "|---|---|---|"];
  const ok = (b: boolean) => (b ? "yes" : "**no**");
  const first = med(ours.name, "first");
  const peers = contestants.filter((c) => c.tool === "aws" || c.tool === "rclone");
  if (peers.length > 0) {
    const fastest = Math.min(...peers.map((p) => med(p.name, "first")));
    lines.push(`| first sync faster than every peer's best setting | ${first.toFixed(2)} s vs best peer ${fastest.toFixed(2)} s (${(fastest / first).toFixed(3)} ×) | ${ok(first < fastest)} |`);
  }
  const aws = contestants.find((c) => c.tool === "aws");
  if (aws) {
    const ratio = med(aws.name, "first") / first;
    lines.push(`| first sync ≥ 1.5 × \`aws s3 sync\` | ${ratio.toFixed(2)} × | ${ok(ratio >= 1.5)} |`);
  }
  const ceil = contestants.find((c) => c.tool === "ceiling");
  if (ceil) {
    const share = med(ceil.name, "first") / first;
    lines.push(`| first sync ≥ 85% of the raw ceiling (whole command vs bare loop) | ${(share * 100).toFixed(0)}% | ${ok(share >= 0.85)} |`);
  }
  const noopCounts = countedRun(ours.name, "noop")?.counts;
  if (noopCounts) {
    const nonList = Object.entries(noopCounts).filter(([op]) => !/^List|HeadBucket$/.test(op) && op !== "PutObject");
    lines.push(
      `| no-op re-sync makes only list requests (the report's two PUTs aside) | ${formatCounts(noopCounts)} | ${ok(nonList.length === 0)} |`,
    );
  }
  if (aws) {
    const a = med(aws.name, "noop");
    const o = med(ours.name, "noop");
    lines.push(`| no-op re-sync no slower than \`aws s3 sync\`'s | ${o.toFixed(2)} s vs ${a.toFixed(2)} s | ${ok(o <= a)} |`);
  }
  const notes: string[] = [];
  if (aws && ceil) {
    const ceilingVsAws = med(aws.name, "first") / med(ceil.name, "first");
    notes.push(
      `For scale: in this run the raw ceiling itself was ${ceilingVsAws.toFixed(2)} × \`aws s3 sync\`${ceilingVsAws < 1.5 ? ", so 1.5 × was out of reach of any client of this server here" : ""}. Every process shares the 2 cores: the server needs the CPU time in the last column of the first table for every copy, so a client's own CPU per object (SDK signing, XML, start-up) comes straight off the server's throughput.`,
    );
  }
  const measured = measuredOrchestration(ours.name, records);
  if (measured) {
    const local = measured.transitionsUsd + measured.lambdaUsdPerMillion;
    const paper = paperRun(1_000_000, PAPER);
    const perMillion = paper.orchestrationUsd;
    lines.push(
      `| orchestration ≤ $0.20 per million objects | paper model $${perMillion.toFixed(3)}/M; this machine's run scaled linearly $${local.toFixed(3)}/M | ${ok(perMillion <= 0.2)}${local <= 0.2 ? "" : " (paper model; see the cost section for why the local figure is not AWS's)"} |`,
    );
  }
  lines.push("", ...notes.flatMap((n) => [n, ""]));
  return lines;
}

/** Assumptions of the paper model (see bench/lib/costModel.ts). */
const PAPER: PaperAssumptions = {
  partitions: 16,
  concurrency: 32,
  copyLatencySeconds: 0.06,
  listLatencySeconds: 0.15,
  lambdaGb: 1,
  timeBudgetSeconds: 600,
  prefixes: 16,
  objectBytes: 1024,
};

/** What the median timed first sync cost here, per million objects, with round 0's request counts. */
function measuredOrchestration(name: string, records: RunRecord[]) {
  const runs = records.filter((r) => r.contestant === name && r.scenario === "first" && r.round > 0 && r.measure.bucketSync);
  const counted = records.find((r) => r.contestant === name && r.scenario === "first" && r.round === 0);
  if (runs.length === 0) return undefined;
  const transitions = median(runs.map((r) => r.measure.bucketSync?.stateTransitions ?? 0));
  const gbSeconds = median(runs.map((r) => r.measure.bucketSync?.lambdaGbSeconds ?? 0));
  return measuredCost(objects, transitions, gbSeconds, counted?.counts ?? {});
}

function costSection(ours: ContestantInfo | undefined, records: RunRecord[]): string[] {
  const lines = ["## Cost per million objects", ""];
  if (ours) {
    const runs = records.filter((r) => r.contestant === ours.name && r.scenario === "first" && r.round > 0 && r.measure.bucketSync);
    const counted = records.find((r) => r.contestant === ours.name && r.scenario === "first" && r.round === 0);
    const noop = records.find((r) => r.contestant === ours.name && r.scenario === "noop" && r.round === 0);
    const cost = measuredOrchestration(ours.name, records);
    if (runs.length > 0 && counted?.counts && cost) {
      const { transitions, lambdaGbSeconds: gbSeconds } = cost;
      const noopCost = noop?.counts ? measuredCost(objects, transitions, 0, noop.counts) : undefined;
      lines.push(
        `As measured here (the median timed first sync of ${objects.toLocaleString("en-US")} objects, per million objects): ${transitions} state transitions, which do not grow with the objects (10 + 3 per partition + 3 per extra sync-range call) → $${cost.transitionsUsd.toFixed(4)}; Lambda ${gbSeconds.toFixed(1)} GB-s (the CLI's estimate: each handler's wall time at its function's memory), scaled linearly → $${cost.lambdaUsdPerMillion.toFixed(3)}/M; S3 requests, scaled linearly → $${cost.s3UsdPerMillion.toFixed(2)}/M${noopCost ? ` (a no-op re-sync: $${noopCost.s3UsdPerMillion.toFixed(3)}/M)` : ""}. ` +
          `Lambda time here is handlers waiting for one single-threaded local server that every partition shares (GB-s per object ≈ partitions ÷ the server's objects/s), a property of this machine rather than of AWS; the paper model${values.append ? " (first section)" : " below"} uses S3's latency instead.`,
        "",
      );
    }
  }
  if (values.append) return lines.length > 2 ? lines : []; // the paper model and prices are in the file's first section
  const assumptions = PAPER;
  lines.push(
    `Paper model of the deployed machine (assumptions: ${assumptions.partitions} partitions = Map MaxConcurrency, concurrency ${assumptions.concurrency} per partition, CopyObject ${assumptions.copyLatencySeconds * 1000} ms and a 1,000-key LIST page ${assumptions.listLatencySeconds * 1000} ms within a region, sync-range at 1,024 MB with a ${assumptions.timeBudgetSeconds} s budget per call, keys spread over ${assumptions.prefixes} top-level prefixes each allowed ${S3_PREFIX_LIMITS.writesPerSecond.toLocaleString("en-US")} writes/s by S3, 1 KiB objects):`,
    "",
  );
  lines.push("| objects | partitions | Lambda concurrency | objects/s (bound) | wall time | sync-range calls | transitions | Lambda GB-s | orchestration $ | per million | S3 requests $ |");
  lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const scenarios: Array<[number, number]> = [
    [1_000_000, 16],
    [100_000_000, 16],
    [100_000_000, 128],
  ];
  for (const [n, partitions] of scenarios) {
    const run = paperRun(n, { ...assumptions, partitions, prefixes: Math.max(assumptions.prefixes, partitions) });
    lines.push(
      `| ${n.toLocaleString("en-US")} | ${run.partitions} | ${run.lambdaConcurrency} | ${Math.round(run.objectsPerSecond).toLocaleString("en-US")} (${run.limit}) | ${duration(run.wallSeconds)} | ${run.syncRangeCalls} | ${run.transitions} | ${Math.round(run.lambdaGbSeconds).toLocaleString("en-US")} | $${run.orchestrationUsd.toFixed(2)} | $${((run.orchestrationUsd / n) * 1e6).toFixed(3)} | $${run.s3RequestUsd.toFixed(2)} |`,
    );
  }
  lines.push("");
  lines.push(
    "For 128 partitions set the stack's `bucket-sync:partitions` and `bucket-sync:maxConcurrency` to 128 (defaults 16); keys spread over fewer prefixes than that meet S3's per-prefix rate, and S3 answers SlowDown while it scales a prefix out (the engine's client backs off: adaptive retry mode). Lambda's default account concurrency, 1,000, is not a limit here. The planner balances any key layout by sampling (README, Planning partitions; `npm run bench:partitions` measures it up to 10^8 keys).",
    "",
  );
  lines.push("Next to the managed alternatives (list prices, us-east-1, copying every object once; none of them re-checks only what changed):", "");
  lines.push("| objects | bucket-sync (paper, orchestration + S3 requests) | S3 Batch Operations Copy | S3 Batch Replication | DataSync Enhanced |");
  lines.push("|---:|---:|---:|---:|---:|");
  for (const n of [1_000_000, 100_000_000]) {
    const ours = paperRun(n, { ...assumptions });
    const alt = alternatives(n, assumptions.objectBytes);
    lines.push(`| ${n.toLocaleString("en-US")} | $${(ours.orchestrationUsd + ours.s3RequestUsd).toFixed(2)} | $${alt[0].usd.toFixed(2)} | $${alt[1].usd.toFixed(2)} | $${alt[2].usd.toFixed(2)} |`);
  }
  lines.push("");
  for (const a of alternatives(1, 1)) lines.push(`- ${a.name}: ${a.how}.`);
  lines.push(
    "- Every tool pays the same S3 COPY request per copied object ($5.00 per million); what differs is orchestration. AWS publishes no objects/s figure for Batch Operations, Batch Replication or DataSync, so no wall time is given for them.",
    "",
    "Prices and limits used:",
    "",
  );
  for (const price of Object.values(AWS_PRICES)) lines.push(`- $${formatUsd(price.usd)} per ${price.per}: ${price.source}`);
  lines.push(`- ${S3_PREFIX_LIMITS.writesPerSecond.toLocaleString("en-US")} PUT/COPY/POST/DELETE and ${S3_PREFIX_LIMITS.readsPerSecond.toLocaleString("en-US")} GET/HEAD requests per second per partitioned prefix: ${S3_PREFIX_LIMITS.source}`);
  lines.push("");
  return lines;
}

function formatUsd(usd: number): string {
  return usd >= 0.01 ? usd.toFixed(4).replace(/0+$/, "").replace(/\.$/, "") : usd.toPrecision(3);
}

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const entry = values.render ? async () => publish(JSON.parse(readFileSync(values.render, "utf8")) as RenderInput) : main;
entry().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
