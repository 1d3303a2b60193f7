/**
 * Errors the engine raises on purpose. Their `name` is what Step Functions sees as the Lambda
 * error type, so Catch and Retry in the state machine match on these names.
 *
 * Plain `Error` objects with a name, made by functions rather than `Error` subclasses: the
 * callback packaging serializes the handler code with Pulumi's closure serializer, which turns a
 * class into a plain function and loses the Error prototype (Lambda would then report the type
 * `object` and no Catch would match).
 */

/** The names the engine's own errors carry. */
export const ERROR_NAMES = {
  /** The request is wrong; nothing was written. The message names every problem found. */
  validation: "ValidationError",
  /** A delete phase found more to delete than its copy phase counted; nothing more is deleted. */
  deleteBudgetExceeded: "DeleteBudgetExceeded",
  /** A server listed keys out of UTF-8 byte order; merging that listing could pair keys wrongly. */
  listingOrder: "ListingOrderError",
} as const;

export type EngineErrorName = (typeof ERROR_NAMES)[keyof typeof ERROR_NAMES];

/** An Error whose `name` is one of ERROR_NAMES, with optional extra fields. */
export function engineError<T extends object = object>(name: EngineErrorName, message: string, extra?: T): Error & T {
  return Object.assign(new Error(message), { name }, extra) as Error & T;
}

/** A ValidationError: `problems` lists each one, the message joins them. */
export function validationError(problems: string[]): Error & { problems: string[] } {
  return engineError(ERROR_NAMES.validation, problems.join("; "), { problems });
}

/** True when `err` is an engine error of that name. */
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
