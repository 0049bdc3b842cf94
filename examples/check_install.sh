#!/bin/sh
# Installs a built tree into a temporary destdir, then builds the seed-workflow examples
# (examples/c/embed.c, examples/cpp/embed.cpp) against the *installed* library through pkg-config,
# once linked to the shared library and once fully static (pkg-config --static), runs all four on a
# converted fixture model, and runs examples/python/seed_workflow.py with the installed Python
# package (PYTHONPATH into the destdir's site-packages). All must agree; with the edit turned off
# (--scale 1) the C program must also agree with `bertrt embed`. The converter library
# (bertrt-convert.pc, libbertrt_convert.a) builds examples/c/convert.c, whose model file must equal
# the one `bertrt convert` writes and whose vectors must equal `bertrt embed`'s.
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
libdir=$(pkg-config --define-variable=prefix="$root$prefix" --variable=libdir bertrt)
pc_flags() {
  # The .pc names the final prefix; point it into the destdir.
  pkg-config --define-variable=prefix="$root$prefix" "$@" bertrt
}
static_flags() {
  # -l:libbertrt.a picks the static library even though the shared one is installed next to it.
  pc_flags --static "$@" | sed 's/-lbertrt\b/-l:libbertrt.a/'
}
cflags=$(pc_flags --cflags)

cc=${CC:-cc}
cxx=${CXX:-c++}
$cc -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/c/embed.c" $(pc_flags --libs) -o "$work/embed_c_shared"
$cxx -std=c++20 -Wall -Wextra -Werror $cflags "$src/examples/cpp/embed.cpp" $(pc_flags --libs) -o "$work/embed_cpp_shared"
$cc -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/c/embed.c" $(static_flags --libs) -o "$work/embed_c_static"
$cxx -std=c++20 -Wall -Wextra -Werror $cflags "$src/examples/cpp/embed.cpp" $(static_flags --libs) -o "$work/embed_cpp_static"

convert_flags() {
  pkg-config --define-variable=prefix="$root$prefix" --static "$@" bertrt-convert
}
$cc -std=c11 -Wall -Wextra -Werror $(convert_flags --cflags) "$src/examples/c/convert.c" $(convert_flags --libs) \
  -o "$work/convert_c"

# The static programs must not need libbertrt.so; the shared ones must.
if command -v ldd >/dev/null 2>&1; then
  for p in embed_c_static embed_cpp_static convert_c; do
    if ldd "$work/$p" | grep -q libbertrt; then echo "check_install: $p links libbertrt dynamically" >&2; exit 1; fi
  done
  for p in embed_c_shared embed_cpp_shared; do
    if ! ldd "$work/$p" | grep -q libbertrt; then echo "check_install: $p does not link libbertrt.so" >&2; exit 1; fi
  done
fi
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH

"$root$prefix/bin/bertrt" convert "$src/tests/data/fixtures/models/small" -o "$work/small.bertrt" >"$work/convert.log" 2>&1 ||
  { cat "$work/convert.log" >&2; exit 1; }
t1="Hello, my dog is cute"
t2="the cat"
for p in embed_c_shared embed_cpp_shared embed_c_static embed_cpp_static; do
  "$work/$p" "$work/small.bertrt" "$t1" "$t2" >"$work/$p.txt"
done
"$work/embed_c_static" "$work/small.bertrt" --scale 1 "$t1" "$t2" >"$work/c_unedited.txt"
"$root$prefix/bin/bertrt" embed "$work/small.bertrt" "$t1" "$t2" | tr -d '[],' >"$work/cli.txt"
"$work/convert_c" "$src/tests/data/fixtures/models/small" "$work/small-c.bertrt" "$t1" "$t2" >"$work/convert_c.txt" \
  2>"$work/convert_c.log" || { cat "$work/convert_c.log" >&2; exit 1; }
cmp -s "$work/small.bertrt" "$work/small-c.bertrt" ||
  { echo "check_install: bertrt_convert and bertrt convert wrote different model files" >&2; exit 1; }

# The Python package as installed: bertrt/ (__init__.py, the extension bertrt/_native*.so) lies in
# the destdir's site-packages (or dist-packages) directory.
pymod=$(find "$root" -path '*-packages/bertrt/_native*.so' | head -n 1)
python=/usr/bin/python3
if [ -n "$pymod" ] && [ -x "$python" ]; then
  [ -f "$(dirname "$pymod")/__init__.py" ] && [ -f "$(dirname "$pymod")/dask.py" ] ||
    { echo "check_install: the bertrt package's Python files are not installed beside $pymod" >&2; exit 1; }
  PYTHONPATH="$(dirname "$(dirname "$pymod")")" "$python" "$src/examples/python/seed_workflow.py" "$work/small.bertrt" "$t1" "$t2" \
    >"$work/python.txt"
else
  echo "check_install: no installed Python module; the Python example is not run"
fi

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
[ "$(wc -l <"$work/embed_c_static.txt")" -eq 2 ] || { echo "check_install: expected 2 vectors" >&2; exit 1; }
compare "$work/embed_c_static.txt" "$work/embed_c_shared.txt" "C static vs C shared"
compare "$work/embed_c_static.txt" "$work/embed_cpp_static.txt" "C vs C++ (static)"
compare "$work/embed_c_static.txt" "$work/embed_cpp_shared.txt" "C vs C++ (shared)"
if [ -f "$work/python.txt" ]; then compare "$work/embed_c_static.txt" "$work/python.txt" "C vs Python"; fi
compare "$work/c_unedited.txt" "$work/cli.txt" "C (--scale 1) vs bertrt embed"
compare "$work/cli.txt" "$work/convert_c.txt" "bertrt embed vs converter example"
if cmp -s "$work/c_unedited.txt" "$work/embed_c_static.txt"; then
  echo "check_install: the edit did not change the vectors" >&2
  exit 1
fi
echo "check_install: OK (installed to $root$prefix; C and C++ shared and static, Python: seed workflow agrees; converter library: same model file and vectors)"
