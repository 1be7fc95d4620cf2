import assert from "node:assert/strict";
import { gpuSnapshot, type NvidiaSmiRunner, parseNvidiaSmiApps, parseNvidiaSmiGpus } from "./gpu.ts";
import { GpuSampler } from "./gpu_sampler.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

/** A runner that answers from recorded outputs and remembers what it was asked. */
function recorded(
  outputs: { gpus?: string; apps?: string; code?: number },
): NvidiaSmiRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = (_command: string, args: string[]) => {
    calls.push(args);
    const stdout = args[0].startsWith("--query-gpu=") ? outputs.gpus : outputs.apps;
    return Promise.resolve({ code: outputs.code ?? 0, stdout: stdout ?? "", stderr: "" });
  };
  return Object.assign(run, { calls });
}

Deno.test("one GPU parses into index, name, uuid, memory in MiB, utilization and driver", () => {
  assert.deepEqual(parseNvidiaSmiGpus(fixture("nvidia_smi_gpus_h100.txt")), [{
    index: 0,
    name: "NVIDIA H100 80GB HBM3",
    uuid: "GPU-6b0e3c14-2f4a-9d2e-71c5-0a8e5b3f9d21",
    memory_total_mib: 81559,
    memory_used_mib: 74211,
    utilization_gpu_pct: 87,
    driver_version: "550.54.15",
  }]);
});

Deno.test("several GPUs parse in order, and [N/A] fields are undefined, not 0", () => {
  const gpus = parseNvidiaSmiGpus(fixture("nvidia_smi_gpus_multi.txt"));
  assert.deepEqual(gpus.map((g) => g.index), [0, 1, 2, 3]);
  assert.ok(gpus.every((g) => g.name === "NVIDIA A100-SXM4-80GB" && g.memory_total_mib === 81920));
  assert.equal(gpus[1].memory_used_mib, 4);
  assert.equal(gpus[1].utilization_gpu_pct, 0, "a real 0 stays 0");
  assert.equal(gpus[2].utilization_gpu_pct, undefined, "MIG: [N/A]");
  assert.equal(gpus[2].memory_used_mib, 19456);
  assert.equal(gpus[3].memory_used_mib, undefined);
  assert.equal(gpus[3].driver_version, "535.183.01");
});

Deno.test("old drivers' bare N/A and a name with a comma are handled", () => {
  const [gpu] = parseNvidiaSmiGpus("0, Tesla T4, rev A, GPU-0abc, 15360, 1024, N/A, 440.64\n");
  assert.equal(gpu.name, "Tesla T4, rev A");
  assert.equal(gpu.uuid, "GPU-0abc");
  assert.equal(gpu.memory_used_mib, 1024);
  assert.equal(gpu.utilization_gpu_pct, undefined);
});

Deno.test("output that is not the expected CSV is an error naming the line", () => {
  assert.throws(() => parseNvidiaSmiGpus("0, NVIDIA L4, 23034\n"), /line 1 .*expected 7 fields/);
  assert.throws(
    () => parseNvidiaSmiGpus("0, NVIDIA L4, GPU-1, 23034 MiB, 12 MiB, 3 %, 550.54.15\n"),
    /"23034 MiB" is not a number.*nounits/,
  );
});

Deno.test("compute processes parse with their memory; no process is an empty list", () => {
  assert.deepEqual(parseNvidiaSmiApps(fixture("nvidia_smi_apps.txt")), [
    { pid: 18234, gpu_uuid: "GPU-1f7c2a90-8e3b-4c51-a2d6-5e0b9f4c3a17", used_memory_mib: 73410 },
    { pid: 18235, gpu_uuid: "GPU-c3e85b07-6d2a-4f19-9b3c-71a0e4d2f856", used_memory_mib: 19040 },
    { pid: 18301, gpu_uuid: "GPU-c3e85b07-6d2a-4f19-9b3c-71a0e4d2f856", used_memory_mib: undefined },
  ]);
  assert.deepEqual(parseNvidiaSmiApps(""), []);
  assert.deepEqual(parseNvidiaSmiApps("No running processes found\n"), []);
});

Deno.test("gpuSnapshot asks nvidia-smi for the GPUs and their processes", async () => {
  const run = recorded({ gpus: fixture("nvidia_smi_gpus_multi.txt"), apps: fixture("nvidia_smi_apps.txt") });
  const snap = await gpuSnapshot({ run });
  assert.equal(snap?.gpus.length, 4);
  assert.equal(snap?.processes?.length, 3);
  assert.deepEqual(run.calls, [
    [
      "--query-gpu=index,name,uuid,memory.total,memory.used,utilization.gpu,driver_version",
      "--format=csv,noheader,nounits",
    ],
    ["--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv,noheader,nounits"],
  ]);
});

Deno.test("no GPU is undefined, not an error: nvidia-smi missing or failing", async () => {
  // The real runner, with a command that is on no PATH.
  assert.equal(await gpuSnapshot({ command: "nvidia-smi-not-installed-servelab" }), undefined);
  // nvidia-smi present but without a driver exits 9 ("couldn't communicate with the NVIDIA driver").
  assert.equal(await gpuSnapshot({ run: recorded({ code: 9 }) }), undefined);
});

Deno.test("an nvidia-smi that hangs fails after timeout_ms with a clear message", async () => {
  const hang: NvidiaSmiRunner = (_command, _args, signal) =>
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
  await assert.rejects(gpuSnapshot({ run: hang, timeout_ms: 50 }), /did not finish within 50 ms/);
});

Deno.test("the GPU sampler writes one row per GPU per sample, and an error row when a query fails", async () => {
  let queries = 0;
  const run: NvidiaSmiRunner = () => {
    queries++;
    if (queries === 2) return Promise.resolve({ code: 0, stdout: "garbage\n", stderr: "" });
    return Promise.resolve({ code: 0, stdout: fixture("nvidia_smi_gpus_multi.txt"), stderr: "" });
  };
  let tick = 0;
  const sampler = GpuSampler.start({ run, interval_ms: 10, clock: { now: () => ++tick } });
  const end = performance.now() + 5000;
  while (sampler.samples.length < 9 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  const rows = await sampler.stop();
  assert.ok(rows.length >= 9, `${rows.length} rows`);
  assert.deepEqual(rows.slice(0, 4).map((r) => [r.t_ms, r.index]), [[1, 0], [1, 1], [1, 2], [1, 3]]);
  assert.deepEqual(rows[0], {
    t_ms: 1,
    index: 0,
    uuid: "GPU-1f7c2a90-8e3b-4c51-a2d6-5e0b9f4c3a17",
    memory_used_mib: 73846,
    memory_total_mib: 81920,
    utilization_gpu_pct: 64,
  });
  assert.equal(rows[4].t_ms, 2);
  assert.match(rows[4].error ?? "", /Cannot parse nvidia-smi output/);
  assert.equal(rows[4].index, undefined);
  assert.deepEqual(rows.slice(5, 9).map((r) => [r.t_ms, r.index]), [[3, 0], [3, 1], [3, 2], [3, 3]]);
});

Deno.test("the GPU sampler on a machine without a GPU records that, and does not throw", async () => {
  await using sampler = GpuSampler.start({ command: "nvidia-smi-not-installed-servelab", interval_ms: 10 });
  const end = performance.now() + 5000;
  while (sampler.samples.length < 1 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.match(sampler.samples[0].error ?? "", /No GPU visible/);
});
