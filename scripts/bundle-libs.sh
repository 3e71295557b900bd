#!/usr/bin/env bash
# The shared libraries of a self-contained bundle (scripts/gpu-bundle.sh):
#
#   scripts/bundle-libs.sh copy  LIBDIR ELF...   copy every library the ELF
#       files load, as the loader resolves them on this machine, into LIBDIR
#       under its soname, except the ones the target machine provides;
#   scripts/bundle-libs.sh check LIBDIR ELF...   fail, naming each one, when a
#       NEEDED entry of the ELF files or of LIBDIR's libraries is neither in
#       LIBDIR nor provided by the target, or when LIBDIR holds a provided one;
#   scripts/bundle-libs.sh resolved LIBDIR ELF...  fail unless the loader
#       (ldd, without LD_LIBRARY_PATH) finds every library the ELF files load
#       that the target does not provide in LIBDIR: their RUNPATH is right.
#
# Provided by the target (never bundled): glibc (libc, libm, libpthread, libdl,
# librt, libresolv, ld-linux, ...), libstdc++ and libgcc_s (ABI-compatible on
# any newer system), the driver's libcuda, and the CUDA libraries that
# PyTorch's NVIDIA wheels carry (cudart, cuBLAS/cuBLASLt, cuDNN, NCCL, NVRTC,
# nvJitLink): bundling those would pin a toolkit the driver may not support.
set -euo pipefail

usage() {
  echo "usage: scripts/bundle-libs.sh copy|check|resolved LIBDIR ELF..." >&2
  exit 2
}

# provided SONAME: true when the target machine supplies that library.
provided() {
  case "$1" in
    ld-linux*.so* | linux-vdso.so* | libc.so.* | libm.so.* | libmvec.so.* | libpthread.so.* | libdl.so.* | \
      librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | libnss_*.so.* | libthread_db.so.* | \
      libstdc++.so.* | libgcc_s.so.* | \
      libcuda.so.* | libcudart.so.* | libcublas.so.* | libcublasLt.so.* | libcudnn*.so.* | libnccl.so.* | \
      libnvrtc*.so.* | libnvJitLink.so.*)
      return 0 ;;
  esac
  return 1
}

# needed ELF: its NEEDED entries, one a line.
needed() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'; }

copy_libs() {
  local libdir=$1 elf line name path
  shift
  mkdir -p "$libdir"
  for elf in "$@"; do
    # ldd prints the whole closure, resolved as the loader would here:
    # "libfoo.so.1 => /usr/lib/.../libfoo.so.1 (0x...)" or "=> not found".
    while IFS= read -r line; do
      name=$(awk '{ print $1 }' <<<"$line")
      path=$(awk '$2 == "=>" { print $3 }' <<<"$line")
      [ -n "$path" ] || continue
      provided "$name" && continue
      if [ "$path" = "not" ]; then
        echo "bundle-libs: $elf needs $name, which this machine cannot resolve (ldd: not found)" >&2
        return 1
      fi
      [ -e "$libdir/$name" ] || cp -L "$path" "$libdir/$name"
    done < <(ldd "$elf")
  done
}

check_libs() {
  local libdir=$1 elf name bad=0
  shift
  local files=("$@")
  for lib in "$libdir"/*; do
    [ -f "$lib" ] || continue
    files+=("$lib")
    if provided "$(basename "$lib")"; then
      echo "bundle-libs: $lib is provided by the target machine and must not be bundled" >&2
      bad=1
    fi
  done
  for elf in "${files[@]}"; do
    if ! objdump -p "$elf" >/dev/null 2>&1; then
      echo "bundle-libs: $elf is not an ELF file objdump can read" >&2
      bad=1
      continue
    fi
    while IFS= read -r name; do
      provided "$name" && continue
      [ -e "$libdir/$name" ] && continue
      echo "bundle-libs: $elf needs $name, which is neither in $libdir nor provided by the target machine" >&2
      bad=1
    done < <(needed "$elf")
  done
  return $bad
}

resolved_libs() {
  local libdir elf name path bad=0
  libdir=$(realpath "$1")
  shift
  for elf in "$@"; do
    while read -r name path; do
      provided "$name" && continue
      # ldd prints the RUNPATH's spelling ($ORIGIN/../lib/...): compare real paths.
      [ -n "$path" ] && path=$(realpath "$path")
      case "$path" in
        "$libdir"/*) ;;
        *)
          echo "bundle-libs: $elf loads $name from ${path:-nowhere}, not from $libdir" >&2
          bad=1
          ;;
      esac
    done < <(env -u LD_LIBRARY_PATH ldd "$elf" | awk '$2 == "=>" { print $1, ($3 == "not" ? "" : $3) }')
  done
  return $bad
}

[ $# -ge 3 ] || usage
mode=$1
libdir=$2
shift 2
case "$mode" in
  copy) copy_libs "$libdir" "$@" ;;
  check) check_libs "$libdir" "$@" && echo "bundle-libs: every library resolves inside $libdir or on the target machine" ;;
  resolved) resolved_libs "$libdir" "$@" && echo "bundle-libs: the loader finds every bundled library in $libdir" ;;
  *) usage ;;
esac
