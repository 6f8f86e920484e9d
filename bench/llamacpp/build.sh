#!/bin/bash
# build.sh: build llama.cpp's llama-bench and llama-batched-bench for the comparison in
# bench/engine.md (bench/llamacpp_ab.sh), from the llama.cpp source that the npm package
# node-llama-cpp carries as a git bundle, so nothing is fetched but the npm package.
# usage: bench/llamacpp/build.sh      (about 7 minutes on 2 cores; needs cmake, g++, git, npm)
# Output: bench/llamacpp/build/bin/{llama-bench,llama-batched-bench}; the source is cloned to
# bench/llamacpp/src. Built for this CPU (GGML_NATIVE), as a user building llama.cpp would.
set -e
cd "$(dirname "$0")"
[ -f node_modules/node-llama-cpp/llama/gitRelease.bundle ] ||
  npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
[ -d src ] || git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
cmake --build build -j "$(nproc)" --target llama-bench llama-batched-bench >/dev/null
echo "built $(pwd)/build/bin/llama-bench and llama-batched-bench ($(git -C src log -1 --format=%h))"
