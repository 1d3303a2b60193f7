/** What the rules report about a policy document, and how a finding reads to a person. */

/**
 * - `violation`: the document grants wildcard S3 access.
 * - `malformed`: IAM would reject the document or statement; it is not evaluated further.
 * - `unchecked`: part of the document is not known (a preview-time unknown, or a value that is not
 *   a string such as an unresolved template function), so it could not be checked.
 */
export type FindingKind = "violation" | "malformed" | "unchecked";

export type FindingRule =
  | "wildcard-action"
  | "not-action"
  | "wildcard-bucket"
  | "not-resource"
  | "account-level-action"
  | "malformed"
  | "unknown-value";

export interface Finding {
  readonly kind: FindingKind;
  readonly rule: FindingRule;
  /** Index into the document's `Statement` list; absent for a finding about the whole document. */
  readonly statementIndex?: number;
  readonly sid?: string;
  /** The action (or actions, comma-separated) concerned, as written in the document. */
  readonly action: string;
  /** The resource (or resources, comma-separated) concerned, as written in the document. */
  readonly resource: string;
  readonly reason: string;
  /** What to write instead. */
  readonly fix: string;
}

/** The verdict of a whole document: the most serious finding wins, violations first. */
export type Verdict = "pass" | "violation" | "malformed" | "unchecked";

export function verdictOf(findings: readonly Finding[]): Verdict {
  for (const kind of ["violation", "malformed", "unchecked"] as const) {
    if (findings.some((f) => f.kind === kind)) return kind;
  }
  return "pass";
}

/** `Statement[1] (Sid "ReadLogs")`, `Statement[0]`, or `document`. */
export function statementLabel(finding: Pick<Finding, "statementIndex" | "sid">): string {
  if (finding.statementIndex === undefined) return "document";
  const sid = finding.sid ? ` (Sid ${JSON.stringify(finding.sid)})` : "";
  return `Statement[${finding.statementIndex}]${sid}`;
}

/**
 * One line naming the statement, action, resource, reason and fix, e.g.
 * `Statement[0] (Sid "Copy"): action "s3:*" on "arn:aws:s3:::dev/*": "s3:*" grants every S3 action. Instead: ...`
 */
export function describeFinding(finding: Finding): string {
  const fix = finding.fix ? ` Instead: ${finding.fix}` : "";
  const what = finding.action || finding.resource ? ` action "${finding.action}" on "${finding.resource}":` : "";
  return `${statementLabel(finding)}:${what} ${finding.reason}.${fix}`;
}
