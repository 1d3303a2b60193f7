/**
 * Key order. S3 lists keys in UTF-8 binary order; JavaScript compares strings by UTF-16 code
 * units, which disagrees for characters above U+FFFF (surrogate pairs, 0xD800-0xDFFF) versus
 * U+E000-U+FFFF. A merge of two listings must use the same order S3 used, or it pairs keys
 * wrongly and reports a copy and a delete for an object present on both sides.
 */

/** Maps a UTF-16 code unit so that plain numeric comparison gives UTF-8 (code point) order. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000; // surrogates sort after the BMP
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Compares two keys in UTF-8 byte order (what S3 uses); negative, zero or positive. */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** True when `key` lies strictly between the bounds (absent bounds are open). */
export function inRange(key: string, startAfter?: string, endBefore?: string): boolean {
  if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) return false;
  if (endBefore !== undefined && compareKeys(key, endBefore) >= 0) return false;
  return true;
}

/**
 * The smallest key greater than `key` in byte order: `key` followed by U+0000. It turns the
 * inclusive bound "up to and including `key`" into the exclusive `endBefore` that ranges use.
 */
export function successor(key: string): string {
  return `${key}\u0000`;
}
