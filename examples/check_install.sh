#!/bin/sh
# Installs a built tree into a temporary destdir, then builds examples/c/embed.c and
# examples/cpp/embed.cpp against the installed static library through pkg-config and runs them on
# a converted fixture model; the C, C++ and `bertrt embed` results must agree.
#
#   examples/check_install.sh BUILD_DIR
set -eu

build=${1:?usage: check_install.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bertrt-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

root="$work/root"
meson install -C "$build" --destdir "$root" --quiet >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  echo "check_install: meson install failed" >&2
  exit 1
}

pc=$(find "$root" -name bertrt.pc | head -n 1)
[ -n "$pc" ] || { echo "check_install: bertrt.pc not installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
prefix=$(pkg-config --variable=prefix bertrt)
pc_flags() {
  # The .pc names the final prefix; point it into the destdir. -l:libbertrt.a picks the static
  # library even though the shared one is installed next to it.
  pkg-config --define-variable=prefix="$root$prefix" --static "$@" bertrt | sed 's/-lbertrt\b/-l:libbertrt.a/'
}
cflags=$(pc_flags --cflags)
libs=$(pc_flags --libs)

${CC:-cc} -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/c/embed.c" $libs -o "$work/embed_c"
${CXX:-c++} -std=c++20 -Wall -Wextra -Werror $cflags "$src/examples/cpp/embed.cpp" $libs -o "$work/embed_cpp"

# Statically linked: the programs must not need libbertrt.so.
if command -v ldd >/dev/null 2>&1 && ldd "$work/embed_c" | grep -q libbertrt; then
  echo "check_install: embed_c links libbertrt dynamically" >&2
  exit 1
fi

"$root$prefix/bin/bertrt" convert "$src/tests/data/fixtures/models/small" -o "$work/small.bertrt" >"$work/convert.log" 2>&1 ||
  { cat "$work/convert.log" >&2; exit 1; }
"$work/embed_c" "$work/small.bertrt" "Hello, my dog is cute" "the cat" >"$work/c.txt"
"$work/embed_cpp" "$work/small.bertrt" "Hello, my dog is cute" "the cat" >"$work/cpp.txt"
"$root$prefix/bin/bertrt" embed "$work/small.bertrt" "Hello, my dog is cute" "the cat" |
  tr -d '[],' >"$work/cli.txt"

compare() {
  awk -v name="$3" '
    NR == FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; n[FNR] = NF; rows = FNR; next }
    {
      if (n[FNR] != NF || NF == 0) { print name ": row " FNR " has " NF " values, expected " n[FNR]; bad = 1; exit }
      for (i = 1; i <= NF; i++) { d = a[FNR, i] - $i; if (d < 0) d = -d; if (d > 1e-4) { print name ": row " FNR " differs by " d; bad = 1; exit } }
      seen = FNR
    }
    END { if (!bad && seen != rows) { print name ": " seen " rows, expected " rows; bad = 1 } exit bad }' "$1" "$2" >&2
}
[ "$(wc -l <"$work/c.txt")" -eq 2 ] || { echo "check_install: expected 2 vectors" >&2; exit 1; }
compare "$work/c.txt" "$work/cpp.txt" "C vs C++"
compare "$work/c.txt" "$work/cli.txt" "C vs bertrt embed"
echo "check_install: OK (installed to $root$prefix, static C and C++ examples agree with bertrt embed)"
