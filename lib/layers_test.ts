/**
 * The project's import graph, read from `deno info --json` over every .ts file in lib/, tools/ and bench/:
 * no file-level cycle, and every import between units goes down {@link LAYERS}.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The layer order, bottom first. A file may import files of its own unit and of units in lower layers
 * only; two units of one layer may not import each other. Units: `lib/<folder>`; lib/tiers splits into
 * `lib/tiers/core` (its top-level files: lab_env.ts, tier.ts, ...), one unit per tier folder
 * (`lib/tiers/*`: a tier never imports another tier) and `lib/tiers/mod.ts`; top-level files of lib
 * (`lib/mod.ts`) are their own units; `tools` and `bench` are the applications on top.
 *
 * lib/run sits below lib/probe: it is the run folder's plumbing (run_dir, manifest, csv, points, progress),
 * which depends on lib/engine's config and lib/scrape's GPU reading, and which probe's self-check cells
 * write through (csv).
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["lib/base"],
  ["lib/engine", "lib/scrape"],
  ["lib/run"],
  ["lib/probe", "lib/sim"],
  ["lib/analysis", "lib/tinymodel"],
  ["lib/report"],
  ["lib/health"],
  ["lib/tiers/core"],
  ["lib/tiers/*"],
  ["lib/tiers/mod.ts"],
  ["lib/writeup", "lib/compare"],
  ["lib/lesson"],
  ["lib/mod.ts"],
  ["tools", "bench"],
];

/**
 * Files whose imports may break the layer order, each with the reason. Keep this empty: an entry is a
 * debt with an owner, and the test fails once its file is gone so the entry goes with it.
 */
const ALLOWED_UPWARD: Readonly<Record<string, string>> = {
  // Empty. Its one entry, lib/report/run_index.ts (report -> writeup), went when the file moved up into
  // lib/writeup (issue 15). A new entry reads: "path": "why, and who removes it when".
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCANNED = ["lib", "tools", "bench"];
const SKIPPED_DIRS = new Set(["node_modules", "results", ".servelab"]);

/** Test code (tests, test data, test drivers) may reach up to set a scene; the layer rule skips it. */
function isTestCode(path: string): boolean {
  return path.endsWith("_test.ts") || path.split("/").includes("testdata");
}

/** The unit a project file belongs to, e.g. lib/probe, lib/tiers/prefix, lib/tiers/core, tools. */
export function unitOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "lib") return parts[0];
  if (parts.length === 2) return path;
  if (parts[1] === "tiers") {
    if (parts.length === 3) return parts[2] === "mod.ts" ? "lib/tiers/mod.ts" : "lib/tiers/core";
    return `lib/tiers/${parts[2]}`;
  }
  return `lib/${parts[1]}`;
}

/** The layer index of a unit; undefined for a unit LAYERS does not name. */
export function layerOf(unit: string): number | undefined {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  if (i >= 0) return i;
  const isTier = unit.startsWith("lib/tiers/") && unit !== "lib/tiers/core" && unit !== "lib/tiers/mod.ts";
  return isTier ? LAYERS.findIndex((l) => l.includes("lib/tiers/*")) : undefined;
}

/** Why `from` may not import `to` (undefined when it may), naming the import and the rule. */
export function layerViolation(from: string, to: string): string | undefined {
  const uf = unitOf(from), ut = unitOf(to);
  if (uf === ut) return undefined;
  const lf = layerOf(uf), lt = layerOf(ut);
  if (lf === undefined) {
    return `${from} -> ${to}: unit ${uf} is in no layer; add it to LAYERS in lib/layers_test.ts`;
  }
  if (lt === undefined) {
    return `${from} -> ${to}: unit ${ut} is in no layer; add it to LAYERS in lib/layers_test.ts`;
  }
  if (lt < lf) return undefined;
  const rule = lt === lf
    ? `${uf} and ${ut} share layer ${lf} (${LAYERS[lf].join(", ")}) and may not import each other`
    : `${uf} (layer ${lf}) may import only lower layers, and ${ut} is layer ${lt}`;
  return `${from} -> ${to}: ${rule}`;
}

async function projectFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory && !SKIPPED_DIRS.has(e.name) && !e.name.startsWith(".")) await walk(p);
      else if (e.isFile && p.endsWith(".ts")) out.push(p);
    }
  };
  for (const d of SCANNED) await walk(d);
  return out.sort();
}

let graphOnce: Promise<Map<string, Set<string>>> | undefined;
/** Every import (code or type) between project files, as root-relative paths (read once per test run). */
function importGraph(): Promise<Map<string, Set<string>>> {
  return graphOnce ??= readImportGraph();
}

async function readImportGraph(): Promise<Map<string, Set<string>>> {
  const files = await projectFiles();
  const tmp = await Deno.makeTempDir({ prefix: "servelab-layers-" });
  try {
    const entry = join(tmp, "all.ts");
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "${pathToFileURL(join(ROOT, f)).href}";\n`).join(""),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `deno info failed: ${err}`);
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const rel = (spec: string | undefined) => {
      if (!spec?.startsWith("file://")) return undefined;
      const p = relative(ROOT, fileURLToPath(spec));
      return SCANNED.some((d) => p.startsWith(`${d}/`)) ? p : undefined;
    };
    const graph = new Map<string, Set<string>>(files.map((f) => [f, new Set()]));
    for (const m of info.modules) {
      const from = rel(m.specifier);
      if (!from) continue;
      for (const d of m.dependencies ?? []) {
        for (const to of [rel(d.code?.specifier), rel(d.type?.specifier)]) {
          if (to && to !== from) (graph.get(from) ?? graph.set(from, new Set()).get(from)!).add(to);
        }
      }
    }
    return graph;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Strongly connected components of more than one file (Tarjan), each as one cycle through its files. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), out: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(cycleThrough(graph, new Set(scc)));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}

/** One cycle inside a strongly connected set, as a path a -> ... -> a (breadth-first back to the start). */
function cycleThrough(graph: Map<string, Set<string>>, scc: Set<string>): string[] {
  const start = [...scc].sort()[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc].sort();
}

Deno.test("the layer rule and the cycle finder catch what they must (synthetic graphs)", () => {
  assert.equal(layerViolation("lib/probe/load.ts", "lib/base/stats.ts"), undefined, "down is fine");
  assert.equal(layerViolation("lib/probe/load.ts", "lib/probe/stream.ts"), undefined, "same unit is fine");
  assert.match(
    layerViolation("lib/base/stats.ts", "lib/analysis/request_row.ts")!,
    /^lib\/base\/stats\.ts -> lib\/analysis\/request_row\.ts: lib\/base \(layer 0\) may import only lower layers/,
  );
  assert.match(
    layerViolation("lib/tiers/kv/load.ts", "lib/tiers/ttft/params.ts")!,
    /lib\/tiers\/kv and lib\/tiers\/ttft share layer \d+ .* may not import each other/,
  );
  assert.match(layerViolation("lib/tiers/tier.ts", "lib/tiers/kv/mod.ts")!, /lib\/tiers\/core \(layer \d+\)/);
  assert.match(layerViolation("lib/newthing/a.ts", "lib/base/x.ts")!, /lib\/newthing is in no layer/);
  const g = new Map([
    ["a.ts", new Set(["b.ts"])],
    ["b.ts", new Set(["c.ts"])],
    ["c.ts", new Set(["a.ts", "d.ts"])],
    ["d.ts", new Set<string>()],
  ]);
  assert.deepEqual(cycles(g), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
  g.get("c.ts")!.delete("a.ts");
  assert.deepEqual(cycles(g), []);
});

Deno.test("no file-level import cycle among lib/, tools/ and bench/", async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 100, `read only ${graph.size} files`);
  assert.ok(graph.get("lib/mod.ts")?.size, "deno info gave lib/mod.ts no imports: the graph was not read");
  const found = cycles(graph);
  assert.deepEqual(found, [], `import cycles:\n${found.map((c) => "  " + c.join(" -> ")).join("\n")}`);
});

Deno.test("imports run only downward: every import between units goes down LAYERS", async () => {
  const graph = await importGraph();
  const problems: string[] = [];
  for (const [from, tos] of graph) {
    if (isTestCode(from) || from in ALLOWED_UPWARD) continue;
    for (const to of tos) {
      const why = layerViolation(from, to);
      if (why) problems.push(why);
    }
  }
  const order = LAYERS.map((l, i) => `  ${i}: ${l.join(", ")}`).join("\n");
  assert.deepEqual(
    problems,
    [],
    `imports against the layer order:\n  ${problems.join("\n  ")}\nlayers:\n${order}`,
  );
});

Deno.test("ALLOWED_UPWARD names only files that still exist", async () => {
  const graph = await importGraph();
  const gone = Object.keys(ALLOWED_UPWARD).filter((f) => !graph.has(f));
  assert.deepEqual(
    gone,
    [],
    "these files are gone: delete their ALLOWED_UPWARD entries in lib/layers_test.ts",
  );
});

Deno.test("lib/base imports nothing else in lib", async () => {
  const graph = await importGraph();
  const up = [...graph].flatMap(([from, tos]) =>
    unitOf(from) === "lib/base"
      ? [...tos].filter((t) => unitOf(t) !== "lib/base").map((t) => `${from} -> ${t}`)
      : []
  );
  assert.ok([...graph.keys()].some((f) => f.startsWith("lib/base/")), "no lib/base files were read");
  assert.deepEqual(up, []);
});
