#!/usr/bin/env bash
# Build llama-cpp-python once per machine and cache the wheel (about 8 minutes on 2 cores).
# Cache: $MISTRAL_SOV_WHEEL_CACHE or ~/.cache/mistral-sov/wheels. Flags from docs/local.md.
set -euo pipefail
PY="${1:-python3}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${MISTRAL_SOV_WHEEL_CACHE:-$HOME/.cache/mistral-sov/wheels}"
mkdir -p "$CACHE"
if "$PY" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$VERSION' else 1)" 2>/dev/null; then
  echo "llama-cpp-python $VERSION already installed"
  exit 0
fi
wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $VERSION from source (cached in $CACHE)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$PY" -m pip wheel -q --no-deps -w "$CACHE" "llama-cpp-python==$VERSION"
  wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)
fi
"$PY" -m pip install -q "$wheel" "numpy>=1.20" "typing-extensions>=4.5" "diskcache>=5.6.1" "jinja2>=2.11.3"
