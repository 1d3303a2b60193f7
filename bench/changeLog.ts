/**
 * Change-log benchmark: writes `--chunks` chunk files holding `--lines` changes between them (as
 * the sync-range calls of a run would, each sorted by key), then merges them into one changes.jsonl with the code write-report and the
 * CLI use. Prints one JSON line: `{"lines", "chunks", "bytes", "seconds", "linesPerSecond",
 * "peakRssMiB", "inOrder"}`; the output is read back and checked for key order and count.
 *
 * `--layout ranges` gives each chunk its own key range, as partitions and the calls within one do;
 * `--layout interleaved` deals keys round-robin across chunks, the merge's worst case.
 *
 *   npm run bench:changes -- --lines 100000000 --chunks 64 --layout ranges [--dir /tmp]
 *
 * (`npm run bench:changes` runs Node with --expose-gc, so the peak RSS is measured after the
 * chunks' generation is collected.)
 */
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { changeLine, mergeChangeChunks } from "../handlers/engine/changeLog";
import { compareKeys } from "../handlers/engine/keys";
import { fileChunk } from "../cli/localSync";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "10000000" },
    chunks: { type: "string", default: "64" },
    dir: { type: "string", default: tmpdir() },
    layout: { type: "string", default: "interleaved" },
  },
});
const lines = Number(values.lines);
const chunks = Number(values.chunks);
if (!Number.isInteger(lines) || lines < 1 || !Number.isInteger(chunks) || chunks < 1) throw new Error("--lines and --chunks must be positive integers");

const key = (i: number) => `data/${String(i).padStart(10, "0")}.json`;

async function writeChunk(path: string, index: number): Promise<number> {
  const file = await open(path, "w");
  let block: string[] = [];
  const per = Math.ceil(lines / chunks);
  const [first, end, step] = values.layout === "ranges" ? [index * per, Math.min(lines, (index + 1) * per), 1] : [index, lines, chunks];
  for (let i = first; i < end; i += step) {
    block.push(changeLine({ key: key(i), action: i % 10 === 0 ? "delete" : "copy", reason: i % 10 === 0 ? "extra" : "missing", size: i % 100_000 }));
    if (block.length === 50_000) {
      await file.write(`${block.join("\n")}\n`);
      block = [];
    }
  }
  if (block.length > 0) await file.write(`${block.join("\n")}\n`);
  await file.close();
  return (await stat(path)).size;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(values.dir as string, "bucket-sync-changes-bench-"));
  try {
    const paths = Array.from({ length: chunks }, (_, i) => join(dir, `copy-${i}.jsonl`));
    const sizes: number[] = [];
    for (let i = 0; i < chunks; i++) sizes.push(await writeChunk(paths[i], i));
    // The chunks were built in this process; collect that garbage so the peak is the merge's.
    (globalThis as { gc?: () => void }).gc?.();
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
    const out = await open(join(dir, "changes.jsonl"), "w");
    const started = process.hrtime.bigint();
    const count = await mergeChangeChunks(paths.map((path, i) => fileChunk(path, sizes[i])), async (block) => void (await out.write(block)));
    await out.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    // Read the log back: every line, in key order.
    let previous: string | undefined;
    let read = 0;
    let inOrder = true;
    for await (const line of createInterface({ input: createReadStream(join(dir, "changes.jsonl")), crlfDelay: Infinity })) {
      const current = (JSON.parse(line) as { key: string }).key;
      if (previous !== undefined && compareKeys(previous, current) >= 0) inOrder = false;
      previous = current;
      read++;
    }
    const bytes = (await stat(join(dir, "changes.jsonl"))).size;
    console.log(
      JSON.stringify({
        lines: count,
        chunks,
        layout: values.layout,
        bytes,
        seconds: Number(seconds.toFixed(1)),
        linesPerSecond: Math.round(count / seconds),
        peakRssMiB: Math.round(peak / 2 ** 20),
        inOrder: inOrder && read === lines && count === lines,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
