import assert from "node:assert/strict";
import { defaultEngineKind, findOnPath } from "./default_engine.ts";

Deno.test("defaultEngineKind is vllm only when vllm is installed and nvidia-smi lists a GPU", async () => {
  let smiCalls = 0;
  const gpus = (out: string | undefined) => () => (smiCalls++, Promise.resolve(out));
  const oneGpu = "GPU 0: NVIDIA L4 (UUID: GPU-5c2f3b1e-0000-0000-0000-000000000000)\n";
  assert.equal(await defaultEngineKind({ hasVllm: () => true, listGpus: gpus(oneGpu) }), "vllm");
  assert.equal(
    await defaultEngineKind({ hasVllm: () => true, listGpus: gpus("No devices were found\n") }),
    "sim",
  );
  assert.equal(await defaultEngineKind({ hasVllm: () => true, listGpus: gpus(undefined) }), "sim");
  smiCalls = 0;
  assert.equal(await defaultEngineKind({ hasVllm: () => false, listGpus: gpus(oneGpu) }), "sim");
  assert.equal(smiCalls, 0, "nvidia-smi is not run when vllm is absent");
});

Deno.test("findOnPath finds executables only", () => {
  const dir = Deno.makeTempDirSync({ prefix: "servelab-path-test-" });
  Deno.writeTextFileSync(`${dir}/vllm`, "#!/bin/sh\n");
  assert.equal(findOnPath("vllm", `/nonexistent:${dir}`), undefined, "not executable yet");
  Deno.chmodSync(`${dir}/vllm`, 0o755);
  assert.equal(findOnPath("vllm", `/nonexistent:${dir}`), `${dir}/vllm`);
  assert.equal(findOnPath("vllm", "/nonexistent"), undefined);
});
