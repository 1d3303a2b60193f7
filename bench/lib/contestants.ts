/**
 * The contestants: `bucket-sync sync` as a user runs it, `aws s3 sync`, `rclone sync`, and the
 * raw ceiling (a bare CopyObject loop over known keys, no listing, no start-up). Every one but
 * the ceiling is timed as a whole command, start-up included.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { copySource } from "../../handlers/engine/objects";
import { AWS_PRICES } from "../../pricing/prices";
import { runCommand } from "./processes";

export type Scenario = "first" | "noop" | "change";
export const SCENARIOS: readonly Scenario[] = ["first", "noop", "change"];

export type Tool = "bucket-sync" | "aws" | "rclone" | "ceiling";

/** Where one run syncs, and (for the ceiling, which does not list) which keys to copy. */
export interface RunTarget {
  endpoint: string;
  source: string;
  destination: string;
  scenario: Scenario;
  /** Keys that need copying: every key first, the changed ones after a change. */
  keys: string[];
  /** Where bucket-sync writes its report. */
  reportBucket: string;
  runId: string;
}

/** What one run measured. */
export interface RunMeasure {
  seconds: number;
  /** CPU seconds of the tool's own process. */
  cpuSeconds: number;
  /** bucket-sync only: what its `--json` document says. */
  bucketSync?: {
    copied: number;
    updated: number;
    unchanged: number;
    stateTransitions: number;
    estimatedCostUsd: { transitions: number; lambda: number; total: number };
    /** Lambda GB-seconds, backed out of the CLI's Lambda estimate (priced at AWS_PRICES). */
    lambdaGbSeconds: number;
  };
}

export interface Contestant {
  /** Table label, e.g. `rclone sync (32 transfers)`. */
  name: string;
  tool: Tool;
  /** The settings in words, e.g. `--transfers 32`. */
  settings: string;
  scenarios: readonly Scenario[];
  run(target: RunTarget): Promise<RunMeasure>;
}

/** Credentials of the embedded server; every tool reads them from the environment. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // AWS_CA_BUNDLE breaks rclone's S3 client; endpoint and profile settings must not leak in.
    if (!name.startsWith("AWS_") && !name.startsWith("RCLONE_")) env[name] = value;
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

function failed(name: string, result: { code: number; stdout: string; stderr: string }): Error {
  const tail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
  return new Error(`${name} exited with ${result.code}:\n${tail}`);
}

/** `node dist/cli/index.js sync ...`, optionally with --partitions and --concurrency. */
export function bucketSync(cliPath: string, tuning: { partitions?: number; concurrency?: number } = {}): Contestant {
  const flags: string[] = [];
  if (tuning.partitions !== undefined) flags.push("--partitions", String(tuning.partitions));
  if (tuning.concurrency !== undefined) flags.push("--concurrency", String(tuning.concurrency));
  const settings = flags.length > 0 ? flags.join(" ") : "defaults";
  return {
    name: flags.length > 0 ? `bucket-sync (${flags.join(" ")})` : "bucket-sync (defaults)",
    tool: "bucket-sync",
    settings,
    scenarios: ["first", "noop", "change"],
    async run(target) {
      const result = await runCommand(
        process.execPath,
        [
          cliPath,
          "sync",
          "--source",
          `s3://${target.source}`,
          "--destination",
          `s3://${target.destination}`,
          "--endpoint",
          target.endpoint,
          "--report-to",
          `s3://${target.reportBucket}/${target.runId}/`,
          "--json",
          ...flags,
        ],
        toolEnv(),
      );
      if (result.code !== 0) throw failed("bucket-sync sync", result);
      const doc = JSON.parse(result.stdout);
      const lambda = doc.estimatedCostUsd.lambda as number;
      return {
        seconds: result.seconds,
        cpuSeconds: result.cpuSeconds,
        bucketSync: {
          copied: doc.copied,
          updated: doc.updated,
          unchanged: doc.unchanged,
          stateTransitions: doc.stateTransitions,
          estimatedCostUsd: doc.estimatedCostUsd,
          lambdaGbSeconds: lambda / AWS_PRICES.lambdaGbSecond.usd,
        },
      };
    },
  };
}

/** `aws s3 sync` (the Debian awscli package) with `max_concurrent_requests` set in its config. */
export function awsCli(awsPath: string, workDirectory: string, maxConcurrentRequests: number): Contestant {
  const configDirectory = join(workDirectory, `aws-config-${maxConcurrentRequests}`);
  mkdirSync(configDirectory, { recursive: true });
  const configFile = join(configDirectory, "config");
  writeFileSync(configFile, `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${maxConcurrentRequests}\n`);
  const settings = `max_concurrent_requests = ${maxConcurrentRequests}${maxConcurrentRequests === 10 ? " (default)" : ""}`;
  return {
    name: `aws s3 sync (${maxConcurrentRequests} requests)`,
    tool: "aws",
    settings,
    scenarios: ["first", "noop", "change"],
    async run(target) {
      const result = await runCommand(
        awsPath,
        ["s3", "sync", `s3://${target.source}`, `s3://${target.destination}`, "--endpoint-url", target.endpoint, "--only-show-errors", "--no-progress"],
        toolEnv({ AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(configDirectory, "none"), AWS_PAGER: "" }),
      );
      if (result.code !== 0) throw failed("aws s3 sync", result);
      return { seconds: result.seconds, cpuSeconds: result.cpuSeconds };
    },
  };
}

/** `rclone sync --fast-list --checksum --transfers N` (the Debian rclone package). */
export function rclone(rclonePath: string, workDirectory: string, transfers: number): Contestant {
  const configFile = join(workDirectory, "rclone.conf");
  writeFileSync(configFile, "");
  return {
    name: `rclone sync (${transfers} transfers)`,
    tool: "rclone",
    settings: `--fast-list --checksum --transfers ${transfers}`,
    scenarios: ["first", "noop", "change"],
    async run(target) {
      const result = await runCommand(
        rclonePath,
        ["sync", `bench:${target.source}`, `bench:${target.destination}`, "--fast-list", "--checksum", "--transfers", String(transfers), "-q"],
        toolEnv({
          RCLONE_CONFIG: configFile,
          RCLONE_CONFIG_BENCH_TYPE: "s3",
          RCLONE_CONFIG_BENCH_PROVIDER: "Other",
          RCLONE_CONFIG_BENCH_ENDPOINT: target.endpoint,
          RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: "S3RVER",
          RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: "S3RVER",
          RCLONE_CONFIG_BENCH_REGION: "us-east-1",
          RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
        }),
      );
      if (result.code !== 0) throw failed("rclone sync", result);
      return { seconds: result.seconds, cpuSeconds: result.cpuSeconds };
    },
  };
}

/**
 * The raw ceiling: CopyObject for each key that needs copying, `concurrency` at a time, with
 * the engine's own S3 client, in this process. No listing, no planning, no start-up: what the
 * server can do, not what a sync tool can.
 */
export function ceiling(clientFor: (endpoint: string) => S3Client, concurrency: number): Contestant {
  return {
    name: `raw ceiling (CopyObject × ${concurrency})`,
    tool: "ceiling",
    settings: `${concurrency} concurrent CopyObject, keys known, no listing, no start-up`,
    scenarios: ["first", "change"],
    async run(target) {
      const client = clientFor(target.endpoint);
      const limit = pLimit(concurrency);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      try {
        await Promise.all(
          target.keys.map((key) =>
            limit(() =>
              client.send(
                new CopyObjectCommand({
                  Bucket: target.destination,
                  Key: key,
                  CopySource: copySource(target.source, key),
                  MetadataDirective: "COPY",
                }),
              ),
            ),
          ),
        );
      } finally {
        client.destroy();
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    },
  };
}
