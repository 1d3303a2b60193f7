/**
 * `--verbose`: one line per key changed, as `aws s3 sync` prints them (`copy: s3://a/k to
 * s3://b/k`, `delete: s3://b/x`), `(dryrun) ` first in a dry run, ` failed` after the action when
 * it failed (the report has the error). Keys found unchanged or kept print nothing.
 */
import type { Location } from "../model/contract";
import type { RangeEvent } from "../handlers/engine/syncRange";

interface Sides {
  source: Required<Location>;
  destination: Required<Location>;
  dryRun: boolean;
}

const url = (location: Required<Location>, key: string) => `s3://${location.bucket}/${location.prefix}${key}`;

/** The line for one event, or nothing. */
export function keyLine(event: RangeEvent, sides: Sides): string | undefined {
  if (event.type !== "handled") return undefined;
  const { source, destination } = sides;
  let line: string;
  switch (event.action) {
    case "copy":
    case "update":
      line = `copy${event.failed ? " failed" : ""}: ${url(source, event.key)} to ${url(destination, event.key)}`;
      break;
    case "copy-to-source":
      line = `copy${event.failed ? " failed" : ""}: ${url(destination, event.key)} to ${url(source, event.key)}`;
      break;
    case "delete":
      line = `delete${event.failed ? " failed" : ""}: ${url(destination, event.key)}`;
      break;
    case "conflict":
      line = `conflict: ${url(source, event.key)} and ${url(destination, event.key)} both changed; kept both`;
      break;
    default:
      return undefined;
  }
  return sides.dryRun ? `(dryrun) ${line}` : line;
}
