#!/usr/bin/env bash
# scripts/bundle-libs.sh on a real binary: `check` refuses a bundle that lacks
# a library or holds one the target provides, `copy` fills lib/ with the
# closure minus the provided libraries, and `resolved` tells a RUNPATH that
# points outside the bundle from one that points into it.
#
#   tests/bundle_libs_test.sh BUNDLE_LIBS_SH ELF      (ELF: the posenet binary)
set -uo pipefail
TOOL=${1:?usage: bundle_libs_test.sh BUNDLE_LIBS_SH ELF}
ELF=${2:?usage: bundle_libs_test.sh BUNDLE_LIBS_SH ELF}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
mkdir -p "$T/bin" "$T/lib"
cp "$ELF" "$T/bin/posenet"

bash "$TOOL" check "$T/lib" "$T/bin/posenet" 2>"$T/err" && fail "check passed with an empty lib/"
grep -q 'needs libposenet.so' "$T/err" || fail "check did not name libposenet.so: $(cat "$T/err")"

bash "$TOOL" copy "$T/lib" "$T/bin/posenet" || fail "copy failed"
for lib in libposenet.so libgomp.so.1; do
  [ -f "$T/lib/$lib" ] || fail "copy left out $lib"
done
for lib in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 libcudart.so.13 libcudart.so.12; do
  [ -e "$T/lib/$lib" ] && fail "copy bundled $lib, which the target provides"
done
bash "$TOOL" check "$T/lib" "$T/bin/posenet" >/dev/null || fail "check refused the copied closure"

libc=$(ldd "$ELF" | awk '$1 == "libc.so.6" { print $3 }')
cp "$libc" "$T/lib/libc.so.6"
bash "$TOOL" check "$T/lib" "$T/bin/posenet" 2>"$T/err" && fail "check passed with libc.so.6 in lib/"
grep -q 'libc.so.6 is provided by the target' "$T/err" || fail "check did not name libc.so.6: $(cat "$T/err")"
rm "$T/lib/libc.so.6"

# The build's RUNPATH points into the build tree, not into lib/.
bash "$TOOL" resolved "$T/lib" "$T/bin/posenet" 2>"$T/err" && fail "resolved passed with the build tree's RUNPATH"
grep -q 'loads libposenet.so from' "$T/err" || fail "resolved did not name libposenet.so: $(cat "$T/err")"
if command -v patchelf >/dev/null; then
  # shellcheck disable=SC2016 # $ORIGIN is for the loader
  patchelf --set-rpath '$ORIGIN/../lib' "$T/bin/posenet"
  for f in "$T"/lib/*; do
    chmod u+w "$f"
    # shellcheck disable=SC2016
    patchelf --set-rpath '$ORIGIN' "$f"
  done
  bash "$TOOL" resolved "$T/lib" "$T/bin/posenet" >/dev/null || fail "resolved refused \$ORIGIN RUNPATHs"
fi
[ $fails = 0 ] && echo "bundle-libs: all checks passed"
[ $fails = 0 ]
