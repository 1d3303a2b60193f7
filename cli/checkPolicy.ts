/**
 * `bucket-sync check-policy FILE...`: the policy pack's wildcard-S3 rule, applied to IAM policy
 * documents on disk, e.g. before they are pasted into a program or to audit a live role:
 *
 *   aws iam get-role-policy --role-name copy --policy-name copy | bucket-sync check-policy -
 *
 * Imports only the pure rules, never `@pulumi/*`, so it starts fast.
 *
 * Exit codes: 0 every document passes; 1 a document grants wildcard S3 access; 2 a file could
 * not be read, is not valid JSON, is not a valid policy document, or holds values that could not
 * be checked (2 wins over 1, as with grep: the findings are still printed).
 */
import { SUBCOMMANDS } from "./commands";
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { checkPolicyDocument, describeFinding, Finding, statementLabel, Verdict, verdictOf } from "../policy-pack/rules";
import { EXIT, exitOnUsageError, type ExitCode } from "./exitCodes";

export interface CheckPolicyOptions {
  readonly json?: boolean;
  readonly allowAccountLevelAction?: string[];
}

export interface FileReport {
  /** The path as given, `-` for standard input. */
  readonly file: string;
  readonly verdict: Verdict | "unreadable";
  /** Why the file could not be read. */
  readonly error?: string;
  readonly findings: readonly Finding[];
}


/**
 * The policy document inside what a file holds: the document itself, or the JSON the AWS CLI
 * prints for `aws iam get-policy-version` (`PolicyVersion.Document`) and
 * `aws iam get-role-policy` (`PolicyDocument`).
 */
function documentIn(parsed: unknown): unknown {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return parsed;
  const json = parsed as Record<string, unknown>;
  if ("Statement" in json) return json;
  const version = json.PolicyVersion;
  if (typeof version === "object" && version !== null && "Document" in version) {
    return (version as Record<string, unknown>).Document;
  }
  if ("PolicyDocument" in json) return json.PolicyDocument;
  return json;
}

function decodeDocument(raw: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw; // not JSON: the rules report it as malformed, with the parser's message
  }
  const document = documentIn(parsed);
  // The IAM API returns documents URL-encoded (`%7B%22Version...`); the AWS CLI mostly decodes them.
  if (typeof document === "string" && document.trim().startsWith("%7B")) {
    try {
      return decodeURIComponent(document);
    } catch {
      return document;
    }
  }
  return document;
}

/** Reads and checks one file (`-` for standard input). */
export function checkPolicyFile(file: string, options: CheckPolicyOptions = {}): FileReport {
  let raw: string;
  try {
    raw = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    return { file, verdict: "unreadable", error: err instanceof Error ? err.message : String(err), findings: [] };
  }
  const document = decodeDocument(raw);
  const findings = checkPolicyDocument(document, { allowedAccountLevelActions: options.allowAccountLevelAction ?? [] });
  return { file, verdict: verdictOf(findings), findings };
}

/** 2 when any input is unreadable or invalid, else 1 when any document grants wildcard S3 access, else 0. */
export function exitCodeOf(reports: readonly FileReport[]): ExitCode {
  const invalid = reports.some((r) => r.verdict === "unreadable" || r.findings.some((f) => f.kind !== "violation"));
  if (invalid) return EXIT.badInput;
  return reports.some((r) => r.verdict === "violation") ? EXIT.failed : EXIT.ok;
}

function displayName(file: string): string {
  return file === "-" ? "<stdin>" : file;
}

/** The human-readable report: one line per finding, `file: kind: statement: action on resource: reason. Instead: fix`. */
export function formatText(reports: readonly FileReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    const name = displayName(report.file);
    if (report.verdict === "unreadable") lines.push(`${name}: unreadable: ${report.error}`);
    else if (report.findings.length === 0) lines.push(`${name}: pass`);
    for (const finding of report.findings) lines.push(`${name}: ${finding.kind}: ${describeFinding(finding)}`);
  }
  // Files that pass or cannot be read are counted as files; everything else as the findings
  // printed above it (a file with two violations is "2 violations", not "1 violation").
  const findings = reports.flatMap((r) => r.findings);
  const counts: Array<[string, number]> = [
    ["pass", reports.filter((r) => r.verdict !== "unreadable" && r.findings.length === 0).length],
    ["violation", findings.filter((f) => f.kind === "violation").length],
    ["malformed", findings.filter((f) => f.kind === "malformed").length],
    ["unchecked", findings.filter((f) => f.kind === "unchecked").length],
    ["unreadable", reports.filter((r) => r.verdict === "unreadable").length],
  ];
  const parts = counts.filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}${n === 1 || kind === "pass" || kind === "unreadable" || kind === "malformed" || kind === "unchecked" ? "" : "s"}`);
  lines.push(`checked ${reports.length} file${reports.length === 1 ? "" : "s"}: ${parts.join(", ")}`);
  return `${lines.join("\n")}\n`;
}

/** The machine-readable report printed by `--json`. */
export function formatJson(reports: readonly FileReport[]): string {
  const files = reports.map((r) => ({
    file: r.file,
    verdict: r.verdict,
    ...(r.error === undefined ? {} : { error: r.error }),
    findings: r.findings.map((f) => ({ ...f, statement: statementLabel(f) })),
  }));
  return `${JSON.stringify({ exitCode: exitCodeOf(reports), files }, null, 2)}\n`;
}

export function registerCheckPolicy(program: Command): void {
  program
    .command("check-policy")
    .description(SUBCOMMANDS["check-policy"])
    .argument("<file...>", 'JSON policy documents ("-" reads standard input)')
    .option("--json", "print machine-readable findings")
    .option(
      "--allow-account-level-action <action>",
      'an account-level S3 action allowed on Resource "*", as in the pack\'s allowedAccountLevelActions (repeatable), e.g. s3:ListAllMyBuckets',
      (action: string, previous: string[]) => [...previous, action],
      [] as string[],
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 all pass, 1 a document grants wildcard S3 access, 2 unreadable or invalid input.",
    )
    .exitOverride(exitOnUsageError)
    .action((files: string[], options: CheckPolicyOptions) => {
      const reports = files.map((file) => checkPolicyFile(file, options));
      process.stdout.write(options.json ? formatJson(reports) : formatText(reports));
      process.exitCode = exitCodeOf(reports);
    });
}
