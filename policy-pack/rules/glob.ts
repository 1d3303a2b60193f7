/**
 * IAM wildcard matching. In `Action`, `Resource` and their `Not` forms, `*` matches any run of
 * characters (the empty run too) and `?` matches exactly one character; everything else is literal.
 */

export function hasWildcard(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

function sameChar(a: string, b: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * The positions of `pattern` reachable from `states` without consuming a character: a `*` may
 * match the empty run, so the position after it is reachable too.
 */
function closure(pattern: string, states: Set<number>): Set<number> {
  const out = new Set(states);
  for (const start of states) {
    let i = start;
    while (i < pattern.length && pattern[i] === "*") {
      i += 1;
      out.add(i);
    }
  }
  return out;
}

/** Runs the pattern as a small NFA over `text`; returns the positions it can be in afterwards. */
function run(pattern: string, text: string, caseInsensitive: boolean): Set<number> {
  let states = closure(pattern, new Set([0]));
  for (const c of text) {
    const next = new Set<number>();
    for (const i of states) {
      if (i >= pattern.length) continue;
      const p = pattern[i];
      if (p === "*") next.add(i);
      else if (p === "?" || sameChar(p, c, caseInsensitive)) next.add(i + 1);
    }
    if (next.size === 0) return next;
    states = closure(pattern, next);
  }
  return states;
}

/** Whether `pattern` matches all of `text`. */
export function globMatches(pattern: string, text: string, caseInsensitive = false): boolean {
  return run(pattern, text, caseInsensitive).has(pattern.length);
}

/**
 * Whether `pattern` matches `prefix + x` for every string `x`, i.e. after reading `prefix` only
 * stars are left. `s3:*`, `S3:*`, `*` and `s3*` cover every `s3:` action; `s3:Get*` does not.
 */
export function globCoversPrefix(pattern: string, prefix: string, caseInsensitive = false): boolean {
  for (const i of run(pattern, prefix, caseInsensitive)) {
    if (i < pattern.length && /^\*+$/.test(pattern.slice(i))) return true;
  }
  return false;
}
