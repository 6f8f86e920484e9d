#!/bin/bash
# llamacpp.sh: build llama.cpp (llama-server, llama-cli, llama-tokenize, llama-bench,
# llama-batched-bench) from the source bundle that the npm package node-llama-cpp carries, into a
# cache outside the clone, keyed by the package version and this CPU's flags, and print the bin
# directory. Nothing is fetched but the npm package. A second call with the cache present returns
# at once. Used by the interoperability tests (GGUF export, eval --server) and bench/.
# usage: scripts/llamacpp.sh            (first build: about 8-10 minutes on 2 cores)
# env:   SA_CACHE_DIR (default ~/.cache/safearith)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pkg=$here/bench/llamacpp
ver=$(sed -n 's/.*"node-llama-cpp": *"\([^"]*\)".*/\1/p' "$pkg/package.json")
cpu=$(grep -m1 '^flags' /proc/cpuinfo | md5sum | cut -c1-8)
cache=${SA_CACHE_DIR:-$HOME/.cache/safearith}
dest=$cache/llama.cpp-$ver-$cpu
bins=(llama-server llama-cli llama-tokenize llama-bench llama-batched-bench)
ok=1
for b in "${bins[@]}"; do [ -x "$dest/bin/$b" ] || ok=0; done
if [ $ok = 1 ]; then echo "$dest/bin"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.llamacpp.lock"
flock 9
ok=1
for b in "${bins[@]}"; do [ -x "$dest/bin/$b" ] || ok=0; done
if [ $ok = 1 ]; then echo "$dest/bin"; exit 0; fi
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$pkg/package.json" "$work/"
(cd "$work" && npm install --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
git clone -q "$work/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$work/src"
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$work/build" -j "$(nproc)" --target "${bins[@]}" >&2
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp/bin"
for b in "${bins[@]}"; do cp "$work/build/bin/$b" "$dest.tmp/bin/"; done
git -C "$work/src" log -1 --format=%H >"$dest.tmp/COMMIT"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$dest/bin"
