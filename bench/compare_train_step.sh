#!/usr/bin/env bash
# CPU training step, posenet vs PyTorch (Debian's python3-torch), measured
# back to back on the same threads: hourglass:r18, 64x64, batch 8.
#   bench/compare_train_step.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${OMP_NUM_THREADS:-$(nproc)}
# The interpreter that has torch (Debian's python3-torch lives in /usr/bin/python3).
PYTHON=${PYTHON:-python3}
$PYTHON -c 'import torch' 2>/dev/null || PYTHON=/usr/bin/python3
ours=$(OMP_NUM_THREADS=$THREADS "$BUILD/posenet-bench" --benchmark_filter='train_step/cpu' --benchmark_format=json \
       | python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print(b["real_time"] / 1e3 if b["time_unit"]=="ms" else b["real_time"])')
theirs=$($PYTHON bench/pytorch_train_step.py --device cpu --threads "$THREADS" --steps 5 \
         | sed -n 's/.*: \([0-9.]*\) ms\/step.*/\1/p')
python3 - "$ours" "$theirs" "$THREADS" <<'PY'
import sys
ours, theirs, threads = float(sys.argv[1]), float(sys.argv[2]) / 1e3, sys.argv[3]
print(f"hourglass:r18 64x64 b8, {threads} threads: posenet {ours*1e3:.0f} ms/step, PyTorch {theirs*1e3:.0f} ms/step, "
      f"posenet is {theirs/ours:.2f}x PyTorch")
PY
