import assert from "node:assert/strict";
import { z } from "zod";
import {
  parseBoolean,
  parseList,
  parseNumber,
  quoteRaw,
  tierParams,
  type TierSpec,
  tierVars,
} from "./params.ts";

const Demo = z.object({
  n: z.number().int("expected an integer").positive("expected a positive integer"),
  lens: z.array(z.number().int().positive()).min(2, "needs two lengths"),
  warm: z.boolean(),
  mode: z.enum(["fast", "slow"]),
  out: z.number().int().positive(),
  len: z.number().int().positive(),
  hidden: z.number(),
}).superRefine((p, ctx) => {
  if (p.out >= p.len) {
    ctx.addIssue({
      code: "custom",
      path: ["out"],
      params: { fields: ["out", "len"] },
      message: `out (${p.out}) must be below len (${p.len})`,
    });
  }
});

const spec: TierSpec<typeof Demo> = {
  tier: "demo",
  schema: Demo,
  presets: {
    default: { n: 3, lens: [128, 512], warm: true, out: 16, len: 64, hidden: 1 },
    test: { n: 1, lens: [128, 256], warm: false, out: 4, len: 32, hidden: 1 },
  },
  vars: {
    n: { means: "requests per point, a positive integer (e.g. 3)" },
    lens: { name: "SERVELAB_DEMO_LENGTHS", means: "lengths, comma-separated (e.g. 128,512)" },
    warm: { means: "true or false" },
    mode: { means: "fast or slow" },
    out: { means: "output tokens (e.g. 16)" },
    len: {
      means: "tokens per request, a k suffix is x1024 (e.g. 4k)",
      parse: (raw) => /^\d+k$/.test(raw) ? Number(raw.slice(0, -1)) * 1024 : parseNumber(raw),
    },
  },
  defaults: ({ size }) => ({ mode: size === "test" ? "fast" : "slow" }),
};

const bad = (env: Record<string, string>) => {
  try {
    tierParams(spec, "default", env);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("expected an error");
};

Deno.test("the preset, then the variables, then defaults for what is still unset", () => {
  const p = tierParams(spec, "default", {});
  assert.deepEqual(p, { n: 3, lens: [128, 512], warm: true, mode: "slow", out: 16, len: 64, hidden: 1 });
  assert.equal(tierParams(spec, "test", {}).mode, "fast");
  const q = tierParams(spec, "test", {
    SERVELAB_DEMO_N: " 7 ",
    SERVELAB_DEMO_LENGTHS: "64, 1024,2048",
    SERVELAB_DEMO_WARM: "true",
    SERVELAB_DEMO_MODE: " slow",
    SERVELAB_DEMO_HIDDEN: "5",
  });
  assert.deepEqual([q.n, q.lens, q.warm, q.mode], [7, [64, 1024, 2048], true, "slow"]);
  assert.equal(q.hidden, 1, "a field without a variable keeps its preset");
});

Deno.test("unset, empty and blank variables are ignored", () => {
  const p = tierParams(spec, "test", {
    SERVELAB_DEMO_N: "",
    SERVELAB_DEMO_LENGTHS: "  ",
    SERVELAB_DEMO_WARM: undefined,
  });
  assert.deepEqual(p, tierParams(spec, "test", {}));
});

Deno.test("a bad number names the variable, its value, what is wrong, what it takes and the fix", () => {
  assert.equal(
    bad({ SERVELAB_DEMO_N: "lots" }),
    "SERVELAB_DEMO_N='lots' is not valid: expected a number. It takes requests per point, a positive integer " +
      "(e.g. 3). Fix it or unset it.",
  );
  assert.match(
    bad({ SERVELAB_DEMO_N: "1.5" }),
    /^SERVELAB_DEMO_N='1\.5' is not valid: expected an integer\. /,
  );
  assert.match(
    bad({ SERVELAB_DEMO_N: "-2" }),
    /^SERVELAB_DEMO_N='-2' is not valid: expected a positive integer\. /,
  );
  assert.match(
    bad({ SERVELAB_DEMO_WARM: "yes" }),
    /^SERVELAB_DEMO_WARM='yes' is not valid: expected true or false\./,
  );
  assert.match(
    bad({ SERVELAB_DEMO_MODE: "medium" }),
    /^SERVELAB_DEMO_MODE='medium' is not valid: .*"fast"\|"slow"/,
  );
});

Deno.test("a bad list names the item; a list-level rule names the variable", () => {
  assert.match(
    bad({ SERVELAB_DEMO_LENGTHS: "128,x,512" }),
    /^SERVELAB_DEMO_LENGTHS='128,x,512' is not valid: item 2: expected a number\. It takes lengths, .*Fix it or unset it\.$/,
  );
  assert.match(
    bad({ SERVELAB_DEMO_LENGTHS: "128,0" }),
    /^SERVELAB_DEMO_LENGTHS='128,0' is not valid: item 2: Too small: .*>0\. It takes lengths/,
  );
  assert.match(
    bad({ SERVELAB_DEMO_LENGTHS: "128" }),
    /^SERVELAB_DEMO_LENGTHS='128' is not valid: needs two lengths\./,
  );
});

Deno.test("every bad variable is reported, one line each, not just the first", () => {
  const lines = bad({
    SERVELAB_DEMO_N: "0",
    SERVELAB_DEMO_LENGTHS: "a",
    SERVELAB_DEMO_WARM: "1",
    SERVELAB_DEMO_OUT: "4",
  })
    .split("\n");
  assert.equal(lines.length, 3, "N, LENGTHS and WARM are bad; OUT is good");
  assert.match(lines[0], /^SERVELAB_DEMO_N='0' is not valid: expected a positive integer\./);
  assert.match(lines[1], /^SERVELAB_DEMO_LENGTHS='a' is not valid: item 1: expected a number\./);
  assert.match(lines[2], /^SERVELAB_DEMO_WARM='1' is not valid: expected true or false\./);
  for (const l of lines) assert.match(l, /\. It takes .*\. Fix it or unset it\.$/);
});

Deno.test("a refinement on the whole object names every variable it involves, set or not", () => {
  assert.equal(
    bad({ SERVELAB_DEMO_OUT: "64", SERVELAB_DEMO_LEN: "64" }),
    "SERVELAB_DEMO_OUT='64' and SERVELAB_DEMO_LEN='64' do not fit together: out (64) must be below len (64). " +
      "SERVELAB_DEMO_OUT takes output tokens (e.g. 16); SERVELAB_DEMO_LEN takes tokens per request, a k suffix " +
      "is x1024 (e.g. 4k). Fix them or unset them.",
  );
  assert.match(
    bad({ SERVELAB_DEMO_LEN: "8" }),
    /^SERVELAB_DEMO_OUT \(unset: 16\) and SERVELAB_DEMO_LEN='8' do not fit together: out \(16\) must be below len \(8\)\./,
  );
});

Deno.test("a custom parser turns text into a value; what it throws is the reason", () => {
  assert.equal(tierParams(spec, "default", { SERVELAB_DEMO_LEN: "4k" }).len, 4096);
  assert.match(
    bad({ SERVELAB_DEMO_LEN: "4m" }),
    /^SERVELAB_DEMO_LEN='4m' is not valid: expected a number\. It takes tokens/,
  );
});

Deno.test("a variable's text is shown only quoted, cut to 60 characters", () => {
  const long = "9".repeat(30) + "x".repeat(70);
  const msg = bad({ SERVELAB_DEMO_N: long });
  assert.ok(msg.startsWith(`SERVELAB_DEMO_N='${long.slice(0, 60)}…' (100 characters) is not valid:`), msg);
  assert.ok(!msg.includes(long.slice(0, 61)), "no more than 60 characters of the value");
  assert.equal(quoteRaw("abc"), "'abc'");
});

Deno.test("tierVars lists every variable with its name (default SERVELAB_<TIER>_<FIELD>) and meaning", () => {
  const vars = tierVars(spec);
  assert.deepEqual(vars.map((v) => v.name), [
    "SERVELAB_DEMO_N",
    "SERVELAB_DEMO_LENGTHS",
    "SERVELAB_DEMO_WARM",
    "SERVELAB_DEMO_MODE",
    "SERVELAB_DEMO_OUT",
    "SERVELAB_DEMO_LEN",
  ]);
  assert.equal(vars[1].field, "lens");
  assert.match(vars[0].means, /positive integer/);
});

Deno.test("the text parsers: numbers, lists (blank items skipped), booleans", () => {
  assert.equal(parseNumber(" .5 "), 0.5);
  assert.equal(parseNumber("1e3"), 1000);
  for (const s of ["", "abc", "1.2.3", "0x10", "Infinity", "1,2"]) {
    assert.throws(() => parseNumber(s), /expected a number/);
  }
  assert.deepEqual(parseList("1, 2,,3,"), [1, 2, 3]);
  assert.deepEqual(parseList(","), []);
  assert.deepEqual(parseList("a, b", (s) => s.toUpperCase()), ["A", "B"]);
  assert.throws(() => parseList("1,two"), /^Error: item 2: expected a number$/);
  assert.equal(parseBoolean("false"), false);
  assert.throws(() => parseBoolean("no"), /expected true or false/);
});
