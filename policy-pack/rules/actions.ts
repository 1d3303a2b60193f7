/**
 * What an `Action` / `NotAction` pattern means for S3. Service prefixes and action names are
 * case-insensitive in IAM, so all matching here is too.
 */
import { globCoversPrefix, globMatches, hasWildcard } from "./glob";
import { ACCOUNT_LEVEL_S3_ACTIONS, S3_ACTIONS } from "./s3Actions";

const QUALIFIED_S3_ACTIONS = S3_ACTIONS.map((name) => `s3:${name}`);
const ACCOUNT_LEVEL_BY_LOWER = new Map(ACCOUNT_LEVEL_S3_ACTIONS.map((name) => [`s3:${name}`.toLowerCase(), `s3:${name}`]));

/** The service part of an action pattern (`s3` in `s3:GetObject`), if it has one. */
function servicePart(pattern: string): string | undefined {
  const colon = pattern.indexOf(":");
  return colon < 0 ? undefined : pattern.slice(0, colon);
}

/** The listed S3 actions (`s3:Name`) that `pattern` matches. */
export function s3ActionsMatching(pattern: string): string[] {
  return QUALIFIED_S3_ACTIONS.filter((action) => globMatches(pattern, action, true));
}

/**
 * Whether the pattern can grant an S3 action: a literal `s3:` action (listed or not), a pattern
 * that matches a listed S3 action (`*`, `*:*`, `s3:Get*`, `*:GetObject`, `s3*:*`), or any
 * pattern whose service part is literally `s3` (so `s3:Future*` counts before AWS lists it).
 */
export function canMatchS3Action(pattern: string): boolean {
  if (servicePart(pattern)?.toLowerCase() === "s3") return true;
  return hasWildcard(pattern) && s3ActionsMatching(pattern).length > 0;
}

/** Whether the pattern matches every S3 action there is or will be (`*`, `*:*`, `s3:*`, `S3:*`, `s3*`). */
export function coversAllOfS3(pattern: string): boolean {
  return globCoversPrefix(pattern, "s3:", true);
}

/** The canonical spelling of an account-level S3 action, or undefined if `action` is not one. */
export function accountLevelAction(action: string): string | undefined {
  return ACCOUNT_LEVEL_BY_LOWER.get(action.toLowerCase());
}
