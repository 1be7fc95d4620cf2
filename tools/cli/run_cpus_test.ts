import assert from "node:assert/strict";
import { parseRunArgs, runCpus } from "./run.ts";

const two = { cpus: [0, 1], nodes: [{ node: 0, cpus: [0, 1] }] };
const eight = { cpus: [...Array(8).keys()], nodes: [{ node: 0, cpus: [...Array(8).keys()] }] };

Deno.test("run --cpus: auto, off or a CPU list; anything else is refused naming the flag", () => {
  assert.equal(parseRunArgs(["--cpus", "auto"]).cpus, "auto");
  assert.equal(parseRunArgs(["--cpus=0-2"]).cpus, "0-2");
  assert.equal(parseRunArgs(["--engine", "llamacpp"]).engine, "llamacpp");
  assert.throws(() => parseRunArgs(["--cpus", "half"]), /--cpus 'half' is not auto, off or a CPU list/);
});

Deno.test("runCpus: auto splits 1 + 1 on 2 CPUs; --cpus wins over SERVELAB_CPUS; external and off share", () => {
  const saved = Deno.env.get("SERVELAB_CPUS");
  try {
    Deno.env.delete("SERVELAB_CPUS");
    assert.deepEqual(runCpus({}, "vllm", undefined, two), {
      isolation: "on",
      engine: "0",
      client: "1",
      source: "auto",
      host: "0-1",
      numa_nodes: 1,
    });
    assert.equal(runCpus({}, "external", undefined, two).isolation, "off");
    assert.equal(runCpus({ cpus: "off" }, "sim", undefined, two).reason, "--cpus off");
    Deno.env.set("SERVELAB_CPUS", "0-5");
    const env = runCpus({}, "sim", undefined, eight);
    assert.deepEqual([env.engine, env.client, env.source], ["0-5", "6-7", "SERVELAB_CPUS"]);
    const flag = runCpus({ cpus: "2-3" }, "sim", undefined, eight);
    assert.deepEqual([flag.engine, flag.client, flag.source], ["2-3", "0-1,4-7", "--cpus"]);
    assert.throws(() => runCpus({ cpus: "0-7" }, "sim", undefined, eight), /leaves none to the lab's client/);
    Deno.env.delete("SERVELAB_CPUS");
    const resumed = runCpus({}, "sim", flag, eight);
    assert.deepEqual([resumed.engine, resumed.source], ["2-3", "--cpus"], "a resumed run keeps its sets");
    assert.equal(runCpus({}, "sim", { ...env, isolation: "off" }, eight).isolation, "off");
    assert.equal(
      runCpus({}, "sim", undefined, { cpus: [0], nodes: [{ node: 0, cpus: [0] }] }).isolation,
      "off",
    );
  } finally {
    if (saved === undefined) Deno.env.delete("SERVELAB_CPUS");
    else Deno.env.set("SERVELAB_CPUS", saved);
  }
});
