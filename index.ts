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
import { configWarnings, loadStackConfig, sourceWarnings } from "./infra/config";
import { BackupKeyAccess, backupBucketGrants, EventForwarding, SourceAccountEvents, type BackupStack } from "./infra/crossAccount";
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
  onChangeDeadLetterQueueName,
  arns,
  onChangeRuleName,
  restoreRoleName,
  reportsBucketName,
  restApiName,
  scheduleDeadLetterQueueName,
  scheduleName,
  stateMachineConsoleUrl,
  type AwsScope,
} from "./infra/names";
import { Notifications } from "./infra/notifications";
import { SyncMonitoring } from "./infra/observability";
import { sourceBucket as sourceOf } from "./infra/source";
import { SyncMachine } from "./infra/syncMachine";
import { buildSyncRequest, startExecutionCommand } from "./infra/syncRequest";
import { OnChangeSync, RestApiTrigger, SyncSchedule } from "./infra/triggers";

async function bucketSync(): Promise<Record<string, pulumi.Input<string>>> {
  const config = loadStackConfig();
  for (const warning of configWarnings(config)) void pulumi.log.warn(warning);
  const [identity, partition] = await Promise.all([aws.getCallerIdentity(), aws.getPartition()]);
  const scope: AwsScope = { partition: partition.partition, region: config.region, accountId: identity.accountId };
  const stem = nameStem(config.project, config.stack);
  const names = { ...config, accountId: scope.accountId };
  const tags = { project: config.project, stack: config.stack };

  // Another account backs this bucket up: its sync roles may read it, and its events go there.
  const backup: BackupStack | undefined =
    config.backupAccountId && config.backupAccountId !== scope.accountId
      ? { project: config.project, stack: config.backupStack, accountId: config.backupAccountId }
      : undefined;

  const bucket = new HardenedBucket("bucket", {
    bucketName: bucketName(names),
    partition: scope.partition,
    kmsKeyArn: config.kmsKeyArn,
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
  if (backup && config.kmsKeyArn) {
    new BackupKeyAccess("backup-key-access", { kmsKeyArn: config.kmsKeyArn, scope, backup });
  }
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
    ...(config.kmsKeyArn ? { kmsKeyArn: config.kmsKeyArn } : {}),
  };
  if (!config.syncMachine) return bucketOutputs;

  const { bucket: sourceBucket, accountId: sourceAccountId, kmsKeyArn: sourceKmsKeyArn } = await sourceOf(config, scope.accountId);
  const crossAccountSource = sourceAccountId !== scope.accountId;
  for (const warning of sourceWarnings(config, { crossAccount: crossAccountSource })) void pulumi.log.warn(warning);
  const request = sourceBucket.apply((source) =>
    buildSyncRequest(config, { sourceBucket: source, destinationBucket: bucketName(names) }),
  );

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
    handlerPackaging: config.handlerPackaging,
    notificationTopic: notifications.topic,
    reportsBucketName: reportsBucketName(names),
    reportRetentionDays: config.reportRetentionDays,
    kmsKeyArn: config.kmsKeyArn,
    sourceKmsKeyArn,
    noncurrentVersionRetentionDays: config.noncurrentVersionRetentionDays,
    protectBuckets: config.protectBuckets,
    logRetentionDays: config.logRetentionDays,
    maxConcurrency: config.maxConcurrency,
    syncRangeTimeoutSeconds: config.syncRangeTimeoutSeconds,
    tags,
  });

  if (config.schedule) {
    new SyncSchedule("schedule", {
      scheduleName: scheduleName(stem),
      deadLetterQueueName: scheduleDeadLetterQueueName(stem),
      scope,
      stateMachine: machine.stateMachine,
      scheduleExpression: config.schedule,
      timezone: config.scheduleTimezone,
      request,
      tags,
    });
  }
  if (config.onChangeSync && crossAccountSource) {
    new SourceAccountEvents("source-account-events", { scope, sourceAccountId });
  }
  if (config.onChangeSync) {
    new OnChangeSync("on-change", {
      ruleName: onChangeRuleName(stem),
      deadLetterQueueName: onChangeDeadLetterQueueName(stem),
      scope,
      stateMachine: machine.stateMachine,
      sourceBucket,
      sourcePrefix: config.sourcePrefix,
      sourceAccountId: crossAccountSource ? sourceAccountId : undefined,
      maxDeletes: config.onChangeMaxDeletes,
      request,
      tags,
    });
  }

  const api = config.apiTrigger
    ? new RestApiTrigger("api", { name: restApiName(stem), scope, stateMachine: machine.stateMachine, tags })
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
    startExecutionCommand: pulumi
      .all([machine.stateMachineArn, request])
      .apply(([stateMachineArn, syncRequest]) =>
        startExecutionCommand({ region: config.region, stateMachineArn, request: syncRequest }),
      ),
    dashboardUrl: monitoring.dashboardUrl,
    ...(api ? { apiUrl: api.url } : {}),
    ...(restore ? { restoreRoleArn: restore.roleArn } : {}),
  };
}

export = bucketSync;
