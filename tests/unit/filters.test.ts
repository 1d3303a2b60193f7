/**
 * Key filters keep `aws s3 sync`'s rules: fnmatch patterns against the relative key, `*` across
 * `/`, the last matching filter decides.
 */
import { strict as assert } from "node:assert";
import { compileFilters, patternToRegExp } from "../../handlers/engine/filters";
import { validateRequest } from "../../handlers/engine/validation";

const matches = (pattern: string, key: string) => patternToRegExp(pattern).test(key);

describe("key filters", () => {
  it("let * match any characters, / included, and anchor the whole key", () => {
    assert.ok(matches("*", "a/b/c.txt"));
    assert.ok(matches("logs/*", "logs/2026/12/06.gz"));
    assert.ok(matches("*.json", "deep/down/x.json"));
    assert.ok(!matches("*.json", "x.json.bak"));
    assert.ok(!matches("logs/*", "old/logs/x"));
  });

  it("read ?, [set] and [!set] as fnmatch does, and take other characters literally", () => {
    assert.ok(matches("file?.txt", "file1.txt"));
    assert.ok(!matches("file?.txt", "file10.txt"));
    assert.ok(matches("v[0-9].js", "v7.js"));
    assert.ok(!matches("v[!0-9].js", "v7.js"));
    assert.ok(matches("v[!0-9].js", "vx.js"));
    assert.ok(matches("a+b(c)$.txt", "a+b(c)$.txt"));
    assert.ok(!matches("a.b", "axb"));
    assert.ok(matches("[oops", "[oops"), "an unclosed [ is a literal");
    assert.ok(matches("é?", "é😀"), "? is one character, not one UTF-16 unit");
  });

  it("apply in order, the last match deciding", () => {
    const onlyLogs = compileFilters(["exclude *", "include logs/*"]);
    assert.deepEqual(["logs/a", "data/b"].filter((key) => onlyLogs?.includes(key)), ["logs/a"]);
    const nothing = compileFilters(["include logs/*", "exclude *"]);
    assert.deepEqual(["logs/a", "data/b"].filter((key) => nothing?.includes(key)), []);
    const noTmp = compileFilters(["exclude tmp/*"]);
    assert.deepEqual(["tmp/x", "keep"].filter((key) => noTmp?.includes(key)), ["keep"]);
    assert.equal(compileFilters([]), undefined);
  });

  it("are a request setting that validation checks and keeps in order", () => {
    const request = { source: { bucket: "dev-data" }, destination: { bucket: "prod-data" } };
    assert.deepEqual(validateRequest({ ...request, filters: ["exclude *", "include a/*"] }).filters, ["exclude *", "include a/*"]);
    assert.deepEqual(validateRequest(request).filters, []);
    assert.throws(() => validateRequest({ ...request, filters: ["skip *"] }), /filters .*"exclude PATTERN" or "include PATTERN"/);
    assert.throws(() => validateRequest({ ...request, exclude: ["*"] }), /exclude is not a request field: list filters in order/);
  });
});
