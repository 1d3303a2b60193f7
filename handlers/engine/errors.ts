/**
 * Errors the engine raises on purpose. Their `name` is what Step Functions sees as the Lambda
 * error type, so Catch and Retry in the state machine match on these names.
 */

/** The request is wrong; nothing was written. The message names every problem found. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
  }
}

/** A delete phase found more to delete than its copy phase counted; nothing more is deleted. */
export class DeleteBudgetExceeded extends Error {
  override name = "DeleteBudgetExceeded";
}

/** The run would delete more objects than `maxDeletes` allows; nothing was deleted. */
export class DeleteLimitExceeded extends Error {
  override name = "DeleteLimitExceeded";
}

/** A server returned a listing out of UTF-8 byte order; merging it could pair keys wrongly. */
export class ListingOrderError extends Error {
  override name = "ListingOrderError";
}

/** Name and message of any thrown value, for reports. */
export function describeError(err: unknown): { error: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { Code?: string }).Code;
    return { error: code ?? err.name, message: err.message || String(code ?? err.name) };
  }
  return { error: "Error", message: String(err) };
}
