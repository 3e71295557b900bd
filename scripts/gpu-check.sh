#!/usr/bin/env bash
# One command for every GPU check: builds posenet for the local GPU (the
# test binary and posenet-bench only), runs the CUDA parity tests, the CUDA
# benchmarks of posenet-bench and the PyTorch comparison when PyTorch is
# importable, and writes a markdown report to OUT_DIR/report.md. The report
# is written whatever fails (configure, build, a crashing test); the exit
# status is non-zero when a step failed or the CUDA tests did not all pass.
#
#   scripts/gpu-check.sh OUT_DIR [BUILD_DIR]
#
# BUILD_DIR defaults to build-gpu (configured with -DPOSENET_CUDA=ON and
# only the local architecture when it is not configured yet; an existing
# one is rebuilt incrementally). cuDNN and cuBLAS are taken from the system
# (ldconfig, the CUDA toolkit) when present, otherwise from the NVIDIA
# wheels of a pip-installed PyTorch (site-packages/nvidia/*): their headers
# and libraries are handed to CMake and their lib folders put on
# LD_LIBRARY_PATH. nvcc is looked up on PATH, in CUDA_HOME, /usr/local/cuda
# and in the nvidia-cuda-nvcc wheel.
#
# Time limits per step (seconds) can be set with GPU_CHECK_BUILD_TIMEOUT,
# GPU_CHECK_TEST_TIMEOUT, GPU_CHECK_BENCH_TIMEOUT, GPU_CHECK_TORCH_TIMEOUT.
set -uo pipefail
OUT=${1:?usage: scripts/gpu-check.sh OUT_DIR [BUILD_DIR]}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)  # absolute: the script works from the repository root
cd "$(dirname "$0")/.." || exit 1
BUILD=${2:-build-gpu}
REPORT="$OUT/report.md"
status=0

tmo() {  # tmo SECONDS CMD...: runs CMD under timeout(1) when it exists
  local t=$1
  shift
  if command -v timeout >/dev/null; then timeout --kill-after=30 "$t" "$@"; else "$@"; fi
}
fence() { echo '```'; cat; echo '```'; }
log_tail() { [ -f "$1" ] && tail -n "${2:-40}" "$1" | fence; }

{
  echo "# posenet GPU report"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- device: $(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)"
  echo "- driver supports CUDA: $(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
} >"$REPORT"

# ---------------------------------------------------------------- libraries
# Every site-packages folder of every Python at hand (no import of torch:
# the wheels' libraries are wanted even where torch itself fails to load).
site_dirs() {
  for py in python3 python /usr/bin/python3; do
    command -v "$py" >/dev/null || continue
    "$py" - 2>/dev/null <<'PY'
import site, sys
dirs = list(getattr(site, "getsitepackages", lambda: [])()) + [site.getusersitepackages()]
dirs += [p for p in sys.path if p.endswith("-packages")]
print("\n".join(dict.fromkeys(d for d in dirs if d)))
PY
  done | awk '!seen[$0]++'
}
NV_ROOTS=()
while IFS= read -r d; do
  [ -d "$d/nvidia" ] && NV_ROOTS+=("$d/nvidia")
  [ -d "$d/torch/lib" ] && NV_ROOTS+=("$d/torch/lib")
done < <(site_dirs)
# wheel_find NAME-GLOB: the first file of that name in the wheels (shortest path first).
wheel_find() {
  [ ${#NV_ROOTS[@]} -gt 0 ] || return 0
  find "${NV_ROOTS[@]}" -maxdepth 4 -name "$1" 2>/dev/null | awk '{ print length($0) " " $0 }' | sort -n | head -1 | cut -d' ' -f2-
}

# nvcc and the toolkit it belongs to.
NVCC=$(command -v nvcc || true)
for c in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
  [ -z "$NVCC" ] && [ -x "$c" ] && NVCC=$c
done
[ -z "$NVCC" ] && NVCC=$(wheel_find nvcc)
CUDA_ROOT=""
[ -n "$NVCC" ] && CUDA_ROOT=$(cd "$(dirname "$NVCC")/.." && pwd)

system_has() {  # system_has LIBNAME: in the loader cache or the toolkit's lib folders
  ldconfig -p 2>/dev/null | grep -q "$1\.so" && return 0
  [ -n "$CUDA_ROOT" ] && ls "$CUDA_ROOT"/lib64/"$1".so* "$CUDA_ROOT"/lib/"$1".so* \
    "$CUDA_ROOT"/targets/*/lib/"$1".so* >/dev/null 2>&1
}

CMAKE_EXTRA=()
WHEEL_LIBS=()
CUDA_FLAGS=""
if [ -n "$NVCC" ]; then CMAKE_EXTRA+=("-DCMAKE_CUDA_COMPILER=$NVCC"); fi
system_cudnn_header() {
  [ -n "$CUDA_ROOT" ] && [ -f "$CUDA_ROOT/include/cudnn.h" ] && return 0
  [ -f /usr/include/cudnn.h ] || ls /usr/include/*/cudnn.h >/dev/null 2>&1
}
if ! system_has libcudnn || ! system_cudnn_header; then
  # The wheel ships libcudnn.so.9 only (no unversioned name CMake would look for).
  lib=$(wheel_find 'libcudnn.so*')
  hdr=$(wheel_find cudnn.h)
  if [ -n "$lib" ] && [ -n "$hdr" ]; then
    CMAKE_EXTRA+=("-DCUDNN_LIBRARY=$lib" "-DCUDNN_INCLUDE_DIR=$(dirname "$hdr")")
    WHEEL_LIBS+=("$(dirname "$lib")")
  fi
fi
if ! system_has libcublas; then
  lib=$(wheel_find 'libcublas.so*')
  lt=$(wheel_find 'libcublasLt.so*')
  hdr=$(wheel_find cublas_v2.h)
  if [ -n "$lib" ] && [ -n "$lt" ]; then
    # FindCUDAToolkit keeps cache entries that are already set.
    CMAKE_EXTRA+=("-DCUDA_cublas_LIBRARY=$lib" "-DCUDA_cublasLt_LIBRARY=$lt")
    WHEEL_LIBS+=("$(dirname "$lib")")
  fi
  [ -n "$hdr" ] && CUDA_FLAGS="-isystem $(dirname "$hdr")"
fi
if [ ${#WHEEL_LIBS[@]} -gt 0 ]; then
  # cuDNN 9 loads its sub-libraries and NVRTC at run time: every wheel lib
  # folder with CUDA libraries (not the rest of torch/lib).
  for r in "${NV_ROOTS[@]}"; do
    for d in "$r"/*/lib "$r"; do
      for l in cudnn cublas nvrtc cudart nvJitLink; do
        if compgen -G "$d/lib$l*.so*" >/dev/null; then WHEEL_LIBS+=("$d"); break; fi
      done
    done
  done
  LD_LIBRARY_PATH=$(printf '%s\n' "${WHEEL_LIBS[@]}" | awk '!seen[$0]++' | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
fi
{
  echo "- nvcc: ${NVCC:-not found} ($("${NVCC:-false}" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
  echo "- cuDNN/cuBLAS from: $([ ${#WHEEL_LIBS[@]} -gt 0 ] && echo "PyTorch's NVIDIA wheels" || echo system)"
  [ ${#WHEEL_LIBS[@]} -gt 0 ] && echo "- LD_LIBRARY_PATH: \`$LD_LIBRARY_PATH\`"
  echo
} >>"$REPORT"

# ---------------------------------------------------------------- build
built=0
if [ -z "$NVCC" ]; then
  echo "## Build"$'\n\n'"no nvcc found (PATH, CUDA_HOME, /usr/local/cuda, the nvidia-cuda-nvcc wheel): CUDA backend not built."$'\n' >>"$REPORT"
  status=1
else
  conf_ok=1
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    configure() {
      # ${a[@]+...}: empty arrays are "unbound" to bash < 4.4 under set -u.
      cmake -S . -B "$BUILD" ${gen[@]+"${gen[@]}"} -DCMAKE_BUILD_TYPE=Release -DPOSENET_CUDA=ON \
        -DPOSENET_CUDA_ARCHS="${arch:-90}" ${CUDA_FLAGS:+"-DCMAKE_CUDA_FLAGS=$CUDA_FLAGS"} \
        ${CMAKE_EXTRA[@]+"${CMAKE_EXTRA[@]}"} "$@"
    }
    if ! configure >"$OUT/configure.log" 2>&1; then
      # Google Benchmark is the one dependency the tests do not need.
      rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
      configure -DPOSENET_BUILD_BENCH=OFF >>"$OUT/configure.log" 2>&1 || conf_ok=0
    fi
  fi
  if [ $conf_ok = 0 ]; then
    { echo "## Build"; echo; echo "configure failed ($OUT/configure.log):"; log_tail "$OUT/configure.log" 60; echo; } >>"$REPORT"
    status=1
  else
    targets=(--target posenet_tests)
    grep -q '^POSENET_BUILD_BENCH:BOOL=ON' "$BUILD/CMakeCache.txt" && targets+=(--target posenet-bench)
    if tmo "${GPU_CHECK_BUILD_TIMEOUT:-3600}" cmake --build "$BUILD" --parallel "$(nproc)" "${targets[@]}" \
        >"$OUT/build.log" 2>&1; then
      built=1
    else
      { echo "## Build"; echo; echo "build failed ($OUT/build.log):"; grep -E 'error|Error' "$OUT/build.log" | head -40 | fence
        log_tail "$OUT/build.log" 20; echo; } >>"$REPORT"
      status=1
    fi
  fi
fi

# ---------------------------------------------------------------- tests
if [ $built = 1 ]; then
  # CUDA parity tests: the op table's backend-vs-CPU mode and every test
  # whose name mentions Cuda.
  tmo "${GPU_CHECK_TEST_TIMEOUT:-1800}" "$BUILD/tests/posenet_tests" --gtest_filter='OpTable*BackendsMatchCpu*:*Cuda*' \
    >"$OUT/cuda_tests.log" 2>&1
  tests_rc=$?
  passed=$(grep -c '^\[       OK \]' "$OUT/cuda_tests.log" || true)
  # gtest's summary: "[  SKIPPED ] 3 tests, listed below:" (absent when none).
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) tests*,.*/\1/p' "$OUT/cuda_tests.log" | head -1)
  skipped=${skipped:-0}
  {
    echo "## CUDA parity tests"
    echo
    echo "exit code $tests_rc; $passed passed, $skipped skipped."
    # On a GPU machine a skipped CUDA test means posenet saw no usable device
    # (driver older than the toolkit, library not found): a failure here.
    if [ "$skipped" != 0 ]; then
      echo "**CUDA tests were skipped: posenet did not see a usable CUDA device.** $(grep -m1 'CUDA parity not run' "$OUT/cuda_tests.log")"
    fi
    echo
    grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$OUT/cuda_tests.log" | head -50 | fence
    if [ $tests_rc != 0 ]; then
      echo
      echo "failures (first lines of each):"
      grep -B2 -A12 -E 'Failure$|what\(\)|terminate called|Segmentation|Aborted' "$OUT/cuda_tests.log" | head -150 | fence
      grep -qE '^\[  (PASSED|FAILED) ' "$OUT/cuda_tests.log" || log_tail "$OUT/cuda_tests.log" 40
    fi
    echo
  } >>"$REPORT"
  if [ $tests_rc != 0 ] || [ "$skipped" != 0 ] || [ "$passed" = 0 ]; then status=1; fi

  # CUDA benchmarks only (kernels, bandwidth, training steps): the CPU ones
  # take minutes on a many-core host and are measured elsewhere.
  if [ -x "$BUILD/posenet-bench" ]; then
    tmo "${GPU_CHECK_BENCH_TIMEOUT:-2400}" "$BUILD/posenet-bench" --benchmark_filter='[Cc]uda' \
      --benchmark_format=console --benchmark_counters_tabular=true \
      --benchmark_out="$OUT/bench.json" --benchmark_out_format=json >"$OUT/bench.log" 2>&1
    bench_rc=$?
    {
      echo "## posenet-bench (CUDA benchmarks)"
      echo
      [ $bench_rc != 0 ] && echo "exit code $bench_rc"
      grep -vE '^(\*\*\*|-{5,})' "$OUT/bench.log" | head -200 | fence
      echo
    } >>"$REPORT"
    [ $bench_rc != 0 ] && status=1

    # The memory-bound table (bench/bench_cuda_bandwidth.cpp) from the JSON:
    # GB/s, share of the device's copy bandwidth, TFLOP/s where counted.
    {
      echo "## CUDA memory-bound report (cold L2, CUDA-event timing)"
      echo
      if command -v python3 >/dev/null && [ -s "$OUT/bench.json" ]; then
        python3 - "$OUT/bench.json" <<'PY' || echo "(bench.json could not be read: the benchmark run was cut short)"
import json, sys
rows = [b for b in json.load(open(sys.argv[1])).get("benchmarks", []) if b.get("name", "").startswith("BM_Cuda")
        and b.get("run_type", "iteration") == "iteration"]
print("| benchmark | time (us) | GB/s | share of copy bandwidth | TFLOP/s |")
print("|---|---:|---:|---:|---:|")
def f(b, k, fmt):
    return fmt.format(b[k]) if k in b else ""
for b in rows:
    if b.get("error_occurred") or "error_message" in b:
        print(f"| {b['name']} | error: {b.get('error_message', '?')} | | | |")
        continue
    print(f"| {b['name']} | {f(b, 'real_time', '{:.1f}')} | {f(b, 'GB/s', '{:.0f}')} | "
          f"{f(b, 'copy_share', '{:.0%}')} | {f(b, 'TFLOP/s', '{:.1f}')} |")
if not rows:
    print("(no BM_Cuda* results: no CUDA device seen by posenet-bench)")
PY
      else
        grep -E '^BM_Cuda' "$OUT/bench.log" | fence || echo "(no BM_Cuda* results)"
      fi
      echo
    } >>"$REPORT"
  else
    echo "## posenet-bench"$'\n\n'"not built (Google Benchmark missing?): see $OUT/configure.log"$'\n' >>"$REPORT"
  fi
fi

# ---------------------------------------------------------------- PyTorch
# The same step in PyTorch on the same GPU, when a Python with a CUDA torch
# (and torchvision, which the reference model definitions use) is at hand.
PYTHON=""
for py in python3 python /usr/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c 'import torch' 2>/dev/null; then PYTHON=$py; break; fi
done
{
  echo "## PyTorch, same GPU, same run"
  echo
  if [ -z "$PYTHON" ]; then
    echo "(no Python with torch found: skipped)"
  elif ! "$PYTHON" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "($PYTHON has torch $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null) but no CUDA device: skipped)"
  elif ! "$PYTHON" -c 'import torchvision' 2>/dev/null; then
    echo "($PYTHON has torch but not torchvision, which tests/reference/make_fixtures.py imports: skipped)"
  else
    tmo "${GPU_CHECK_TORCH_TIMEOUT:-1800}" "$PYTHON" bench/pytorch_train_step.py >"$OUT/pytorch.log" 2>&1 ||
      echo "exit code $? (log: $OUT/pytorch.log)"
    fence <"$OUT/pytorch.log"
  fi
  echo
} >>"$REPORT"

echo "report: $REPORT"
exit $status
