// Bad input a user can give the tiers: the data file and the SERVELAB_* parameters. Each error names
// the input, the problem and the fix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { labEnv } from "./lab_env.ts";
import { loadPrefixFamilies } from "./prefix/families.ts";
import { batchingParams } from "./batching/params.ts";
import { kvParams } from "./kv/params.ts";
import { prefixParams } from "./prefix/params.ts";
import { ttftParams } from "./ttft/params.ts";

const GOOD = JSON.stringify({
  family: "a",
  kind: "document",
  title: "A document",
  prefix: "long shared text ".repeat(20),
  suffixes: ["q1", "q2"],
});

Deno.test("a malformed prefix_prompts.jsonl line is named by file and line number, with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "servelab-bad-jsonl-" });
  try {
    const path = join(dir, "prefix_prompts.jsonl");
    await Deno.writeTextFile(path, `${GOOD}\n{"family": "b", "kind": "document",\n`);
    await assert.rejects(
      loadPrefixFamilies(path),
      new RegExp(
        `^Error: ${path} line 2: not valid JSON \\(.*\\); write one JSON object per line, with no line breaks inside it\\.$`,
      ),
    );
    const noPrefix = JSON.stringify({ family: "b", kind: "document", title: "B", suffixes: ["q"] });
    await Deno.writeTextFile(path, `${GOOD}\n\n${noPrefix}\n`);
    await assert.rejects(
      loadPrefixFamilies(path),
      new RegExp(
        `${path} line 3: prefix: .*Each line needs family, kind .*prefix \\(long text\\) and suffixes`,
      ),
    );
    await assert.rejects(
      loadPrefixFamilies(join(dir, "missing.jsonl")),
      /Cannot read prefix families from .*missing\.jsonl: .*Check the path\./,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("non-numeric or unknown SERVELAB_* parameters name the variable, what it means and the fix", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { SERVELAB_SIZE: "huge" },
      /^Error: SERVELAB_SIZE='huge' is not valid: .*"default".*"test".*It means: default \| test.*Fix it or unset it\.$/,
    ],
    [
      { SERVELAB_SEED: "abc" },
      /^Error: SERVELAB_SEED='abc' is not valid: expected a non-negative integer\. It means: seed/,
    ],
    [{ SERVELAB_SEED: "-1" }, /^Error: SERVELAB_SEED='-1' is not valid/],
    [
      { SERVELAB_STARTUP_TIME_SCALE: "fast" },
      /^Error: SERVELAB_STARTUP_TIME_SCALE='fast' is not valid: .*Fix it or unset it/,
    ],
    [
      { SERVELAB_URL: "not a url", SERVELAB_ENGINE: "external" },
      /^Error: SERVELAB_URL='not a url' is not valid/,
    ],
    [
      { SERVELAB_API_KEY_ENV: "sk-123" },
      // Never echoed: it is most likely the key itself (run_secrets_test.ts checks the whole message).
      /^Error: SERVELAB_API_KEY_ENV is not a valid environment variable name \(its value is not shown/,
    ],
  ];
  for (const [env, msg] of cases) assert.throws(() => labEnv({ SERVELAB_ENGINE: "sim", ...env }), msg);
});

Deno.test("every tier reports each bad SERVELAB_<TIER>_* variable the same way: name, value, what it takes, fix", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" });
  const cases: [() => unknown, RegExp[]][] = [
    [
      () => ttftParams("test", { SERVELAB_TTFT_IDLE_S: "soon", SERVELAB_TTFT_LENGTHS: "128,-1" }),
      [
        /^SERVELAB_TTFT_LENGTHS='128,-1' is not valid: item 2: .*\. It takes prompt lengths .*Fix it or unset it\.$/,
        /^SERVELAB_TTFT_IDLE_S='soon' is not valid: expected a number\. It takes idle seconds .*Fix it or unset it\.$/,
      ],
    ],
    [
      () => prefixParams(lab, { SERVELAB_PREFIX_REPEATS: "two", SERVELAB_PREFIX_CLIFF_LOAD: "0.5,0" }),
      [
        /^SERVELAB_PREFIX_CLIFF_LOAD='0\.5,0' is not valid: item 2: .*It takes working sets .*Fix it or unset it\.$/,
        /^SERVELAB_PREFIX_REPEATS='two' is not valid: expected a number\. It takes runs per point .*Fix it or unset it\.$/,
      ],
    ],
    [
      () => kvParams(lab, { SERVELAB_KV_LOAD_POOL: "big", SERVELAB_KV_SAMPLE_MS: "0" }),
      [
        /^SERVELAB_KV_LOAD_POOL='big' is not valid: expected a positive integer\. It takes the load engine's KV pool .*Fix it or unset it\.$/,
        /^SERVELAB_KV_SAMPLE_MS='0' is not valid: expected a positive integer\. It takes interval .*Fix it or unset it\.$/,
      ],
    ],
    [
      () =>
        batchingParams("test", {
          SERVELAB_BATCHING_CI_CONFIDENCE: "1",
          SERVELAB_BATCHING_RATE_FRACTIONS: "x",
        }),
      [
        /^SERVELAB_BATCHING_RATE_FRACTIONS='x' is not valid: item 1: expected a number\. It takes Poisson rates .*Fix it or unset it\.$/,
        /^SERVELAB_BATCHING_CI_CONFIDENCE='1' is not valid: .*\. It takes coverage .*Fix it or unset it\.$/,
      ],
    ],
  ];
  for (const [read, want] of cases) {
    const msg = (() => {
      try {
        read();
      } catch (e) {
        return (e as Error).message;
      }
      assert.fail(`no error for ${read}`);
    })();
    const lines = msg.split("\n");
    assert.equal(lines.length, want.length, msg);
    want.forEach((re, i) => assert.match(lines[i], re));
  }
});
