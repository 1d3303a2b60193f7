/**
 * The rule: an IAM policy document must not grant wildcard S3 access.
 *
 * An Allow statement (a statement without `Effect` is an Allow) violates when it
 * - has an `Action` pattern with a wildcard that can match an S3 action (`*`, `*:*`, `s3:*`,
 *   `S3:*`, `s3:Get*`, `s3:*Object`, `s3:?etObject`, ...), whatever the resources: a statement's
 *   resource list is one edit away from a bucket, and a reviewer should not have to prove that
 *   `"Action": "*"` on today's resources happens to miss S3;
 * - uses `NotAction` that does not exclude all of S3 (it grants every action not listed);
 * - gives an S3 action on a resource whose bucket part has a wildcard (`*`, `arn:aws:s3:::*`,
 *   `arn:*:s3:::*` (any partition), `arn:aws:s3:::my-bucket*`, `arn:aws:s3:::my-bucket?`); a wildcard only in
 *   the key under a named bucket (`arn:aws:s3:::my-bucket/logs/*`) is fine;
 * - uses `NotResource` with an S3 action;
 * - gives an account-level S3 action (only valid on `"*"`, e.g. `s3:ListAllMyBuckets`) that the
 *   caller has not allowed.
 * Deny statements never violate. Conditions are not evaluated: a condition can narrow a grant, but
 * a reviewer should not have to prove that it does.
 */
import { accountLevelAction, canMatchS3Action, coversAllOfS3, s3ActionsMatching } from "./actions";
import { Finding, FindingKind, FindingRule } from "./findings";
import { hasWildcard } from "./glob";
import { analyzeResource, ResourceShape } from "./resources";
import { S3_ACTIONS } from "./s3Actions";
import { isUnknown } from "./unknown";

export interface CheckOptions {
  /**
   * Account-level S3 actions (e.g. `s3:ListAllMyBuckets`) a role may hold on `"*"`.
   * Compared case-insensitively.
   * @default []
   */
  readonly allowedAccountLevelActions?: readonly string[];
}

type Json = Record<string, unknown>;

interface Location {
  readonly statementIndex?: number;
  readonly sid?: string;
}

/** The strings of an `Action`/`Resource` value, and descriptions of the parts that are not strings. */
interface PatternList {
  readonly known: string[];
  readonly unresolved: string[];
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !isUnknown(value);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function readPatterns(value: unknown, field: string): PatternList {
  if (isUnknown(value)) return { known: [], unresolved: [`${field} is not known yet (${value.path})`] };
  const list = Array.isArray(value) ? value : [value];
  const known: string[] = [];
  const unresolved: string[] = [];
  list.forEach((item, i) => {
    const where = Array.isArray(value) ? `${field}[${i}]` : field;
    if (typeof item === "string") known.push(item);
    else if (isUnknown(item)) unresolved.push(`${where} is not known yet (${item.path})`);
    else unresolved.push(`${where} is ${preview(item)}, not a string (an unresolved template function?)`);
  });
  return { known, unresolved };
}

function listText(list: PatternList): string {
  const parts = [...list.known, ...list.unresolved.map(() => "<unknown>")];
  return parts.join(", ");
}

const KNOWN_VALUES_FIX =
  "give the checker known strings: in a Pulumi program, build the document from values known at preview " +
  "(bucket names from config and ARNs assembled from them); for a template, check the rendered document";

function finding(
  kind: FindingKind,
  rule: FindingRule,
  at: Location,
  action: string,
  resource: string,
  reason: string,
  fix: string,
): Finding {
  return { kind, rule, ...at, action, resource, reason, fix };
}

function malformed(at: Location, action: string, resource: string, reason: string, fix: string): Finding {
  return finding("malformed", "malformed", at, action, resource, reason, fix);
}

/** The actions a sync or backup role usually needs; shown first when a wildcard expands to them. */
const COMMON_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetObjectVersion", "s3:GetBucketLocation"];

const EXAMPLE_ACTIONS = `"s3:GetObject", "s3:PutObject" (objects) or "s3:ListBucket" (the bucket)`;

function explainWildcardAction(pattern: string): { reason: string; fix: string } {
  const matched = s3ActionsMatching(pattern);
  if (coversAllOfS3(pattern)) {
    const everyService = /^[*?]*$/.test(pattern.split(":")[0]);
    const scope = everyService ? "of every AWS service, S3 included" : "of S3";
    return {
      reason: `"${pattern}" grants every action ${scope} (${S3_ACTIONS.length} S3 actions today, and any added later)`,
      fix: `list only the S3 actions the role needs by name, e.g. ${EXAMPLE_ACTIONS}`,
    };
  }
  if (matched.length === 0) {
    return {
      reason: `"${pattern}" is a wildcard over S3 actions`,
      fix: `list only the S3 actions the role needs by name, e.g. ${EXAMPLE_ACTIONS}`,
    };
  }
  const examples = [...COMMON_ACTIONS.filter((a) => matched.includes(a)), ...matched.filter((a) => !COMMON_ACTIONS.includes(a))];
  const shown = examples.slice(0, 4).join(", ");
  const more = matched.length > 4 ? `, ... ${matched.length - 4} more` : "";
  return {
    reason: `"${pattern}" expands to ${matched.length} S3 action${matched.length === 1 ? "" : "s"} (${shown}${more}), and to any matching action S3 adds later`,
    fix: `list only the ones the role needs by name, e.g. ${examples
      .slice(0, 2)
      .map((a) => `"${a}"`)
      .join(", ")}`,
  };
}

function bucketFix(shape: ResourceShape): string {
  const bucket = shape.bucketStem ?? "<bucket-name>";
  const arn = `arn:${shape.partition}:s3:::${bucket}`;
  return `name the bucket: "${arn}" for bucket actions such as s3:ListBucket, and "${arn}/*" (or a prefix such as "${arn}/logs/*") for object actions`;
}

function bucketReason(resource: string): string {
  return resource === "*" || /^\*+$/.test(resource)
    ? `"${resource}" matches every resource, every bucket included`
    : `the bucket part of "${resource}" has a wildcard, so it matches more than one bucket`;
}

/** Applies the rule to one statement. */
function checkStatement(statement: unknown, index: number, allowed: ReadonlySet<string>): Finding[] {
  if (isUnknown(statement)) {
    return [
      finding("unchecked", "unknown-value", { statementIndex: index }, "", "",
        `the statement is not known yet (${statement.path}), so it could not be checked`, ""),
    ];
  }
  if (!isObject(statement)) {
    return [malformed({ statementIndex: index }, "", "", `a statement must be a JSON object, not ${preview(statement)}`,
      `write the statement as an object with Effect, Action and Resource`)];
  }
  const at: Location = { statementIndex: index, sid: typeof statement.Sid === "string" ? statement.Sid : undefined };
  const has = (key: string) => Object.prototype.hasOwnProperty.call(statement, key) && statement[key] !== undefined;
  const effect = statement.Effect;
  if (effect === "Deny") return [];
  const effectUnknown = isUnknown(effect);
  const actionField = has("NotAction") && !has("Action") ? "NotAction" : "Action";
  const resourceField = has("NotResource") && !has("Resource") ? "NotResource" : "Resource";
  const actions = readPatterns(statement[actionField], actionField);
  const resources = readPatterns(statement[resourceField], resourceField);
  const actionText = has(actionField) ? listText(actions) : "";
  const resourceText = has(resourceField) ? listText(resources) : "";

  if (!effectUnknown && effect !== undefined && effect !== "Allow") {
    return [malformed(at, actionText, resourceText, `Effect must be "Allow" or "Deny", not ${preview(effect)}`,
      `write "Effect": "Allow" (or "Deny")`)];
  }
  if (has("Action") && has("NotAction")) {
    return [malformed(at, actionText, resourceText, "the statement has both Action and NotAction",
      "keep only Action, listing the actions the role needs")];
  }
  if (!has("Action") && !has("NotAction")) {
    return [malformed(at, "", resourceText, "the statement has neither Action nor NotAction",
      "add an Action list naming the actions the role needs")];
  }
  if (has("Resource") && has("NotResource")) {
    return [malformed(at, actionText, resourceText, "the statement has both Resource and NotResource",
      "keep only Resource, naming the buckets")];
  }
  if (!has("Resource") && !has("NotResource")) {
    return [malformed(at, actionText, "", "the statement has neither Resource nor NotResource (a role's policy needs one)",
      "add a Resource list naming the buckets")];
  }

  const notAction = actionField === "NotAction";
  const notResource = resourceField === "NotResource";
  const shapes = resources.known.map((resource) => ({ resource, shape: analyzeResource(resource) }));
  // The S3 resources a finding names; unknown resources count as possibly S3.
  const s3Resources = [...shapes.filter((s) => s.shape.s3).map((s) => s.resource), ...resources.unresolved.map(() => "<unknown>")];
  const s3ResourceText = notResource
    ? `NotResource ${resourceText}`
    : s3Resources.length > 0 ? s3Resources.join(", ") : resourceText;

  const findings: Finding[] = [];
  const violation = (rule: FindingRule, action: string, resource: string, reason: string, fix: string) =>
    findings.push(finding("violation", rule, at, action, resource, reason, fix));

  // The S3 actions the statement grants for sure, apart from allowed account-level ones.
  let grantsS3: boolean;
  if (notAction) {
    const excludesS3 = actions.known.some(coversAllOfS3);
    grantsS3 = !excludesS3 && actions.unresolved.length === 0;
    if (grantsS3) {
      violation("not-action", `NotAction ${actionText}`, s3ResourceText,
        `NotAction grants every action not listed, and "${actions.known.join(", ")}" leaves S3 in`,
        `replace NotAction with an Action list naming the S3 actions the role needs, e.g. ${EXAMPLE_ACTIONS}`);
    }
  } else {
    const s3Patterns = actions.known.filter(canMatchS3Action);
    const accountLevel = s3Patterns.filter((p) => !hasWildcard(p) && accountLevelAction(p) !== undefined);
    const bucketActions = s3Patterns.filter((p) => !accountLevel.includes(p));
    const deniedAccountLevel = accountLevel.filter((p) => !allowed.has(p.toLowerCase()));
    grantsS3 = bucketActions.length > 0 || deniedAccountLevel.length > 0;

    for (const pattern of bucketActions.filter(hasWildcard)) {
      const { reason, fix } = explainWildcardAction(pattern);
      violation("wildcard-action", pattern, s3ResourceText, reason, fix);
    }
    if (notResource) {
      const granted = [...bucketActions, ...deniedAccountLevel];
      if (granted.length > 0) {
        violation("not-resource", granted.join(", "), `NotResource ${resourceText}`,
          "NotResource grants the actions on every resource not listed, every other bucket included",
          "replace NotResource with a Resource list naming the buckets the role needs");
      }
    } else {
      if (bucketActions.length > 0) {
        for (const { resource, shape } of shapes.filter((s) => s.shape.wildcardBucket)) {
          violation("wildcard-bucket", bucketActions.join(", "), resource, bucketReason(resource), bucketFix(shape));
        }
      }
      const star = shapes.filter((s) => s.shape.matchesAnyResource).map((s) => s.resource);
      if (star.length > 0) {
        for (const action of deniedAccountLevel) {
          const canonical = accountLevelAction(action) ?? action;
          violation("account-level-action", action, star.join(", "),
            `"${action}" acts on the whole account and only accepts Resource "*", so it reaches every bucket`,
            `remove it unless the role needs it; if it does, add "${canonical}" to allowedAccountLevelActions in the policy pack config`);
        }
      }
    }
  }

  // What could not be checked, and why it matters.
  const unresolved: string[] = [];
  if (actions.unresolved.length > 0) {
    const risk = notAction ? "unless it excludes all of S3, the statement grants S3 actions" : "it could grant S3 actions by wildcard";
    unresolved.push(`${actions.unresolved.join("; ")}; ${risk}`);
  }
  if (resources.unresolved.length > 0 && grantsS3) {
    unresolved.push(`${resources.unresolved.join("; ")}; it could name every bucket`);
  }
  if (unresolved.length > 0) {
    findings.push(finding("unchecked", "unknown-value", at, actionText, resourceText, unresolved.join("; "),
      KNOWN_VALUES_FIX));
  }

  if (isUnknown(effect)) {
    const effectNote = `Effect is not known yet (${effect.path})`;
    return findings.map((f) =>
      f.kind === "violation" ? { ...f, kind: "unchecked" as const, reason: `${effectNote}; if it is "Allow": ${f.reason}` } : f,
    );
  }
  return findings;
}

/**
 * Checks one IAM policy document, given as a JSON string or as an object. Values that are not
 * known yet (`Unknown`) or are not strings are reported as `unchecked`; everything known is
 * still checked. Never throws.
 */
export function checkPolicyDocument(document: unknown, options: CheckOptions = {}): Finding[] {
  const allowed = new Set((options.allowedAccountLevelActions ?? []).map((a) => a.toLowerCase()));
  const whole: Location = {};
  let doc = document;
  if (isUnknown(doc)) {
    return [finding("unchecked", "unknown-value", whole, "", "",
      `the policy document is not known yet (${doc.path}), so it could not be checked`,
      KNOWN_VALUES_FIX)];
  }
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch (err) {
      return [malformed(whole, "", "", `the policy document is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
        "write the document as JSON")];
    }
  }
  if (!isObject(doc)) {
    return [malformed(whole, "", "", `a policy document must be a JSON object, not ${preview(doc)}`,
      `write {"Version": "2012-10-17", "Statement": [...]}`)];
  }
  const statement = doc.Statement;
  if (statement === undefined) {
    return [malformed(whole, "", "", "the policy document has no Statement", `add "Statement": [...]`)];
  }
  if (isUnknown(statement)) {
    return [finding("unchecked", "unknown-value", whole, "", "",
      `Statement is not known yet (${statement.path}), so it could not be checked`, "")];
  }
  const statements: unknown[] = Array.isArray(statement) ? statement : [statement];
  return statements.flatMap((s, i) => checkStatement(s, i, allowed));
}
