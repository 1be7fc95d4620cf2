import assert from "node:assert/strict";
import { cpuSetsLine } from "./manifest.ts";

Deno.test("cpuSetsLine: the one CPU-sets line of every page, from the manifest; none before CPU sets were recorded", () => {
  const on = { isolation: "on", engine: "0", client: "1", source: "auto", host: "0-1", numa_nodes: 1 };
  assert.equal(cpuSetsLine({ cpus: on }), "CPU sets: engine 0, client 1 (auto split of 0-1, 1 NUMA node)");
  assert.equal(
    cpuSetsLine({
      cpus: { ...on, source: "--cpus", engine: "0-5", client: "6-7", host: "0-7", numa_nodes: 2 },
    }),
    "CPU sets: engine 0-5, client 6-7 (--cpus split of 0-7, 2 NUMA nodes)",
  );
  assert.equal(
    cpuSetsLine({
      cpus: { isolation: "off", source: "--cpus", host: "0-1", numa_nodes: 1, reason: "--cpus off" },
    }),
    "CPU sets: none, engine and client share CPUs 0-1 (1 NUMA node; --cpus off)",
  );
  assert.equal(
    cpuSetsLine({ cpus: { ...on, load_avg_1m: 11.8 } }),
    "CPU sets: engine 0, client 1 (auto split of 0-1, 1 NUMA node, load average 11.8 at start)",
  );
  assert.equal(cpuSetsLine({}), undefined);
});
