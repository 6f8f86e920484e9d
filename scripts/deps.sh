#!/usr/bin/env bash
# deps.sh: install what building and testing safearith needs on Debian (idempotent).
# Run as root (or with sudo available). Installs only missing packages.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
      libcjson-dev libpcre2-dev libutf8proc-dev libyaml-dev libcurl4-openssl-dev libopenblas-dev liblapacke-dev
      python3-torch python3-numpy python3-jinja2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm run the tokenizer references; the machine image may carry its own npm.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
