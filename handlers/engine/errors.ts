/**
 * Errors the engine raises on purpose. Their `name` is what Step Functions sees as the Lambda
 * error type, so Catch and Retry in the state machine match on these names.
 */

/** The names the engine's own errors carry. */
export const ERROR_NAMES = {
  /** The request is wrong; nothing was written. The message names every problem found. */
  validation: "ValidationError",
  /** A delete phase found more to delete than its copy phase counted; nothing more is deleted. */
  deleteBudgetExceeded: "DeleteBudgetExceeded",
  /** A server listed keys out of UTF-8 byte order; merging that listing could pair keys wrongly. */
  listingOrder: "ListingOrderError",
  /** A run's plan object is missing or is not a plan: the run stops rather than sync nothing. */
  planInvalid: "PlanInvalid",
} as const;

export type EngineErrorName = (typeof ERROR_NAMES)[keyof typeof ERROR_NAMES];

/** An error of the engine's own, named for the state machine's Catch and Retry. */
export class EngineError extends Error {
  constructor(
    override readonly name: EngineErrorName,
    message: string,
  ) {
    super(message);
  }
}

/** A ValidationError: `problems` lists each one, the message joins them. */
export class ValidationError extends EngineError {
  constructor(readonly problems: string[]) {
    super(ERROR_NAMES.validation, problems.join("; "));
  }
}

/**
 * True when `err` is an engine error of that name. By name, not class: an error that crossed a
 * process or a Lambda invocation keeps its name only.
 */
export function isEngineError(err: unknown, name: EngineErrorName): err is Error {
  return err instanceof Error && err.name === name;
}

/** Name and message of any thrown value, for reports. */
export function describeError(err: unknown): { error: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { Code?: string }).Code;
    return { error: code ?? err.name, message: err.message || String(code ?? err.name) };
  }
  return { error: "Error", message: String(err) };
}
