/** Where a running S3-compatible server listens and how to sign requests for it. */
export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a server implements; a test needing a missing feature is skipped, naming both. */
export interface ServerFeatures {
  uploadPartCopy: boolean;
  versioning: boolean;
  tagging: boolean;
  checksums: boolean;
}

/** An S3-compatible server started by a test, on 127.0.0.1. */
export interface RunningS3Server extends S3Endpoint {
  /** Human name used in skip messages, e.g. "s3rver (embedded)" or "OpenStack Swift s3api". */
  name: string;
  features: ServerFeatures;
  stop(): Promise<void>;
}
