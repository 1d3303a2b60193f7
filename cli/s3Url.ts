/** Parses `s3://bucket[/prefix]` command-line locations. */
import type { Location } from "../model/contract";

export function parseS3Url(value: string, option: string): Required<Location> {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(value);
  if (!match) throw new Error(`${option} "${value}" is not an S3 location: write s3://bucket or s3://bucket/prefix/`);
  return { bucket: match[1], prefix: match[2] ?? "" };
}
