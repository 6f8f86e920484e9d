#!/usr/bin/env bash
# test_install.sh: `cmake --install` into a scratch prefix gives a usable library and CLI: a small
# C program compiled with nothing but `pkg-config --cflags --libs safearith` links against the
# shared library (versioned soname) and prints sa_version(), the same as `safearith --version`; a
# C++ program links the same way (extern "C" guards); the static library, the headers (version.h
# in, the internal fsutil.h out, no cJSON), exactly the public functions exported, a man page for every command of `safearith help` and the bash
# completion are installed.
set -euo pipefail
build=${SA_BUILD_DIR:?}
tmp=$(mktemp -d /tmp/sa_install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi
}

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix=$tmp/prefix
pc=$(dirname "$(find "$prefix" -name safearith.pc | head -1)")
check "safearith.pc installed" test -f "$pc/safearith.pc"
export PKG_CONFIG_PATH=$pc
libdir=$(pkg-config --variable=libdir safearith)
check "shared library with a versioned soname" bash -c \
  "readelf -d '$libdir/libsafearith.so' | grep -q 'SONAME.*libsafearith\.so\.[0-9]'"
check "static library" test -f "$libdir/libsafearith.a"
check "version.h installed" test -f "$prefix/include/safearith/version.h"
check "fsutil.h is internal" test ! -e "$prefix/include/safearith/fsutil.h"
check "no third-party type (cJSON) in the public headers" bash -c \
  "! grep -rn 'cJSON\|cjson' '$prefix/include/safearith'"
# The shared library exports exactly the public headers' functions: every one the static
# library defines, and no internal sa_ symbol (sa_path_join is src/core/fsutil.h's).
grep -ohE '\bsa_[a-z0-9_]+[[:space:]]*\(' "$prefix"/include/safearith/*.h | tr -d ' \t(' | sort -u >"$tmp/declared"
nm --defined-only "$libdir/libsafearith.a" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u >"$tmp/defined"
comm -12 "$tmp/declared" "$tmp/defined" >"$tmp/public"
nm -D --defined-only "$libdir/libsafearith.so" | awk '{print $3}' | sort -u >"$tmp/exported"
check "public functions found" test "$(wc -l <"$tmp/public")" -gt 200
check "the shared library exports exactly the public functions" cmp -s "$tmp/public" "$tmp/exported"
check "an internal function is not exported" bash -c "! grep -qx sa_path_join '$tmp/exported'"
check "private deps only in Requires.private" bash -c \
  "test -z \"\$(pkg-config --print-requires safearith)\" && pkg-config --print-requires-private safearith | grep -q libcjson"

# The compiler of this build; a sanitizer build's library needs the program built with the same
# sanitizers (their runtime comes with the program, not with the library); likewise gcov's.
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
cc=${cc:-cc}
cxx=c++
san=()
if nm -D "$libdir/libsafearith.so" | grep __asan_init >/dev/null; then # not -q: no SIGPIPE under pipefail
  san=(-fsanitize=address,undefined)
  cxx=clang++
fi
# a coverage build's library (SA_COVERAGE) needs gcov's runtime in the program (--coverage)
if grep '^SA_COVERAGE:BOOL=ON' "$build/CMakeCache.txt" >/dev/null; then
  san+=(--coverage)
fi
cat >"$tmp/hello.c" <<'C'
#include <safearith/safearith.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    sa_hdr_opts h;
    sa_hdr_opts_init(&h);
    if (h.struct_size != sizeof h || h.top_k != 10) return 1;
    if (SA_VERSION_NUM != sa_version_num()) return 2;
    printf("safearith %s\n", sa_version());
    return 0;
}
C
# shellcheck disable=SC2046
check "a C program builds with pkg-config flags only" \
  "$cc" "${san[@]}" -o "$tmp/hello" "$tmp/hello.c" $(pkg-config --cflags --libs safearith)
check "it runs against the installed shared library" bash -c \
  "LD_LIBRARY_PATH='$libdir' ldd '$tmp/hello' | grep -q '$libdir/libsafearith.so'"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/hello")
check "it prints sa_version() = safearith --version ($out)" \
  test "$out" = "$("$prefix/bin/safearith" --version)"
# shellcheck disable=SC2046
check "a C program links libsafearith.a with pkg-config --static" \
  "$cc" "${san[@]}" -o "$tmp/hello_static" "$tmp/hello.c" $(pkg-config --cflags safearith) -Wl,-Bstatic \
  -lsafearith -Wl,-Bdynamic -Wl,--as-needed $(pkg-config --static --libs safearith)
check "the static program runs without the shared library" bash -c \
  "! ldd '$tmp/hello_static' | grep -q libsafearith && test \"\$('$tmp/hello_static')\" = '$out'"
cp "$tmp/hello.c" "$tmp/hello.cc"
if command -v "$cxx" >/dev/null; then
  # shellcheck disable=SC2046
  check "a C++ program links too (extern \"C\")" \
    "$cxx" "${san[@]}" -o "$tmp/hello_cc" "$tmp/hello.cc" $(pkg-config --cflags --libs safearith)
  check "the C++ program runs" bash -c "LD_LIBRARY_PATH='$libdir' '$tmp/hello_cc' >/dev/null"
fi

commands=$("$prefix/bin/safearith" help | awk '/^commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}')
check "help lists commands" test -n "$commands"
for c in $commands; do
  [ "$c" = help ] && continue
  page="$prefix/share/man/man1/safearith-$c.1"
  check "man page for $c" test -s "$page"
  # generated from --help: the page carries the command's usage line
  check "man page for $c from its --help" grep -qF "usage: safearith ${c//-/\\-}" "$page"
done
check "man page safearith.1" test -s "$prefix/share/man/man1/safearith.1"
comp=$prefix/share/bash-completion/completions/safearith
check "bash completion" test -s "$comp"
check "completion offers hdr's --top-k" bash -c \
  "source '$comp'; COMP_WORDS=(safearith hdr --to); COMP_CWORD=2; _safearith; printf '%s\n' \"\${COMPREPLY[@]}\" | grep -qx -- --top-k"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
