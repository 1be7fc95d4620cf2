/**
 * Peer benchmark clients for bench/client_fidelity.ts: GuideLLM and AIPerf from .servelab/peers-venv
 * (tools/real/peers_install.sh) and `vllm bench serve` from .servelab/vllm-venv, each run in its own
 * process against the dial server, closed loop at n streams over a file of unique prompts; their
 * per-request output is read back as {@link ClientTiming}s keyed the way the ground truth can be joined:
 * by prompt text (GuideLLM, AIPerf) or by the x-request-id vLLM sends (`<prefix><index>`).
 *
 * Metric mapping (shared/reference/peers.md): all three stamp TTFT from their own send time to the
 * first chunk with content (vLLM: first chunk with choices); GuideLLM's and AIPerf's per-request "ITL"
 * is (last - first token) / (tokens - 1), i.e. vLLM's TPOT, compared as `tpot_ms`; vLLM bench keeps
 * every gap (`itls`), compared per gap like ours.
 * @module
 */
import { join } from "node:path";
import { REPO_ROOT } from "../lib/run/mod.ts";
import type { ClientTiming } from "./_fidelity.ts";

export type PeerName = "guidellm" | "aiperf" | "vllm";

/** An installed peer. */
export interface Peer {
  name: PeerName;
  label: string;
  bin: string;
}

/** One peer run: the dial server, the streams, every prompt (the first `warmup` are left out). */
export interface PeerRun {
  baseUrl: string;
  n: number;
  prompts: string[];
  warmup: number;
}

const PEERS_BIN = join(REPO_ROOT, ".servelab/peers-venv/bin");
const VLLM_BIN = join(REPO_ROOT, ".servelab/vllm-venv/bin");
/** The lab's tiny model folder: a local tokenizer for peers that insist on one (no model hub here). */
const TOKENIZER = join(REPO_ROOT, ".servelab/tiny-model");
const PEER_TIMEOUT_MS = 240_000;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs GuideLLM and AIPerf (tools/real/peers_install.sh, idempotent: a quick check when present) so
 * the bench runs unattended; returns why not when the install fails (the bench then runs without them).
 *
 * @example
 * ```ts
 * const why = await installPeers();
 * ```
 */
export async function installPeers(): Promise<string | undefined> {
  const script = join(REPO_ROOT, "tools/real/peers_install.sh");
  const check = await new Deno.Command(script, { args: ["--check"], stdout: "null", stderr: "null" })
    .output();
  if (check.success) return undefined;
  console.error(
    "client_fidelity: installing the peer tools (tools/real/peers_install.sh, a few minutes once)",
  );
  const out = await new Deno.Command(script, { stdout: "null", stderr: "inherit" }).output();
  return out.success ? undefined : `tools/real/peers_install.sh exited with ${out.code}`;
}

/**
 * The peers that are installed here, and why the others are not run.
 *
 * @example
 * ```ts
 * const { ready, missing } = await availablePeers();
 * ```
 */
export async function availablePeers(
  wanted: PeerName[] = ["guidellm", "aiperf", "vllm"],
): Promise<{ ready: Peer[]; missing: { name: string; why: string }[] }> {
  const ready: Peer[] = [];
  const missing: { name: string; why: string }[] = [];
  const tokenizer = await exists(join(TOKENIZER, "tokenizer.json"));
  for (const name of wanted) {
    const bin = name === "vllm" ? join(VLLM_BIN, "vllm") : join(PEERS_BIN, name);
    const label = name === "vllm" ? "vllm bench serve" : name === "guidellm" ? "GuideLLM" : "AIPerf";
    if (!await exists(bin)) {
      missing.push({
        name,
        why: name === "vllm"
          ? "no vLLM build in .servelab/vllm-venv (tools/real/vllm_cpu_install.sh)"
          : "not installed: run tools/real/peers_install.sh",
      });
    } else if (name !== "guidellm" && !tokenizer) {
      missing.push({ name, why: "needs a local tokenizer: run ./servelab tiny-model first" });
    } else ready.push({ name, label, bin });
  }
  return { ready, missing };
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), PEER_TIMEOUT_MS);
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
      // Not HF_HUB_OFFLINE: with it AIPerf 0.13 rejects a local tokenizer path as a bad repo id.
      env: { NO_COLOR: "1", TERM: "dumb", ...env },
    }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      const tail = text.trim().split("\n").filter((l) => /error|Error|failed/.test(l)).slice(-3).join(" | ");
      throw new Error(`${cmd.split("/").pop()} exited with ${out.code}: ${tail}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The index a unique prompt carries ("... request 12: ..."). */
function promptIndex(prompt: string): number | undefined {
  const m = / request (\d+):/.exec(prompt);
  return m ? Number(m[1]) : undefined;
}

/**
 * Runs one peer closed loop at `n` streams over the prompts and returns its per-request timings.
 *
 * @example
 * ```ts
 * const { timings } = await runPeer(peer, { baseUrl, n: 16, prompts, warmup: 16 });
 * ```
 */
export async function runPeer(peer: Peer, r: PeerRun): Promise<{ timings: ClientTiming[]; note?: string }> {
  await Deno.mkdir(join(REPO_ROOT, ".servelab/tmp"), { recursive: true });
  const dir = await Deno.makeTempDir({
    dir: join(REPO_ROOT, ".servelab/tmp"),
    prefix: `fidelity-${peer.name}-`,
  });
  try {
    switch (peer.name) {
      case "vllm":
        return await runVllm(peer, r, dir);
      case "guidellm":
        return await runGuidellm(peer, r, dir);
      case "aiperf":
        return await runAiperf(peer, r, dir);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function runVllm(peer: Peer, r: PeerRun, dir: string) {
  const data = join(dir, "prompts.jsonl");
  await Deno.writeTextFile(
    data,
    r.prompts.map((p) => JSON.stringify({ prompt: p, output_tokens: 16 })).join("\n"),
  );
  const prefix = `vllm-${crypto.randomUUID().slice(0, 6)}-`;
  await run(
    peer.bin,
    [
      "bench",
      "serve",
      "--backend",
      "vllm",
      "--base-url",
      r.baseUrl,
      "--endpoint",
      "/v1/completions",
      "--model",
      "dial-model",
      "--tokenizer",
      TOKENIZER,
      "--dataset-name",
      "custom",
      "--dataset-path",
      data,
      "--skip-chat-template",
      "--disable-shuffle",
      "--num-prompts",
      String(r.prompts.length),
      "--max-concurrency",
      String(r.n),
      "--request-id-prefix",
      prefix,
      "--num-warmups",
      "0",
      "--save-result",
      "--save-detailed",
      "--result-dir",
      dir,
      "--result-filename",
      "result.json",
    ],
    dir,
    { PYTHONPATH: join(REPO_ROOT, ".servelab/peers-venv/vllm-bench-extras") },
  );
  const res = JSON.parse(await Deno.readTextFile(join(dir, "result.json")));
  const timings: ClientTiming[] = [];
  const ttfts: (number | null)[] = res.ttfts ?? [];
  for (let k = r.warmup; k < ttfts.length; k++) {
    const t = ttfts[k];
    if (typeof t !== "number" || (res.errors?.[k] ?? "") !== "") continue;
    timings.push({
      key: `${prefix}${k}`,
      ttft_ms: t * 1000,
      itl_ms: (res.itls?.[k] ?? []).map((x: number) => x * 1000),
    });
  }
  return { timings };
}

async function runGuidellm(peer: Peer, r: PeerRun, dir: string) {
  const data = join(dir, "prompts.jsonl");
  await Deno.writeTextFile(data, r.prompts.map((p) => JSON.stringify({ prompt: p })).join("\n"));
  const out = join(dir, "out.json");
  await run(peer.bin, [
    "run",
    "--backend",
    `kind=openai_http,target=${r.baseUrl},model=dial-model,request_format=/v1/completions`,
    "--profile",
    `kind=concurrent,streams=${r.n}`,
    "--constraint",
    `kind=max_requests,count=${r.prompts.length}`,
    "--data",
    `kind=json_file,path=${data}`,
    "--output",
    `kind=json,path=${out}`,
    "--disable-console",
  ], dir);
  const res = JSON.parse(await Deno.readTextFile(out));
  const timings: ClientTiming[] = [];
  for (const q of res.benchmarks?.[0]?.requests?.successful ?? []) {
    const prompt = JSON.parse(q.request_args ?? "{}")?.body?.prompt;
    if (typeof prompt !== "string" || (promptIndex(prompt) ?? 0) < r.warmup) continue;
    timings.push({
      key: prompt,
      ttft_ms: q.time_to_first_token_ms ?? undefined,
      tpot_ms: q.inter_token_latency_ms ?? undefined,
    });
  }
  return { timings };
}

async function runAiperf(peer: Peer, r: PeerRun, dir: string) {
  const data = join(dir, "prompts.jsonl");
  await Deno.writeTextFile(data, r.prompts.map((p) => JSON.stringify({ text: p })).join("\n"));
  const out = join(dir, "out");
  await run(peer.bin, [
    "profile",
    "--model",
    "dial-model",
    "--url",
    r.baseUrl,
    "--endpoint-type",
    "completions",
    "--streaming",
    "--concurrency",
    String(r.n),
    "--request-count",
    String(r.prompts.length),
    "--input-file",
    data,
    "--custom-dataset-type",
    "single_turn",
    "--tokenizer",
    TOKENIZER,
    "--use-server-token-count",
    "--output-artifact-dir",
    out,
    "--ui-type",
    "none",
    "--export-level",
    "records",
  ], dir);
  // Records carry the x-request-id AIPerf sent (the dial server keys its truth by it); the prompt of
  // each request is in inputs.json by session, joined here to leave the warm-up out.
  const inputs = JSON.parse(await Deno.readTextFile(join(out, "inputs.json")));
  const promptOf = new Map<string, string>();
  for (const d of inputs.data ?? []) promptOf.set(d.session_id, d.payloads?.[0]?.prompt);
  const timings: ClientTiming[] = [];
  for (const line of (await Deno.readTextFile(join(out, "profile_export.jsonl"))).split("\n")) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    const m = rec.metrics ?? {};
    const prompt = promptOf.get(rec.metadata?.conversation_id);
    if (prompt !== undefined && (promptIndex(prompt) ?? 0) < r.warmup) continue;
    if (rec.error || m.time_to_first_token === undefined) continue;
    timings.push({
      key: rec.metadata.x_request_id,
      ttft_ms: m.time_to_first_token.value,
      itl_ms: m.inter_chunk_latency?.value,
      tpot_ms: m.inter_token_latency?.value,
    });
  }
  return { timings };
}

export { promptIndex };
