#!/usr/bin/env bash
# The GPU check, part 1 of 2: on a build machine (no GPU needed), builds
# posenet for sm_90 (Release) and packs a self-contained bundle of at most
# 64 MiB into DIR:
#
#   DIR/posenet-gpu.tar.xz   bin/ posenet, posenet-bench, posenet_tests;
#                            lib/ every shared library they load except those
#                            the GPU machine provides (scripts/bundle-libs.sh);
#                            src/ bench/pytorch_train_step.py and the reference
#                            models it imports, a tiny synthetic config
#   DIR/run.sh               part 2 (scripts/gpu-run.sh): `DIR/run.sh OUT` on
#                            the GPU machine writes OUT/report.md
#
#   scripts/gpu-bundle.sh DIR [BUILD_DIR]
#
# BUILD_DIR defaults to build-gpu-bundle (configured on first use; CUDA
# architectures from POSENET_BUNDLE_ARCHS, default 90). ccache is used when
# installed. Needs nvcc and cuDNN (as any CUDA build), patchelf, objdump,
# ldd, tar and xz. Every binary's RUNPATH is set to the bundle's lib/, and the
# bundle is refused (exit 1) when a library would not resolve there.
set -euo pipefail
DIR=${1:?usage: scripts/gpu-bundle.sh DIR [BUILD_DIR]}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)  # before the cd below: DIR is relative to the caller
rm -f "$DIR/posenet-gpu.tar.xz" "$DIR/run.sh"  # no stale bundle when a step below fails
cd "$(dirname "$0")/.."
BUILD=${2:-build-gpu-bundle}  # relative to the repository
MAX_BYTES=$((64 * 1024 * 1024))

for tool in cmake patchelf objdump ldd tar xz strip; do
  command -v "$tool" >/dev/null || {
    echo "gpu-bundle: '$tool' not found (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done

# ---------------------------------------------------------------- build
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  args=(-S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPOSENET_CUDA=ON
    "-DPOSENET_CUDA_ARCHS=${POSENET_BUNDLE_ARCHS:-90}" -DPOSENET_BUILD_TESTS=ON -DPOSENET_BUILD_BENCH=ON)
  command -v ninja >/dev/null && args+=(-G Ninja)
  if command -v ccache >/dev/null; then
    args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
      -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  fi
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    args+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
  fi
  cmake "${args[@]}"
fi
cmake --build "$BUILD" --parallel "$(nproc)" --target posenet-cli posenet-bench posenet_tests

# ---------------------------------------------------------------- stage
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
B=$STAGE/posenet-gpu
mkdir -p "$B/bin" "$B/lib" "$B/src/bench" "$B/src/tests/reference" "$B/src/configs"
bins=("$BUILD/posenet" "$BUILD/posenet-bench" "$BUILD/tests/posenet_tests")
# The closure as the loader resolves it from the build tree (whose RUNPATHs
# find libposenet.so, OpenBLAS's OpenMP build and HDF5).
scripts/bundle-libs.sh copy "$B/lib" "${bins[@]}"
cp "${bins[@]}" "$B/bin/"
strip --strip-unneeded "$B"/bin/* "$B/lib/libposenet.so"
# shellcheck disable=SC2016 # $ORIGIN is for the loader, not the shell
for f in "$B"/bin/*; do patchelf --set-rpath '$ORIGIN/../lib' "$f"; done
for f in "$B"/lib/*; do
  chmod u+w "$f"
  # shellcheck disable=SC2016
  patchelf --set-rpath '$ORIGIN' "$f"
done
scripts/bundle-libs.sh check "$B/lib" "$B"/bin/*
# And as the loader resolves them from the bundle's own RUNPATH.
scripts/bundle-libs.sh resolved "$B/lib" "$B"/bin/*

# src/: what run.sh needs besides the binaries. The tests it selects make
# their own inputs (no fixture files).
cp bench/pytorch_train_step.py "$B/src/bench/"
cp tests/reference/make_fixtures.py "$B/src/tests/reference/"
# The tiny synthetic run of the check: the tiny model on a few hundred
# generated figures, a couple of epochs.
cat >"$B/src/configs/gpu_check_tiny.toml" <<'EOF'
[train]
model = "tiny"
data = "synthetic"
synthetic-count = 512
synthetic-size = 96
device = "cuda"
epochs = 2
batch-size = 32
lr = 0.002
sigmas = [1.0]
workers = 2
seed = 1
EOF
{
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cuda archs: $(sed -n 's/^POSENET_CUDA_ARCHS:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
  nvcc=$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
  echo "nvcc: $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  echo "CUDA libraries expected from the GPU machine: $(for f in "$B"/bin/* "$B"/lib/*; do objdump -p "$f" | awk '$1 == "NEEDED" { print $2 }'; done |
    grep -E '^lib(cudart|cublas|cublasLt|cudnn|nccl)' | sort -u | paste -sd' ')"
  # The GPU machine's glibc and libstdc++ must be at least as new as these.
  echo "newest glibc / libstdc++ symbol versions used: $(objdump -T "$B"/bin/* "$B"/lib/* 2>/dev/null |
    grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1) / $(objdump -T "$B"/bin/* "$B"/lib/* 2>/dev/null |
    grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)"
} >"$B/BUNDLE_INFO"

# ---------------------------------------------------------------- pack
tar -C "$STAGE" -cf - posenet-gpu | xz -T0 -6 >"$DIR/posenet-gpu.tar.xz"
cp scripts/gpu-run.sh "$DIR/run.sh"
chmod +x "$DIR/run.sh"
unpacked=$(du -sb "$B" | cut -f1)
bytes=$(($(stat -c %s "$DIR/posenet-gpu.tar.xz") + $(stat -c %s "$DIR/run.sh")))
printf 'gpu-bundle: %s: %.1f MiB (%.1f MiB unpacked); limit 64 MiB\n' "$DIR" \
  "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$(awk -v b="$unpacked" 'BEGIN { print b / 1048576 }')"
if [ "$bytes" -gt "$MAX_BYTES" ]; then
  echo "gpu-bundle: the bundle is over 64 MiB" >&2
  exit 1
fi
echo "gpu-bundle: on the GPU machine: $DIR/run.sh OUT_DIR   (writes OUT_DIR/report.md)"
