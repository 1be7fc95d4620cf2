import assert from "node:assert/strict";
import { affinityOf, formatCpuList, hostCpus, parseCpuList, pinnedArgv, planCpus } from "./cpus.ts";

Deno.test("cpu lists: parsed and formatted as Linux writes them; bad input names the fix", () => {
  assert.deepEqual(parseCpuList("0-2,5,7-8"), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseCpuList("3,1,1"), [1, 3]);
  assert.equal(formatCpuList([8, 0, 1, 2, 5, 7]), "0-2,5,7-8");
  assert.throws(() => parseCpuList("0-", "--cpus"), /--cpus '0-' is not a CPU list; .*e\.g\. 0, 0-3/);
  assert.throws(() => parseCpuList("3-1"), /runs backwards/);
});

Deno.test("planCpus: 2 CPUs split 1 + 1, a quarter (1..4) to the client, NUMA keeps the engine on one node", () => {
  const two = planCpus({ cpus: [0, 1], nodes: [{ node: 0, cpus: [0, 1] }] });
  assert.deepEqual([two.engine, two.client, two.source, two.numa_nodes], ["0", "1", "auto", 1]);
  const sixteen = [...Array(16).keys()];
  const p16 = planCpus({ cpus: sixteen, nodes: [{ node: 0, cpus: sixteen }] });
  assert.deepEqual([p16.engine, p16.client], ["0-11", "12-15"]);
  const big = [...Array(64).keys()];
  const numa = planCpus({
    cpus: big,
    nodes: [{ node: 0, cpus: big.slice(0, 32) }, { node: 1, cpus: big.slice(32) }],
  });
  assert.deepEqual([numa.engine, numa.client, numa.numa_nodes], ["0-31", "60-63", 2]);
});

Deno.test("planCpus: an explicit engine set gives the client the rest; unusable sets are refused", () => {
  const host = { cpus: [0, 1, 2, 3], nodes: [{ node: 0, cpus: [0, 1, 2, 3] }] };
  const p = planCpus(host, "1-2", "--cpus");
  assert.deepEqual([p.engine, p.client, p.source, p.host], ["1-2", "0,3", "--cpus", "0-3"]);
  assert.throws(() => planCpus(host, "0-3", "--cpus"), /leaves none to the lab's client/);
  assert.throws(() => planCpus(host, "7", "SERVELAB_CPUS"), /SERVELAB_CPUS 7: CPU\(s\) 7 are not available/);
  assert.throws(
    () => planCpus({ cpus: [0], nodes: [{ node: 0, cpus: [0] }] }),
    /at least 2 CPUs.*--cpus off/,
  );
});

Deno.test("hostCpus reads the allowed list and the NUMA nodes, restricted to the allowed CPUs", () => {
  const files: Record<string, string> = {
    "/proc/self/status": "Name:\tx\nCpus_allowed_list:\t0-5\n",
    "/sys/devices/system/node/node0/cpulist": "0-3\n",
    "/sys/devices/system/node/node1/cpulist": "4-7\n",
  };
  const h = hostCpus((p) => files[p], () => ["node1", "node0", "possible", "online"]);
  assert.deepEqual(h.cpus, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(h.nodes, [{ node: 0, cpus: [0, 1, 2, 3] }, { node: 1, cpus: [4, 5] }]);
  assert.deepEqual(hostCpus((p) => files[p], () => []).nodes, [{ node: 0, cpus: [0, 1, 2, 3, 4, 5] }]);
});

Deno.test("pinnedArgv runs a command under taskset on the set, and the process really gets it", async () => {
  assert.deepEqual(pinnedArgv(["x", "y"], undefined), ["x", "y"]);
  const argv = pinnedArgv(["sleep", "5"], "0");
  assert.match(argv[0], /taskset$/);
  assert.deepEqual(argv.slice(1), ["-c", "0", "sleep", "5"]);
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" }).spawn();
  try {
    let seen: string | undefined;
    for (let i = 0; i < 100 && seen !== "0"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = affinityOf(child.pid);
    }
    assert.equal(seen, "0", "the exec'd command (same pid) runs on CPU 0 only");
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
