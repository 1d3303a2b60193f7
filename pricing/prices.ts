/**
 * AWS list prices, in one place: the local runner's estimate of what a run would cost deployed
 * (Standard workflow transitions, Lambda arm64 duration and requests) and the benchmarks' cost
 * model (S3 requests, S3 Batch Operations, DataSync) read them from here.
 */

/** One price with the page it comes from. */
export interface Price {
  usd: number;
  per: string;
  source: string;
}

/** List prices, us-east-1, each with the page it comes from. */
export const AWS_PRICES = {
  stateTransition: { usd: 0.025 / 1000, per: "Standard workflow state transition", source: "https://aws.amazon.com/step-functions/pricing/" },
  // The functions deploy on arm64 (infra/handlerPackaging.ts), priced below x86's $0.0000166667.
  lambdaGbSecond: { usd: 0.0000133334, per: "Lambda GB-second (arm64)", source: "https://aws.amazon.com/lambda/pricing/" },
  lambdaRequest: { usd: 0.2 / 1_000_000, per: "Lambda request", source: "https://aws.amazon.com/lambda/pricing/" },
  s3Tier1: { usd: 0.005 / 1000, per: "S3 Standard PUT, COPY, POST or LIST request", source: "https://aws.amazon.com/s3/pricing/" },
  s3Tier2: { usd: 0.0004 / 1000, per: "S3 Standard GET or HEAD request", source: "https://aws.amazon.com/s3/pricing/" },
  batchOperationsJob: { usd: 0.25, per: "S3 Batch Operations job", source: "https://aws.amazon.com/s3/pricing/ (Management & insights)" },
  batchOperationsObject: { usd: 1.0 / 1_000_000, per: "object processed by S3 Batch Operations", source: "https://aws.amazon.com/s3/pricing/ (Management & insights)" },
  dataSyncEnhancedGb: { usd: 0.015, per: "GB copied by a DataSync Enhanced-mode task", source: "https://aws.amazon.com/datasync/pricing/" },
  dataSyncEnhancedExecution: { usd: 0.55, per: "DataSync Enhanced-mode task execution", source: "https://aws.amazon.com/datasync/pricing/" },
  dataSyncBasicGb: { usd: 0.0125, per: "GB copied by a DataSync Basic-mode task", source: "https://aws.amazon.com/datasync/pricing/" },
  sqsRequest: { usd: 0.4 / 1_000_000, per: "SQS standard queue request (each 64 KB chunk of a request counts as one)", source: "https://aws.amazon.com/sqs/pricing/" },
  pipesRequest: { usd: 0.4 / 1_000_000, per: "EventBridge Pipes request (each 64 KB chunk of a batch's payload counts as one)", source: "https://aws.amazon.com/eventbridge/pricing/" },
  dynamoDbWrite: { usd: 0.625 / 1_000_000, per: "DynamoDB on-demand write request unit", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/" },
  s3ReplicationTimeControlGb: { usd: 0.015, per: "GB replicated with S3 Replication Time Control", source: "https://aws.amazon.com/s3/pricing/ (Replication)" },
  interRegionTransferGb: { usd: 0.02, per: "GB transferred between regions (S3 Cross-Region Replication)", source: "https://aws.amazon.com/s3/pricing/ (Data transfer)" },
} satisfies Record<string, Price>;
