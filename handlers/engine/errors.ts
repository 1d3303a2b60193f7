import { CONTRACT_VERSION, UNKNOWN_CONTRACT_VERSION } from "../../model/contract";

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
  /** A payload of a contract version this code does not know; it was not read. */
  unknownContractVersion: UNKNOWN_CONTRACT_VERSION,
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
 * A payload written for a contract version this code does not know: refused whole, never read
 * field by field (a deploy that left an old handler behind a new definition, a hand-made request).
 */
export class UnknownContractVersionError extends EngineError {
  constructor(
    readonly version: unknown,
    where: string,
  ) {
    super(
      ERROR_NAMES.unknownContractVersion,
      `${where} is for contract version ${JSON.stringify(version) ?? "(none)"}, and this code knows only version ${CONTRACT_VERSION}: ` +
        "deploy the handlers and the state machine together (one pulumi up), or send a request without version",
    );
  }
}

/** Refuses any contract version but CONTRACT_VERSION (a payload without one included). */
export function checkContractVersion(version: unknown, where: string): void {
  if (version !== CONTRACT_VERSION) throw new UnknownContractVersionError(version, where);
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
