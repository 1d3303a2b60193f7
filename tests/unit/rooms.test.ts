/**
 * The rooms table in CONTRIBUTING.md, executed: every relative import of every source file in a
 * room must land in the room itself or in a room (or file) its "may import" column names, and the
 * module graph has no cycle. The table is read from CONTRIBUTING.md, so the document and the code
 * cannot drift apart: changing what a room may import is a change to that table.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

interface Room {
  /** `handlers/` */
  room: string;
  /** Rooms (`infra/`) and files (`infra/asl.ts`) it may import besides itself. */
  mayImport: string[];
}

/** The rooms table of CONTRIBUTING.md: `| \`room/\` | what it is | may import |`. */
function roomsTable(): Room[] {
  const text = readFileSync(path.join(ROOT, "CONTRIBUTING.md"), "utf8");
  const rows = text.split("\n").filter((line) => /^\| `[a-z0-9-]+\/` \|/.test(line));
  const rooms: Room[] = [];
  for (const row of rows) {
    const cells = row.split("|").map((c) => c.trim());
    const room = /`([a-z0-9-]+\/)`/.exec(cells[1])![1];
    const column = cells[cells.length - 2];
    const named = [...column.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const mayImport = /everything above/.test(column) ? [...rooms.map((r) => r.room), ...named] : named;
    rooms.push({ room, mayImport });
  }
  return rooms;
}

function sourcesOf(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist") continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...sourcesOf(full));
    else if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** Relative specifiers of `import ... from`, `export ... from`, `import("…")` and `require("…")`. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/g),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ...text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+"([^"]+)"/g),
  ].map((m) => m[1]);
  return specs.filter((s) => s.startsWith("."));
}

/** The file a relative specifier resolves to, relative to the project root. */
function resolveImport(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return path.relative(ROOT, candidate);
  }
  return path.relative(ROOT, base);
}

describe("rooms (CONTRIBUTING.md's table)", () => {
  const rooms = roomsTable();
  const roomOf = (file: string) => rooms.find((r) => file.startsWith(r.room));

  it("reads every top-level source folder from the table", () => {
    assert.ok(rooms.length >= 9, `only ${rooms.length} rooms parsed from CONTRIBUTING.md`);
    for (const { room } of rooms) assert.ok(existsSync(path.join(ROOT, room)), `${room} in the table does not exist`);
  });

  it("keeps every room's imports to what its row allows", () => {
    const breaches: string[] = [];
    for (const { room, mayImport } of rooms) {
      for (const file of sourcesOf(path.join(ROOT, room))) {
        const from = path.relative(ROOT, file);
        for (const spec of relativeImports(file)) {
          const target = resolveImport(file, spec);
          if (target.startsWith(room)) continue;
          const allowed = mayImport.some((m) => (m.endsWith("/") ? target.startsWith(m) : target === m));
          if (!allowed) breaches.push(`${from} imports ${target} (${room} may import: ${mayImport.join(", ") || "nothing"})`);
        }
      }
    }
    assert.deepEqual(breaches, []);
  });

  it("has no import cycle between modules", () => {
    const graph = new Map<string, string[]>();
    for (const { room } of rooms) {
      for (const file of sourcesOf(path.join(ROOT, room))) {
        graph.set(
          path.relative(ROOT, file),
          relativeImports(file).map((spec) => resolveImport(file, spec)),
        );
      }
    }
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "open") {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(" -> "));
        return;
      }
      state.set(node, "open");
      for (const next of graph.get(node) ?? []) if (graph.has(next)) visit(next, [...trail, node]);
      state.set(node, "done");
    };
    for (const node of graph.keys()) visit(node, []);
    assert.deepEqual(cycles, []);
    assert.ok(roomOf("model/settings.ts"), "model/ is a room");
  });
});
