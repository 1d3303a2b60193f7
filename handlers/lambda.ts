/**
 * Lambda entry points of the bundled packaging (esbuild bundles this file). The handlers and
 * their S3 client are created once per container, at module load, from the environment; each call
 * writes one JSON log line (handlers/callLog.ts).
 */
import { createLambdaHandlers } from "./callLog";

const handlers = createLambdaHandlers();

export const validateInput = handlers["validate-input"];
export const planPartitions = handlers["plan-partitions"];
export const syncRange = handlers["sync-range"];
export const summarize = handlers.summarize;
export const writeReport = handlers["write-report"];
