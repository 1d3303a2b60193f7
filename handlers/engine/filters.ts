/**
 * Key filters, as `aws s3 sync` applies its `--exclude` and `--include`: each pattern is matched
 * against the whole key relative to the source prefix (the same relative key on the destination
 * side); `*` matches any characters, `/` included, `?` one character, `[abc]` / `[!abc]` one
 * character of (not of) a set. Filters apply in order and the last one that matches decides; a
 * key no filter matches is included. See "Use of Exclude and Include Filters",
 * https://docs.aws.amazon.com/cli/latest/reference/s3/#use-of-exclude-and-include-filters
 * (the CLI matches with Python's fnmatch, whose rules these are).
 *
 * Written here rather than taken from minimatch or picomatch: both stop `*` at `/` (their `**`
 * crosses it, but with path-segment rules of its own), and neither has an option for fnmatch's
 * flat `*`. The translation is a dozen lines; tests/unit/filters.test.ts pins it. Pure.
 */
import { parseFilter, type KeyFilterRule } from "../../model/settings";

/** fnmatch's pattern as an anchored regular expression. */
export function patternToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      source += "[\\s\\S]*";
    } else if (c === "?") {
      source += "[\\s\\S]";
    } else if (c === "[") {
      // A set runs to the next `]` (a `]` right after `[` or `[!` belongs to the set); an
      // unclosed `[` is a literal, as in fnmatch.
      let j = i + 1;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        source += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, j);
      const negated = set.startsWith("!");
      if (negated) set = set.slice(1);
      source += `[${negated ? "^" : ""}${set.replace(/[\\\]^]/g, "\\$&")}]`;
      i = j;
    } else {
      source += c.replace(/[.+^${}()|\\/\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`, "u");
}

/** A compiled filter list: `includes(key)` says whether a relative key is in the run's scope. */
export interface KeyFilter {
  includes(key: string): boolean;
}

/** Compiles the request's filters; undefined when there are none (every key is in scope). */
export function compileFilters(filters: readonly (string | KeyFilterRule)[] | undefined): KeyFilter | undefined {
  if (!filters || filters.length === 0) return undefined;
  const rules = filters.map((filter) => {
    const rule = typeof filter === "string" ? parseFilter(filter) : filter;
    if (!rule) throw new Error(`filter ${JSON.stringify(filter)} is not "exclude PATTERN" or "include PATTERN"`);
    return { include: rule.kind === "include", regex: patternToRegExp(rule.pattern) };
  });
  return {
    includes(key) {
      for (let i = rules.length - 1; i >= 0; i--) if (rules[i].regex.test(key)) return rules[i].include;
      return true;
    },
  };
}
