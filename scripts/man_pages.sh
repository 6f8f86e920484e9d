#!/usr/bin/env bash
# man_pages.sh: write a man page per command, generated with help2man from the commands' own
# --help texts (so pages and help cannot drift): safearith.1 and safearith-CMD.1 for every command
# that `safearith help` lists. Run by the build (target `man`); usage: man_pages.sh BIN OUT_DIR VERSION
set -euo pipefail
bin=$(realpath "$1")
out=$2
version=$3
mkdir -p "$out/wrap"
# the commands and their one-line summaries, from the "commands:" block of `safearith help`
commands=$("$bin" help | awk '/^commands:/ {on = 1; next} on && /^$/ {exit} on {print}')
help2man -N --version-string="$version" -n "make language models safe again without training them" \
  -o "$out/safearith.1" "$bin"
while read -r name summary; do
  [ "$name" = help ] && continue
  wrap="$out/wrap/safearith-$name"
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$name" >"$wrap"
  chmod +x "$wrap"
  help2man -N --version-string="$version" -n "$summary" -o "$out/safearith-$name.1" "$wrap"
done <<<"$commands"
rm -r "$out/wrap"
