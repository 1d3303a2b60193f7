/**
 * What AWS authorizes for each request the handlers send: the one place that maps an S3 command
 * and its input to the IAM (action, resource, condition context) triples AWS evaluates, KMS calls
 * S3 makes on the caller's behalf included. The enforcement (local-stepfunctions/iam.ts) evaluates
 * every triple; a command this table does not know is an error, never silently allowed.
 *
 * Sources:
 * - Actions, resources and condition keys per S3 operation: "Required permissions for Amazon S3 API
 *   operations", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html,
 *   and "Actions, resources, and condition keys for Amazon S3",
 *   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html.
 *   HeadObject is s3:GetObject, HeadBucket is s3:ListBucket, ListParts is
 *   s3:ListMultipartUploadParts, ListMultipartUploads is s3:ListBucketMultipartUploads; a copy
 *   (CopyObject, UploadPartCopy) is s3:PutObject on the target and s3:GetObject on the source; a
 *   write that sets tags (`Tagging`) also needs s3:PutObjectTagging; DeleteObjects is checked per
 *   key as s3:DeleteObject.
 * - `s3:prefix`, `s3:delimiter`, `s3:max-keys` on ListBucket: "Example bucket policies using
 *   condition keys", https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html.
 * - SSE-KMS: S3 calls kms:GenerateDataKey to write an object under a KMS key and kms:Decrypt to
 *   read one, and both for a multipart upload ("Permissions" in "Using server-side encryption with
 *   AWS KMS keys", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html),
 *   with the caller as principal and `kms:ViaService` = `s3.<region>.amazonaws.com`
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
 *
 * The request is described as the deployed function sends it: over HTTPS to S3
 * (`aws:SecureTransport` true, TLS 1.3), signed with SigV4 in the Authorization header, whatever
 * transport the local endpoint uses.
 */

/** One permission AWS checks for a request. */
export interface Authorization {
  /** `service:Action`, e.g. `s3:ListBucket`. */
  action: string;
  /** The resource ARN, e.g. `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  resource: string;
  /**
   * Whose resource it is: a bucket (its owner and bucket policy), a KMS key (its key policy), or
   * a resource of the stack's own account without a resource policy (a function, topic, state machine).
   */
  owner: { bucket: string } | { kmsKeyArn: string } | { accountId: string };
  /** The request's condition keys that are specific to the service (global keys are added by the evaluator). */
  context: Record<string, string | string[]>;
}

/** What the mapping needs to know about where the request goes. */
export interface RequestSetting {
  partition: string;
  region: string;
  /** The default SSE-KMS key of a bucket, when it has one. */
  bucketKey(bucket: string): string | undefined;
}

/** A request the table does not know; never allowed. */
export class UnmappedRequestError extends Error {
  constructor(command: string) {
    super(
      `${command} is not in the table of requests IAM enforcement knows (local-stepfunctions/iamRequests.ts): ` +
        "add its action, resource and condition keys there before a handler sends it",
    );
    this.name = "BucketSync.UnmappedRequest";
  }
}

type Input = Record<string, unknown>;

/** Condition keys every S3 request carries as a deployed function sends it. */
const S3_REQUEST_KEYS = { "s3:TlsVersion": "1.3", "s3:authType": "REST-HEADER", "s3:signatureversion": "AWS4-HMAC-SHA256" };

/**
 * The permissions AWS checks for `command` (the SDK's command name, `ListObjectsV2Command`) with
 * `input`. Throws {@link UnmappedRequestError} for a command it does not know.
 */
export function s3Authorizations(command: string, input: Input, setting: RequestSetting): Authorization[] {
  const bucket = String(input.Bucket ?? "");
  const bucketArn = `arn:${setting.partition}:s3:::${bucket}`;
  const objectArn = (b: string, key: unknown) => `arn:${setting.partition}:s3:::${b}/${String(key ?? "")}`;
  const onBucket = (action: string, context: Record<string, string> = {}): Authorization => ({
    action,
    resource: bucketArn,
    owner: { bucket },
    context: { ...S3_REQUEST_KEYS, ...context },
  });
  const onObject = (action: string, context: Record<string, string> = {}, b = bucket, key = input.Key): Authorization => ({
    action,
    resource: objectArn(b, key),
    owner: { bucket: b },
    context: { ...S3_REQUEST_KEYS, ...context },
  });
  const kms = (action: string, keyArn: string | undefined): Authorization[] =>
    keyArn
      ? [
          {
            action,
            resource: keyArn,
            owner: { kmsKeyArn: keyArn },
            context: { "kms:ViaService": `s3.${setting.region}.amazonaws.com${setting.partition === "aws-cn" ? ".cn" : ""}` },
          },
        ]
      : [];
  /** The key a write encrypts under: the request's own, else the bucket's default. */
  const writeKey = () => (input.SSEKMSKeyId as string | undefined) ?? setting.bucketKey(bucket);
  const writeContext = (): Record<string, string> => ({
    ...(input.ServerSideEncryption ? { "s3:x-amz-server-side-encryption": String(input.ServerSideEncryption) } : {}),
    ...(input.SSEKMSKeyId ? { "s3:x-amz-server-side-encryption-aws-kms-key-id": String(input.SSEKMSKeyId) } : {}),
    ...(input.StorageClass ? { "s3:x-amz-storage-class": String(input.StorageClass) } : {}),
  });
  const tagging = (): Authorization[] => (input.Tagging ? [onObject("s3:PutObjectTagging")] : []);
  const source = () => parseCopySource(String(input.CopySource ?? ""));
  // A version by its id is s3:GetObjectVersion (and its tags s3:GetObjectVersionTagging), a copy
  // from one too: "Amazon S3 actions", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-actions.html
  const versioned = (action: string, versionId: unknown) => (versionId !== undefined ? action.replace(/^s3:GetObject/, "s3:GetObjectVersion") : action);
  const readSource = (): Authorization[] => {
    const { bucket: b, key } = source();
    const versionId = /[?&]versionId=/.test(String(input.CopySource ?? "")) ? true : undefined;
    return [onObject(versioned("s3:GetObject", versionId), {}, b, key), ...kms("kms:Decrypt", setting.bucketKey(b))];
  };
  const listContext = () => ({
    ...(input.Prefix !== undefined ? { "s3:prefix": String(input.Prefix) } : {}),
    ...(input.Delimiter !== undefined ? { "s3:delimiter": String(input.Delimiter) } : {}),
    ...(input.MaxKeys !== undefined ? { "s3:max-keys": String(input.MaxKeys) } : {}),
  });

  switch (command) {
    case "ListObjectsV2Command":
    case "ListObjectsCommand":
      return [onBucket("s3:ListBucket", listContext())];
    case "ListObjectVersionsCommand":
      return [onBucket("s3:ListBucketVersions", listContext())];
    case "GetBucketVersioningCommand":
      return [onBucket("s3:GetBucketVersioning")];
    case "GetBucketLifecycleConfigurationCommand":
      return [onBucket("s3:GetLifecycleConfiguration")];
    case "HeadBucketCommand":
      return [onBucket("s3:ListBucket")];
    case "ListMultipartUploadsCommand":
      return [onBucket("s3:ListBucketMultipartUploads")];
    case "HeadObjectCommand":
      return [onObject(versioned("s3:GetObject", input.VersionId))];
    case "GetObjectCommand":
      return [onObject(versioned("s3:GetObject", input.VersionId)), ...kms("kms:Decrypt", setting.bucketKey(bucket))];
    case "GetObjectTaggingCommand":
      return [onObject(versioned("s3:GetObjectTagging", input.VersionId))];
    case "PutObjectTaggingCommand":
      return [onObject("s3:PutObjectTagging")];
    case "PutObjectCommand":
      return [onObject("s3:PutObject", writeContext()), ...tagging(), ...kms("kms:GenerateDataKey", writeKey())];
    case "CopyObjectCommand":
      return [
        onObject("s3:PutObject", {
          ...writeContext(),
          "s3:x-amz-copy-source": String(input.CopySource ?? ""),
          ...(input.MetadataDirective ? { "s3:x-amz-metadata-directive": String(input.MetadataDirective) } : {}),
        }),
        ...tagging(),
        ...readSource(),
        ...kms("kms:GenerateDataKey", writeKey()),
      ];
    case "CreateMultipartUploadCommand":
      return [onObject("s3:PutObject", writeContext()), ...tagging(), ...kms("kms:GenerateDataKey", writeKey())];
    case "UploadPartCommand":
      return [onObject("s3:PutObject"), ...kms("kms:GenerateDataKey", setting.bucketKey(bucket))];
    case "UploadPartCopyCommand":
      return [onObject("s3:PutObject"), ...readSource(), ...kms("kms:GenerateDataKey", setting.bucketKey(bucket))];
    case "CompleteMultipartUploadCommand":
      // S3 decrypts the parts to assemble the object.
      return [onObject("s3:PutObject"), ...kms("kms:Decrypt", setting.bucketKey(bucket))];
    case "AbortMultipartUploadCommand":
      return [onObject("s3:AbortMultipartUpload")];
    case "ListPartsCommand":
      return [onObject("s3:ListMultipartUploadParts")];
    case "DeleteObjectCommand":
      return [onObject(input.VersionId !== undefined ? "s3:DeleteObjectVersion" : "s3:DeleteObject")];
    case "DeleteObjectsCommand":
      return deleteObjectsKeys(input).map((key) => onObject("s3:DeleteObject", {}, bucket, key));
    default:
      throw new UnmappedRequestError(command);
  }
}

/** The keys a DeleteObjects request names. */
export function deleteObjectsKeys(input: Input): string[] {
  const objects = (input.Delete as { Objects?: Array<{ Key?: string }> } | undefined)?.Objects ?? [];
  return objects.map((o) => String(o.Key ?? ""));
}

/** `bucket/key` of a CopySource (each segment URL-encoded, optionally `?versionId=`). */
export function parseCopySource(copySource: string): { bucket: string; key: string } {
  const path = copySource.replace(/^\//, "").split("?")[0];
  const slash = path.indexOf("/");
  if (slash <= 0) throw new Error(`CopySource "${copySource}" is not <bucket>/<key>`);
  return { bucket: decodeURIComponent(path.slice(0, slash)), key: decodeURIComponent(path.slice(slash + 1)) };
}

/**
 * The condition keys each AWS service sets when it assumes a role on a trigger's or the machine's
 * behalf (`sts:AssumeRole` with the service as principal): what a trust policy's conditions can
 * rely on. A key a service does not set makes a condition on it fail, and the service cannot
 * assume the role at all.
 *
 * | service | sets | source |
 * |---|---|---|
 * | `states.amazonaws.com` (the state machine's role) | `aws:SourceAccount`, `aws:SourceArn` (the state machine) | "Cross-service confused deputy prevention", https://docs.aws.amazon.com/step-functions/latest/dg/cross-service-confused-deputy-prevention.html |
 * | `scheduler.amazonaws.com` (the schedule's role) | `aws:SourceAccount`, `aws:SourceArn` (the schedule group) | "Preventing cross-service confused deputy", https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html |
 * | `events.amazonaws.com` (the on-change rule's role) | `aws:SourceAccount` (the rule's account), `aws:SourceArn` (the rule) | "Using IAM policy conditions in Amazon EventBridge", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html |
 * | `apigateway.amazonaws.com` (the REST API integration's credentials role) | neither | API Gateway documents no confused-deputy keys for integration credentials; an `aws:SourceAccount` condition makes every call fail with "API Gateway does not have permission to assume the provided role" (observed and fixed in https://github.com/aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws/pull/479). The guard is `iam:PassRole`: only who may pass the role can name it as an integration's credentials ("API Gateway permissions model for invoking an API", https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html). |
 */
export const SERVICE_ASSUME_ROLE_KEYS = {
  "states.amazonaws.com": { sourceAccount: true, sourceArn: "stateMachine" },
  "scheduler.amazonaws.com": { sourceAccount: true, sourceArn: "scheduleGroup" },
  "events.amazonaws.com": { sourceAccount: true, sourceArn: "rule" },
  "apigateway.amazonaws.com": { sourceAccount: false, sourceArn: undefined },
} as const;

export type AssumingService = keyof typeof SERVICE_ASSUME_ROLE_KEYS;

/**
 * The permission AWS checks when `service` assumes `roleArn` for a resource of `sourceAccount`
 * (`sourceArn`): `sts:AssumeRole` on the role, judged by its trust policy, with exactly the keys
 * that service sets.
 */
export function assumeRoleAuthorization(service: AssumingService, roleArn: string, source: { account: string; arn: string }): Authorization {
  const keys = SERVICE_ASSUME_ROLE_KEYS[service];
  return {
    action: "sts:AssumeRole",
    resource: roleArn,
    owner: { accountId: roleArn.split(":")[4] ?? "" },
    context: {
      ...(keys.sourceAccount ? { "aws:SourceAccount": source.account } : {}),
      ...(keys.sourceArn ? { "aws:SourceArn": source.arn } : {}),
    },
  };
}
