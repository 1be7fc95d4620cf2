#!/usr/bin/env python3
"""Measured kernel time of one engine step per shape, on a real GPU, for the catalog models.

Builds each data/models/*.json model from its config (a plain Llama/Qwen-like decoder: RMSNorm, RoPE,
GQA attention through torch's scaled_dot_product_attention, SwiGLU MLP) with random bf16 weights (no
download), captures one step per shape in a CUDA graph and times its replays with CUDA events:

  prefill  one sequence of n tokens (causal attention over itself), logits of the last token
  decode   B sequences, one new token each, attending to a KV cache of L tokens (K/V written in place)

What it measures is the kernel part of a step (CUDA-graph replay, no launch gaps, no scheduler, no
sampling). Kernels are PyTorch's unfused ones (vLLM fuses norm+residual, rotary and SiLU-and-mul, and
uses paged FlashAttention), so this is an upper bound near vLLM's kernel time rather than equal to it.

Usage: python3 tools/gpu/kernel_timing.py OUT.json [--models a,b] [--quick]
"""
import glob
import json
import math
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

def _root():
    d = os.path.dirname(os.path.abspath(__file__))
    while d != "/" and not os.path.isdir(os.path.join(d, "data/models")):
        d = os.path.dirname(d)
    return os.environ.get("SERVELAB_ROOT", d)


ROOT = _root()
PREFILL_N = [128, 512, 1024, 2048, 4096, 8192]
DECODE = [(1, 128), (1, 1024), (1, 4096), (8, 1024), (32, 1024), (64, 512), (64, 2048), (128, 1024),
          (256, 512), (256, 1024), (512, 512)]
KV_BUDGET_BYTES = 40 * 2**30
REPLAYS = 30


class Model:
    """Weights only; forward functions below use them. Random bf16, std 0.02."""

    def __init__(self, cfg, dev):
        self.cfg = cfg
        h, nh, kvh, hd, inter = (cfg["hidden_size"], cfg["num_heads"], cfg["num_kv_heads"], cfg["head_dim"],
                                 cfg["intermediate_size"])
        self.h, self.nh, self.kvh, self.hd, self.inter = h, nh, kvh, hd, inter
        dt = torch.bfloat16

        def w(*shape):
            return torch.empty(*shape, device=dev, dtype=dt).normal_(0, 0.02)

        self.embed = w(cfg["vocab_size"], h)
        self.lm_head = self.embed if cfg.get("tie_word_embeddings") else w(cfg["vocab_size"], h)
        self.layers = []
        for _ in range(cfg["num_layers"]):
            self.layers.append({
                "ln1": torch.ones(h, device=dev, dtype=dt),
                "qkv": w((nh + 2 * kvh) * hd, h),
                "qkv_b": w((nh + 2 * kvh) * hd) if cfg.get("qkv_bias") else None,
                "o": w(h, nh * hd),
                "ln2": torch.ones(h, device=dev, dtype=dt),
                "gate_up": w(2 * inter, h),
                "down": w(h, inter),
            })
        self.norm = torch.ones(h, device=dev, dtype=dt)
        base = cfg.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (base ** (torch.arange(0, hd, 2, device=dev, dtype=torch.float32) / hd))

    def param_bytes(self):
        n = self.embed.numel() + (0 if self.lm_head is self.embed else self.lm_head.numel())
        for L in self.layers:
            n += sum(t.numel() for t in L.values() if t is not None)
        return 2 * n


def rms(x, w, eps=1e-6):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rope(x, pos, inv_freq):
    # x [..., T, D]; pos [T]
    f = pos.float()[:, None] * inv_freq[None, :]
    cos, sin = f.cos().to(x.dtype), f.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def mlp(L, x):
    gu = x @ L["gate_up"].t()
    g, u = gu.chunk(2, dim=-1)
    return (F.silu(g) * u) @ L["down"].t()


def qkv_of(m, L, x):
    y = x @ L["qkv"].t()
    if L["qkv_b"] is not None:
        y = y + L["qkv_b"]
    q, k, v = y.split([m.nh * m.hd, m.kvh * m.hd, m.kvh * m.hd], dim=-1)
    return q, k, v


def prefill_step(m, ids, pos):
    """One sequence of T tokens: ids [T]."""
    T = ids.shape[0]
    x = m.embed[ids]
    for L in m.layers:
        h = rms(x, L["ln1"])
        q, k, v = qkv_of(m, L, h)
        q = rope(q.view(T, m.nh, m.hd).transpose(0, 1), pos, m.inv_freq)[None]
        k = rope(k.view(T, m.kvh, m.hd).transpose(0, 1), pos, m.inv_freq)[None]
        v = v.view(T, m.kvh, m.hd).transpose(0, 1)[None]
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + a[0].transpose(0, 1).reshape(T, m.nh * m.hd) @ L["o"].t()
        x = x + mlp(L, rms(x, L["ln2"]))
    return rms(x[-1:], m.norm) @ m.lm_head.t()


def decode_step(m, ids, pos, caches, L_ctx):
    """B sequences, one token each at position L_ctx, attending to L_ctx cached tokens plus itself.
    caches: per layer (K, V) of [B, kvh, L_ctx + 1, hd]; the new K/V is written at index L_ctx."""
    B = ids.shape[0]
    g = m.nh // m.kvh
    x = m.embed[ids]
    for L, (Kc, Vc) in zip(m.layers, caches):
        h = rms(x, L["ln1"])
        q, k, v = qkv_of(m, L, h)
        q = rope(q.view(B, m.nh, 1, m.hd), pos, m.inv_freq)
        k = rope(k.view(B, m.kvh, 1, m.hd), pos, m.inv_freq)
        Kc[:, :, L_ctx:L_ctx + 1].copy_(k)
        Vc[:, :, L_ctx:L_ctx + 1].copy_(v.view(B, m.kvh, 1, m.hd))
        # GQA decode: the g query heads of a KV head form the query "length" (no mask: one position).
        qg = q.view(B, m.kvh, g, m.hd)
        a = F.scaled_dot_product_attention(qg, Kc, Vc)
        x = x + a.reshape(B, m.nh * m.hd) @ L["o"].t()
        x = x + mlp(L, rms(x, L["ln2"]))
    return rms(x, m.norm) @ m.lm_head.t()


def time_graph(fn):
    """Capture fn in a CUDA graph, replay, return (median ms, min ms) over REPLAYS replays."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    for _ in range(3):
        g.replay()
    torch.cuda.synchronize()
    ts = []
    for _ in range(REPLAYS):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    del g
    ts.sort()
    return ts[len(ts) // 2], ts[0]


def microbench(dev):
    out = {}
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    med, _ = time_graph(lambda: a @ b)
    out["matmul_8192_bf16_tflops"] = 2 * 8192**3 / (med / 1000) / 1e12
    x = torch.empty(2**30, device=dev, dtype=torch.uint8)  # 1 GiB
    y = torch.empty_like(x)
    med, _ = time_graph(lambda: y.copy_(x))
    out["copy_1GiB_rw_bytes_per_s"] = 2 * 2**30 / (med / 1000)
    del a, b, x, y
    torch.cuda.empty_cache()
    return out


def main():
    out_path = sys.argv[1]
    want = None
    if "--models" in sys.argv:
        want = set(sys.argv[sys.argv.index("--models") + 1].split(","))
    global PREFILL_N, DECODE, REPLAYS
    if "--quick" in sys.argv:
        PREFILL_N, DECODE, REPLAYS = [128], [(1, 128)], 3
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # noqa: BLE001
        smi = f"nvidia-smi failed: {e}"
    result = {
        "tool": "tools/gpu/kernel_timing.py",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": {"name": props.name, "sm_count": props.multi_processor_count,
                   "memory_bytes": props.total_memory, "nvidia_smi": smi},
        "versions": {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version()},
        "method": "CUDA-graph replay of one step, median of %d replays (CUDA events), bf16 random weights, "
                  "PyTorch SDPA attention, unfused norm/rope/silu" % REPLAYS,
        "microbench": microbench(dev),
        "models": [],
    }
    print(json.dumps(result["device"]), json.dumps(result["microbench"]), flush=True)
    files = sorted(glob.glob(os.path.join(ROOT, "data/models/*.json")))
    for f in files:
        cfg = json.load(open(f))
        if want and cfg["id"] not in want:
            continue
        t0 = time.time()
        entry = {"model": cfg["id"], "prefill": [], "decode": []}
        try:
            m = Model(cfg, dev)
        except torch.cuda.OutOfMemoryError as e:
            entry["error"] = f"weights do not fit: {e}"
            result["models"].append(entry)
            continue
        entry["weight_bytes"] = m.param_bytes()
        kv_per_token = 2 * cfg["num_layers"] * cfg["num_kv_heads"] * cfg["head_dim"] * 2
        with torch.inference_mode():
            for n in PREFILL_N:
                ids = torch.randint(0, cfg["vocab_size"], (n,), device=dev)
                pos = torch.arange(n, device=dev)
                try:
                    med, mn = time_graph(lambda: prefill_step(m, ids, pos))
                    entry["prefill"].append({"tokens": n, "ms": med, "min_ms": mn})
                except Exception as e:  # noqa: BLE001
                    entry["prefill"].append({"tokens": n, "error": str(e)[:200]})
                torch.cuda.empty_cache()
            for B, Lc in DECODE:
                if B * (Lc + 1) * kv_per_token > KV_BUDGET_BYTES:
                    entry["decode"].append({"batch": B, "context": Lc, "skipped": "KV cache above 40 GiB"})
                    continue
                try:
                    caches = [(torch.empty(B, cfg["num_kv_heads"], Lc + 1, cfg["head_dim"], device=dev,
                                           dtype=torch.bfloat16).normal_(),
                               torch.empty(B, cfg["num_kv_heads"], Lc + 1, cfg["head_dim"], device=dev,
                                           dtype=torch.bfloat16).normal_()) for _ in range(cfg["num_layers"])]
                    ids = torch.randint(0, cfg["vocab_size"], (B,), device=dev)
                    pos = torch.tensor([Lc], device=dev)
                    med, mn = time_graph(lambda: decode_step(m, ids, pos, caches, Lc))
                    entry["decode"].append({"batch": B, "context": Lc, "ms": med, "min_ms": mn})
                    del caches
                except Exception as e:  # noqa: BLE001
                    entry["decode"].append({"batch": B, "context": Lc, "error": str(e)[:200]})
                torch.cuda.empty_cache()
        del m
        torch.cuda.empty_cache()
        entry["seconds"] = round(time.time() - t0, 1)
        result["models"].append(entry)
        print(cfg["id"], entry["seconds"], "s", json.dumps(entry["prefill"][:2]), json.dumps(entry["decode"][:2]),
              flush=True)
        json.dump(result, open(out_path, "w"), indent=1)
    result["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    json.dump(result, open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
