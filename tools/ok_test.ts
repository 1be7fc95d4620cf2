import assert from "node:assert/strict";
import {
  fidelityTests,
  parseDenoTestSummary,
  parseOkArgs,
  realTests,
  RUN_TESTS,
  STEPS,
  unitTestFiles,
} from "./ok.ts";

Deno.test("the deno test summary is parsed from its last line, with steps, colours and failures", () => {
  assert.deepEqual(parseDenoTestSummary("x\nok | 12 passed (3 steps) | 0 failed (2s)\n"), {
    passed: 12,
    failed: 0,
    steps: 3,
  });
  assert.deepEqual(
    parseDenoTestSummary(
      "\x1b[0m\x1b[31mFAILED\x1b[0m | 9 passed | 1 failed \x1b[0m\x1b[38;5;245m(801ms)\x1b[0m",
    ),
    { passed: 9, failed: 1 },
  );
  assert.deepEqual(parseDenoTestSummary("ok | 1 passed (1 step) | 0 failed | 2 ignored (3s)"), {
    passed: 1,
    failed: 0,
    steps: 1,
  });
  assert.deepEqual(
    parseDenoTestSummary("ok | 2 passed | 0 failed (1s)\nlater output\nFAILED | 5 passed | 2 failed (1s)"),
    { passed: 5, failed: 2 },
  );
  assert.equal(parseDenoTestSummary("error: Type checking failed."), undefined);
});

Deno.test("--only, --skip and --no-notebooks select steps in gate order; unknown steps are refused", () => {
  assert.deepEqual(parseOkArgs([]).steps, [...STEPS]);
  assert.deepEqual(parseOkArgs(["--only", "test,fmt"]).steps, ["fmt", "test"]);
  assert.deepEqual(parseOkArgs(["--skip=fmt,lint", "--no-notebooks"]).steps, [
    "check",
    "nbcheck",
    "nbstrip",
    "test",
    "fidelity",
  ]);
  assert.throws(
    () => parseOkArgs(["--only", "tests"]),
    /Unknown step 'tests' in --only; steps are fmt, lint/,
  );
  assert.throws(() => parseOkArgs(["--only"]), /--only needs a comma-separated list/);
  assert.throws(() => parseOkArgs(["--fast"]), /Unknown option '--fast'/);
});

Deno.test("timing-fidelity tests are found for their own serial step", async () => {
  const files = await fidelityTests();
  assert.ok(files.includes("lib/probe/fidelity_test.ts"), files.join(", "));
  assert.ok(files.every((f) => /(^|\/|_)fidelity_test\.ts$/.test(f)));
});

Deno.test("the real-engine step runs only when asked for (--real, --only real), after the default steps", async () => {
  assert.ok(!parseOkArgs([]).steps.includes("real"));
  assert.deepEqual(parseOkArgs(["--real"]).steps, [...STEPS, "real"]);
  assert.deepEqual(parseOkArgs(["--only", "real"]).steps, ["real"]);
  assert.deepEqual(parseOkArgs(["--real", "--no-notebooks", "--only", "test,real"]).steps, ["test", "real"]);
  const files = await realTests();
  assert.ok(files.includes("tools/real/llamacpp_real_test.ts"), files.join(", "));
  assert.ok(files.every((f) => f.startsWith("tools/real/") && f.endsWith("_real_test.ts")));
});

Deno.test("the test step lists its files itself and leaves out fidelity, browser and real-engine tests", async () => {
  const files = await unitTestFiles();
  assert.ok(files.includes("tools/ok_test.ts"), files.join(", "));
  assert.ok(files.includes("lib/probe/stream_test.ts"), files.join(", "));
  const leaked = files.filter((f) =>
    f.startsWith("tools/browser/") || f.endsWith("_real_test.ts") || f.endsWith("fidelity_test.ts") ||
    f.includes("/testdata/")
  );
  assert.deepEqual(leaked, []);
});

Deno.test("the whole-run pipe test runs in the notebooks step, not beside the unit tests", async () => {
  const files = await unitTestFiles();
  for (const f of RUN_TESTS) {
    assert.ok(!files.includes(f), `${f} is in the test step`);
    assert.ok((await Deno.stat(new URL(`../${f}`, import.meta.url))).isFile, `${f} exists`);
  }
});
