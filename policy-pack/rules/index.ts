/**
 * The wildcard-S3 rules as pure functions: no Pulumi, no I/O. The policy pack and the
 * `bucket-sync check-policy` command both apply them.
 */
export { accountLevelAction, canMatchS3Action, coversAllOfS3, s3ActionsMatching } from "./actions";
export { checkPolicyDocument, CheckOptions } from "./document";
export { describeFinding, Finding, FindingKind, FindingRule, statementLabel, Verdict, verdictOf } from "./findings";
export { globMatches, hasWildcard } from "./glob";
export { analyzeResource, ResourceShape } from "./resources";
export { ACCOUNT_LEVEL_S3_ACTIONS, S3_ACTIONS } from "./s3Actions";
export { isUnknown, Unknown } from "./unknown";
export { BACKUP_TAG, BackupHistoryInput, checkBackupHistory, DEFAULT_MIN_NONCURRENT_DAYS, HISTORY_ACTIONS } from "./history";
