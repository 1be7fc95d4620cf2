// lib/mod.ts is the notebooks' and the CLI's public face (issue 15): the tiers as namespaces with short names,
// the rest named one by one, small enough to read; test seams and internals stay out; tools/ and bench/ reach
// lib only through a mod.ts.
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as face from "./mod.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TIER_KEYS = ["ttft", "prefix", "kv", "batching"] as const;

/**
 * Bounds on the face, chosen after issue 15 (98 names in lib/mod.ts, 23-28 per tier namespace; before it,
 * lib/mod.ts re-exported ~840 names): a name added past a bound is a decision to make here, not by accident.
 */
const MAX_TOP_LEVEL_NAMES = 110;
const MAX_NAMESPACE_NAMES = 35;

/** The names a module's text exports (values and types): `export { a, type B as C } from` and `export * as`. */
function exportedNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const part of m[1].split(",")) {
      const n = part.trim().replace(/^type\s+/, "");
      if (n) names.push(n.split(/\s+as\s+/).pop()!.trim());
    }
  }
  for (const m of text.matchAll(/export\s+\*\s+as\s+(\w+)\s+from/g)) names.push(m[1]);
  return names;
}

const modText = await Deno.readTextFile(join(ROOT, "lib", "mod.ts"));
const publicText = (key: string) => Deno.readTextFile(join(ROOT, "lib", "tiers", key, "public.ts"));

Deno.test("lib/mod.ts has no `export *` but the four tier namespaces, each the tier's public.ts", () => {
  const stars = [...modText.matchAll(/export\s+\*(?:\s+as\s+(\w+))?\s+from\s+"([^"]+)"/g)]
    .map((m) => `${m[1] ?? "(all)"} <- ${m[2]}`);
  assert.deepEqual(stars, TIER_KEYS.map((k) => `${k} <- ./tiers/${k}/public.ts`));
  assert.doesNotMatch(modText, /export\s+type\s+\*/, "no `export type *` either");
});

Deno.test(`lib/mod.ts exports at most ${MAX_TOP_LEVEL_NAMES} names, each tier namespace at most ${MAX_NAMESPACE_NAMES}`, async () => {
  const top = exportedNames(modText);
  assert.equal(
    new Set(top).size,
    top.length,
    `a name exported twice: ${top.filter((n, i) => top.indexOf(n) !== i)}`,
  );
  assert.ok(
    top.length <= MAX_TOP_LEVEL_NAMES,
    `lib/mod.ts exports ${top.length} names (bound ${MAX_TOP_LEVEL_NAMES})`,
  );
  for (const key of TIER_KEYS) {
    const names = exportedNames(await publicText(key));
    assert.ok(
      names.length <= MAX_NAMESPACE_NAMES,
      `${key}: ${names.length} names (bound ${MAX_NAMESPACE_NAMES})`,
    );
    // Short names: the namespace says the tier, so no name repeats it (ttft.measure, not ttft.measureTtft).
    const prefixed = names.filter((n) => n.toLowerCase().startsWith(key) || n.toLowerCase().endsWith(key));
    assert.deepEqual(prefixed, [], `${key}: names that repeat the tier`);
  }
  // The runtime module agrees with the text: every value the text names is there, and nothing else.
  const values = Object.keys(face).sort();
  assert.ok(
    values.length > 0 && values.length <= top.length,
    `${values.length} values for ${top.length} names`,
  );
  for (const v of values) assert.ok(top.includes(v), `${v} is exported but not named in lib/mod.ts`);
});

Deno.test("lib/mod.ts does not export the dial server, the GGUF writer or the embedded engine's internals", () => {
  const excluded = [
    // lib/probe/testing: the dial server and its process (test seams)
    "dialServer",
    "dialProcess",
    "GroundTruth",
    "DialServer",
    "tokenText",
    // lib/tinymodel: the GGUF writer
    "writeTinyGguf",
    "encodeGguf",
    "tinyGgufBytes",
    "tinyGgufTensors",
    "parseGguf",
    // lib/sim internals: scheduler, block pool, runtime, timing, server, faults
    "createScheduler",
    "createBlockPool",
    "SimRuntime",
    "realClock",
    "virtualClock",
    "makeStepCost",
    "frontendOverheadMs",
    "createSim",
    "serveSim",
    "createSimHandler",
    "createFaults",
  ];
  const names = new Set([...exportedNames(modText), ...Object.keys(face)]);
  assert.deepEqual(excluded.filter((n) => names.has(n)), []);
  for (const key of TIER_KEYS) {
    const ns = Object.keys(face[key]);
    assert.deepEqual(excluded.filter((n) => ns.includes(n)), [], `${key} namespace`);
  }
});

Deno.test("each tier namespace has tier, measure and params; its tier is the one of TIERS with that key", () => {
  for (const key of TIER_KEYS) {
    const ns = face[key] as Record<string, unknown>;
    for (const name of ["tier", "measure", "params"]) {
      assert.equal(typeof ns[name], name === "tier" ? "object" : "function", `${key}.${name}`);
    }
    const tier = ns.tier as { key: string };
    assert.equal(tier.key, key);
    assert.equal(tier, face.TIERS.find((t) => t.key === key), `${key}.tier is TIERS' ${key}`);
    // measure(run, lab, params): the notebook's call, the one the tier's own measure wraps.
    assert.ok(
      (ns.measure as (...a: unknown[]) => unknown).length >= 3,
      `${key}.measure takes run, lab, params`,
    );
  }
  assert.deepEqual(
    face.TIERS.map((t) => t.key),
    [...TIER_KEYS],
    "one namespace per tier, in the day's order",
  );
});

/** Non-test .ts files under a folder (tests, testdata and bench results are test code or data). */
async function sources(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) {
      if (!["testdata", "node_modules", "results"].includes(e.name)) await sources(p, out);
    } else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

/** A lib file tools/ and bench/ may import: lib/mod.ts, an area's lib/<area>/mod.ts, the test seams' barrel. */
export function publicEntry(libPath: string): boolean {
  return /^lib\/(?:[a-z_]+\/)?mod\.ts$/.test(libPath) || libPath === "lib/probe/testing/mod.ts";
}

Deno.test("publicEntry: lib/mod.ts, an area's mod.ts and lib/probe/testing/mod.ts, nothing deeper", () => {
  for (const p of ["lib/mod.ts", "lib/engine/mod.ts", "lib/probe/testing/mod.ts"]) {
    assert.ok(publicEntry(p), p);
  }
  for (const p of ["lib/run/host.ts", "lib/tiers/batching/mod.ts", "lib/probe/testing/dial_server.ts"]) {
    assert.ok(!publicEntry(p), p);
  }
});

Deno.test("no file in tools/ or bench/ (tests aside) imports a lib file other than a mod.ts", async () => {
  const deep: string[] = [];
  const files = [...await sources(join(ROOT, "tools")), ...await sources(join(ROOT, "bench"))];
  assert.ok(files.length > 20, `found ${files.length} files`);
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      if (!m[1].startsWith(".")) continue;
      const target = relative(ROOT, join(dirname(file), m[1]));
      if (target.startsWith("lib/") && !publicEntry(target)) {
        deep.push(`${relative(ROOT, file)} -> ${target}`);
      }
    }
  }
  assert.deepEqual(deep, [], "import the area's mod.ts (export the name there if it lacks it) or lib/mod.ts");
});
