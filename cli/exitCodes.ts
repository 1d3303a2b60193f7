/**
 * How every `bucket-sync` command exits, in one table, so a script can rely on the same numbers
 * whichever command it runs: 0 done; 1 the work failed (a sync that failed or was refused, a
 * policy violation, a preview with blocking violations or a failing program); 2 bad input (a
 * usage error, an invalid value, an unreadable file); 130 interrupted (Ctrl-C, as shells report SIGINT).
 */
import type { CommanderError } from "commander";

export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * commander's exit on its own errors: help and --version exit 0, a usage error (missing or
 * unknown option, bad choice) is bad input, not commander's default 1.
 */
export function exitOnUsageError(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput);
}
