#!/usr/bin/env bash
# deps.sh: install the Debian packages safearith needs (idempotent; only missing ones).
# Usage: scripts/deps.sh          what building and running the product needs (scripts/demo.sh)
#        scripts/deps.sh --test   that plus what the tests need: clang (sanitizers, fuzzing),
#                                 clang-format, the Python references (torch, numpy, jinja2) and
#                                 node/npm for the tokenizer references (scripts/test.sh)
# Run as root (or with sudo available).
set -euo pipefail
pkgs=(build-essential cmake pkg-config help2man
      libcjson-dev libpcre2-dev libutf8proc-dev libyaml-dev libopenblas-dev liblapacke-dev
      libedit-dev libcurl4-openssl-dev)
test_pkgs=(clang libclang-rt-14-dev clang-format python3-torch python3-numpy python3-jinja2)
with_tests=0
case "${1:-}" in
  "") ;;
  --test) with_tests=1 ;;
  *) echo "usage: scripts/deps.sh [--test]" >&2; exit 2 ;;
esac
[ "$with_tests" -eq 1 ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$with_tests" -eq 1 ]; then
  # node and npm run the tokenizer references; the machine image may carry its own npm.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
