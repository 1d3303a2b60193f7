/**
 * bucket-sync: read config -> build components -> export outputs.
 *
 * Every stack gets its hardened bucket. A stack whose config sets `syncMachine` (prod) also gets
 * the sync machine that copies the source stack's bucket into its own, its notifications, its
 * triggers and its monitoring. The program is a function (Pulumi runs a default-exported function
 * and exports what it returns), so tests can run it again and again under mocks.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HANDLER_NAMES } from "./model/contract";
import { checkAgainstAccount, configWarnings, fullRunAlarmSeconds, loadStackConfig, sourceWarnings } from "./infra/config";
import { BackupKeyGrant, backupBucketGrants, EventForwarding, SourceAccountEvents, StackKmsKey, type BackupStack } from "./infra/crossAccount";
import { HardenedBucket } from "./infra/hardenedBucket";
import { restoreTargetStatements } from "./infra/iamDocuments";
import { RestoreRole } from "./infra/restoreRole";
import {
  bucketName,
  dashboardName,
  eventForwardingName,
  functionNames,
  nameStem,
  notificationTopicName,
  onChangeBatchMachineName,
  onChangeDeadLetterQueueName,
  arns,
  onChangePipeName,
  onChangeQueueName,
  onChangeRuleName,
  onChangeRunSlotsTableName,
  restoreRoleName,
  reportsBucketName,
  restApiName,
  scheduleDeadLetterQueueName,
  scheduleName,
  sourceEventsStatementId,
  stateMachineConsoleUrl,
  type AwsScope,
} from "./infra/names";
import { Notifications } from "./infra/notifications";
import { SyncMonitoring } from "./infra/observability";
import { sourceBucket as sourceOf } from "./infra/source";
import { SyncMachine } from "./infra/syncMachine";
import { buildRequestCeiling, buildSyncRequest, startExecutionCommand } from "./infra/syncRequest";
import { OnChangeBatches } from "./infra/onChangeBatches";
import { RestApiTrigger, SyncSchedule } from "./infra/triggers";

async function bucketSync(): Promise<Record<string, pulumi.Input<string>>> {
  const config = loadStackConfig();
  for (const warning of configWarnings(config)) void pulumi.log.warn(warning);
  const [identity, partition] = await Promise.all([aws.getCallerIdentity(), aws.getPartition()]);
  const scope: AwsScope = { partition: partition.partition, region: config.region, accountId: identity.accountId };
  checkAgainstAccount(config, identity.accountId);
  const stem = nameStem(config.project, config.stack);
  const names = { ...config, accountId: scope.accountId };
  const tags = { project: config.project, stack: config.stack };

  // Another account backs this bucket up: its sync roles may read it, and its events go there.
  const backup: BackupStack | undefined = config.backupAccountId
    ? { project: config.project, stack: config.backupStack, accountId: config.backupAccountId }
    : undefined;

  // The buckets' key: one the stack creates (its policy is the stack's), or one given by ARN.
  const stackKey = config.createKmsKey
    ? new StackKmsKey("kms-key", { description: `Encrypts the buckets of ${stem}.`, scope, backup, tags })
    : undefined;
  const kmsKeyArn: pulumi.Input<string> | undefined = stackKey?.keyArn ?? config.kmsKeyArn;

  const bucket = new HardenedBucket("bucket", {
    bucketName: bucketName(names),
    partition: scope.partition,
    kmsKeyArn,
    noncurrentVersionRetentionDays: config.noncurrentVersionRetentionDays,
    eventBridgeNotifications: config.eventBridgeNotifications,
    grants: backup
      ? [
          ...backupBucketGrants(scope.partition, bucketName(names), backup),
          ...(config.restoreGrantPrefix !== undefined
            ? restoreTargetStatements({
                target: { bucketArn: arns.bucket(scope.partition, bucketName(names)), prefix: config.restoreGrantPrefix },
                restoreRoleArn: arns.role(scope.partition, backup.accountId, restoreRoleName(nameStem(backup.project, backup.stack))),
              })
            : []),
        ]
      : [],
    protect: config.protectBuckets,
    backup: config.syncMachine,
    objectLock: config.objectLockMode ? { mode: config.objectLockMode, days: config.objectLockRetentionDays } : undefined,
    breakGlassRoleArn: config.breakGlassRoleName && arns.role(scope.partition, scope.accountId, config.breakGlassRoleName),
    tags,
  });
  // A key the stack did not create keeps its policy: the backup account gets a grant instead.
  const keyGrant =
    backup && config.kmsKeyArn
      ? new BackupKeyGrant("backup-key-grant", { kmsKeyArn: config.kmsKeyArn, bucketName: bucketName(names), scope, backup })
      : undefined;
  if (backup && config.eventBridgeNotifications) {
    new EventForwarding("event-forwarding", {
      name: eventForwardingName(stem),
      scope,
      bucketName: bucket.bucketName,
      backupAccountId: backup.accountId,
      tags,
    });
  }
  const bucketOutputs = {
    bucketName: bucket.bucketName,
    bucketArn: bucket.bucketArn,
    accountId: scope.accountId,
    ...(kmsKeyArn ? { kmsKeyArn } : {}),
    ...(keyGrant ? { backupKeyPolicyStatement: JSON.stringify(keyGrant.keyPolicyStatement) } : {}),
  };
  if (!config.syncMachine) return bucketOutputs;

  const { bucket: sourceBucket, accountId: sourceAccountId, kmsKeyArn: sourceKmsKeyArn } = await sourceOf(config, scope.accountId);
  const crossAccountSource = sourceAccountId !== scope.accountId;
  for (const warning of sourceWarnings(config, { crossAccount: crossAccountSource })) void pulumi.log.warn(warning);
  const request = sourceBucket.apply((source) =>
    buildSyncRequest(config, { sourceBucket: source, destinationBucket: bucketName(names) }),
  );

  // The stack's configuration is the ceiling of every request, however the run is started.
  const ceiling = request.apply((r) => buildRequestCeiling(r, config.onChangeMaxDeletes));

  const notifications = new Notifications("notifications", {
    topicName: notificationTopicName(stem),
    emails: config.notificationEmails,
    tags,
  });

  const machine = new SyncMachine("sync-machine", {
    nameStem: stem,
    scope,
    source: sourceBucket.apply((source) => ({ bucket: source, prefix: config.sourcePrefix })),
    destination: { bucket: bucketName(names), prefix: config.destinationPrefix },
    mode: config.mode,
    requestCeiling: ceiling,
    maxDeletesPerDay: config.maxDeletesPerDay,
    handlerPackaging: config.handlerPackaging,
    notificationTopic: notifications.topic,
    reportsBucketName: reportsBucketName(names),
    reportRetentionDays: config.reportRetentionDays,
    kmsKeyArn,
    sourceKmsKeyArn,
    noncurrentVersionRetentionDays: config.noncurrentVersionRetentionDays,
    protectBuckets: config.protectBuckets,
    logRetentionDays: config.logRetentionDays,
    maxConcurrency: config.maxConcurrency,
    syncRangeTimeoutSeconds: config.syncRangeTimeoutSeconds,
    tags,
  });

  const deadLetterQueueNames: string[] = [];
  if (config.schedule) {
    deadLetterQueueNames.push(scheduleDeadLetterQueueName(stem));
    new SyncSchedule("schedule", {
      scheduleName: scheduleName(stem),
      deadLetterQueueName: scheduleDeadLetterQueueName(stem),
      scope,
      stateMachine: machine.stateMachine,
      startArn: machine.startArn,
      scheduleExpression: config.schedule,
      timezone: config.scheduleTimezone,
      request,
      tags,
    });
  }
  if (config.onChangeSync && crossAccountSource) {
    new SourceAccountEvents("source-account-events", { scope, sourceAccountId, statementId: sourceEventsStatementId(stem, sourceAccountId) });
  }
  const onChange = config.onChangeSync
    ? new OnChangeBatches("on-change", {
        scope,
        names: {
          rule: onChangeRuleName(stem),
          queue: onChangeQueueName(stem),
          deadLetterQueue: onChangeDeadLetterQueueName(stem),
          pipe: onChangePipeName(stem),
          batchMachine: onChangeBatchMachineName(stem),
          runSlotsTable: onChangeRunSlotsTableName(stem),
          notificationTopic: notificationTopicName(stem),
        },
        sourceBucket,
        sourcePrefix: config.sourcePrefix,
        sourceAccountId: crossAccountSource ? sourceAccountId : undefined,
        syncMachine: machine.stateMachine,
        request,
        maxDeletes: config.onChangeMaxDeletes,
        batchWindowSeconds: config.onChangeBatchWindowSeconds,
        maxBatchKeys: config.onChangeMaxBatchKeys,
        maxConcurrentRuns: config.onChangeMaxConcurrentRuns,
        notificationTopic: notifications.topic,
        dashboardName: `${dashboardName(stem)}-on-change`,
        region: config.region,
        tags,
      })
    : undefined;

  const api = config.apiTrigger
    ? new RestApiTrigger("api", { name: restApiName(stem), scope, stateMachine: machine.stateMachine, startArn: machine.startArn, ceiling, tags })
    : undefined;

  const restoreTarget = config.restoreTarget && /^s3:\/\/([^/]+)\/?(.*)$/.exec(config.restoreTarget);
  const restore = restoreTarget
    ? new RestoreRole("restore", {
        roleName: restoreRoleName(stem),
        partition: scope.partition,
        accountId: scope.accountId,
        backup: { bucketName: bucketName(names), prefix: config.destinationPrefix },
        target: { bucketName: restoreTarget[1], prefix: restoreTarget[2] },
        kmsKeyArns: [config.kmsKeyArn, sourceKmsKeyArn].filter((key): key is string => Boolean(key)),
        tags,
      })
    : undefined;

  const monitoring = new SyncMonitoring("monitoring", {
    nameStem: dashboardName(stem),
    region: config.region,
    stateMachineArn: machine.stateMachineArn,
    functionNames: functionNames(stem, HANDLER_NAMES),
    alarmTopicArn: notifications.topicArn,
    metricsStack: stem,
    fullRunMaxAgeSeconds: fullRunAlarmSeconds(config.fullRunAlarmHours, config.schedule),
    deadLetterQueueNames,
    deleteApprovalAlarmHours: config.deleteApprovalAlarmHours,
    sourceShrinkAlarmPercent: config.sourceShrinkAlarmPercent,
  });

  return {
    ...bucketOutputs,
    sourceBucketName: sourceBucket,
    sourceAccountId,
    reportsBucketName: machine.reportsBucket.bucketName,
    reportsBucketArn: machine.reportsBucket.bucketArn,
    notificationTopicArn: notifications.topicArn,
    stateMachineArn: machine.stateMachineArn,
    stateMachineConsoleUrl: machine.stateMachineArn.apply((arn) => stateMachineConsoleUrl(scope, arn)),
    stateMachineAliasArn: machine.startArn,
    startExecutionCommand: pulumi
      .all([machine.startArn, request])
      .apply(([stateMachineArn, syncRequest]) =>
        startExecutionCommand({ region: config.region, stateMachineArn, request: syncRequest }),
      ),
    dashboardUrl: monitoring.dashboardUrl,
    ...(api ? { apiUrl: api.url } : {}),
    ...(onChange ? { onChangeDashboardUrl: onChange.dashboardUrl } : {}),
    ...(restore ? { restoreRoleArn: restore.roleArn } : {}),
  };
}

export = bucketSync;
