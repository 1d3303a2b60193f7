/** The S3 endpoint of a `sync`: `--endpoint`, else `$AWS_ENDPOINT_URL`, else AWS itself. */

/**
 * The endpoint URL, checked: a URL with an http or https scheme and a host. `localhost:4568`
 * (no scheme) is refused with the URL to write instead, rather than guessed: http for a server
 * on this machine, https almost everywhere else, and a wrong guess would look like a dead server.
 * @throws naming the flag or variable it came from
 */
export function endpointUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const [value, origin] = flag !== undefined ? [flag, "--endpoint"] : [env.AWS_ENDPOINT_URL || undefined, "AWS_ENDPOINT_URL"];
  if (value === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new Error(`${origin} "${value}" has no scheme: write http://${value} (or https://${value})`);
  }
  if (scheme !== "http" && scheme !== "https") throw new Error(`${origin} "${value}" must start with http:// or https://`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${origin} "${value}" is not a URL: write http://host:port`);
  }
  if (url.hostname === "") throw new Error(`${origin} "${value}" has no host: write http://host:port`);
  return value;
}
