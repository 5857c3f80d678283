#!/usr/bin/env bash
# Build llama-cpp-python once per machine and cache the wheel (about 8 minutes on 2 cores).
# Cache: $MISTRAL_SOV_WHEEL_CACHE or ~/.cache/mistral-sov/wheels. Flags from docs/local.md.
# GGML_NATIVE=ON stays: on AVX-512/AMX CPUs its AMX repacked kernels crash on multi-token
# batches, and mistral-sov detects that in the engine child at start-up and falls back to
# repacking off (use_extra_bufts=False / llama-server --no-repack) — machines that do not crash
# keep the faster kernels. See docs/local.md "AVX-512/AMX CPUs".
echo "CPU flags: $(grep -o -w 'avx512[a-z0-9_]*\|amx[a-z0-9_]*\|avx2' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')"
set -euo pipefail
PY="${1:-python3}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${MISTRAL_SOV_WHEEL_CACHE:-$HOME/.cache/mistral-sov/wheels}"
mkdir -p "$CACHE"
if "$PY" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$VERSION' else 1)" 2>/dev/null; then
  echo "llama-cpp-python $VERSION already installed"
else
  wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    echo "building llama-cpp-python $VERSION from source (cached in $CACHE)"
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PY" -m pip wheel -q --no-deps -w "$CACHE" "llama-cpp-python==$VERSION"
    wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)
  fi
  "$PY" -m pip install -q "$wheel" "numpy>=1.20" "typing-extensions>=4.5" "diskcache>=5.6.1" "jinja2>=2.11.3"
fi

# llama.cpp's own llama-server, from the same sdist: the `--backend llama-server` tests drive a
# real binary. Cached in $MISTRAL_SOV_BIN_CACHE or ~/.cache/mistral-sov/bin (about 7 minutes).
BIN_DIR="${MISTRAL_SOV_BIN_CACHE:-$HOME/.cache/mistral-sov/bin}"
mkdir -p "$BIN_DIR"
if [ ! -x "$BIN_DIR/llama-server" ]; then
  echo "building llama-server $VERSION (cached in $BIN_DIR)"
  work=$(mktemp -d)
  "$PY" -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$VERSION"
  tar -xzf "$work/llama_cpp_python-$VERSION.tar.gz" -C "$work"
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  cmake -S "$work/llama_cpp_python-$VERSION/vendor/llama.cpp" -B "$work/build" "${generator[@]}" \
    -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_CURL=OFF >/dev/null
  cmake --build "$work/build" -j"$(nproc)" -t llama-server >/dev/null
  install -m 0755 "$work/build/bin/llama-server" "$BIN_DIR/llama-server"
  rm -rf "$work"
fi
echo "llama-server: $BIN_DIR/llama-server"
