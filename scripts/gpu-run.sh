#!/usr/bin/env bash
# The GPU check, part 2 of 2, copied to DIR/run.sh by scripts/gpu-bundle.sh:
#
#   DIR/run.sh OUT_DIR
#
# on a GPU machine with nothing installed but the NVIDIA driver and a Python
# with PyTorch's CUDA wheels, whose site-packages/nvidia/*/lib folders supply
# cudart, cuBLAS and cuDNN (found without importing torch). Unpacks the bundle
# into a temporary folder and runs, each step under its own time limit and
# all of them within POSENET_GPU_CHECK_SECONDS (default 500, under 9 minutes):
#   environment   GPU, driver, Python/PyTorch, where each CUDA library resolves
#   parity        the op table's backend-vs-CPU mode and every CUDA test,
#                 CUDA_LAUNCH_BLOCKING=1
#   op perf       the op table's perf mode (GB/s, FLOP/s per op)
#   kernels       posenet-bench: memory-bound kernels against copy bandwidth,
#                 convolutions in TFLOP/s
#   train steps   posenet-bench: simplebaseline:r50 and multistage:r101,r50,r50,
#                 256x256, batch 32: img/s and peak memory
#   pytorch       bench/pytorch_train_step.py, tf32 and amp-bf16-channels-last
#   train         a short `posenet train --device cuda` on synthetic data, its
#                 first loss against the same run on the CPU
#   train bf16    the same with --precision bf16, and with the hand-written
#                 deconvolution (POSENET_DECONV=hand), first losses against the
#                 CPU's
# OUT_DIR/report.md is rewritten after every step (a table at the top: step,
# status, time, key numbers; then each step's details), so a step that times
# out loses nothing before it. Logs and JSON files go beside it. A skipped
# test or step counts as a failure; the exit status is 1 when any step did
# not pass.
# No `set -e`/`-u`: a failing command or a bug in one step must not cost the
# steps after it.
set -o pipefail
OUT=${1:?usage: run.sh OUT_DIR}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
TOTAL=${POSENET_GPU_CHECK_SECONDS:-500}
T0=$(date +%s)
REPORT=$OUT/report.md
ROWS=$OUT/.report_rows
SECTIONS=$OUT/.report_sections
: >"$ROWS"
: >"$SECTIONS"
failures=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/posenet-gpu.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
B=$WORK/posenet-gpu  # the unpacked bundle
PY=$(command -v python3 || command -v python || true)

fence() { echo '```'; cat; echo '```'; }
log_tail() { [ -s "$1" ] && tail -n "${2:-30}" "$1" | fence; }
section() { printf '## %s\n\n' "$1" >>"$SECTIONS"; }
note() { printf '%s\n\n' "$*" >>"$SECTIONS"; }

write_report() {
  {
    echo "# posenet GPU check"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - T0)) s of the ${TOTAL} s budget used."
    echo
    echo "| step | status | time | key numbers |"
    echo "|---|---|---:|---|"
    cat "$ROWS"
    echo
    cat "$SECTIONS"
  } >"$REPORT.tmp" && mv "$REPORT.tmp" "$REPORT"
}

# tmo SECONDS CMD...: CMD under timeout(1); exit status 124 when it ran out.
tmo() {
  local t=$1
  shift
  timeout --kill-after=10 "$t" "$@"
}

# run_step NAME SECONDS FUNCTION: FUNCTION runs with $BUDGET seconds (less
# when the total budget runs short) and sets STATUS (PASS, FAIL, SKIPPED,
# TIMEOUT) and KEY (the table's key numbers); the report is rewritten after.
run_step() {
  local name=$1 budget=$2 fn=$3 started left
  started=$(date +%s)
  left=$((TOTAL - (started - T0)))
  [ "$budget" -gt "$left" ] && budget=$left
  STATUS=FAIL
  KEY=""
  section "$name"
  if [ "$budget" -lt 5 ]; then
    STATUS=SKIPPED
    KEY="no time left in the ${TOTAL} s budget"
    note "$KEY"
  else
    BUDGET=$budget
    "$fn"
  fi
  [ "$STATUS" = PASS ] || failures=$((failures + 1))
  echo "| $name | $STATUS | $(($(date +%s) - started)) s | ${KEY//|//} |" >>"$ROWS"
  write_report
}

# status_of RC: TIMEOUT for timeout(1)'s codes, else PASS or FAIL.
status_of() {
  case "$1" in
    0) echo PASS ;;
    124 | 137) echo TIMEOUT ;;
    *) echo FAIL ;;
  esac
}

# ---------------------------------------------------------------- unpack
step_unpack() {
  local rc
  if command -v xz >/dev/null; then
    tmo "$BUDGET" tar -C "$WORK" -xJf "$HERE/posenet-gpu.tar.xz" 2>"$OUT/unpack.log"
  elif [ -n "$PY" ]; then  # Python's tarfile reads xz too
    tmo "$BUDGET" "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
      "$HERE/posenet-gpu.tar.xz" "$WORK" 2>"$OUT/unpack.log"
  else
    echo "neither xz nor Python found" >"$OUT/unpack.log"
    false
  fi
  rc=$?
  STATUS=$(status_of $rc)
  if [ $rc = 0 ] && [ -x "$B/bin/posenet_tests" ]; then
    KEY="$(du -sm "$B" | cut -f1) MiB in $WORK"
    fence <"$B/BUNDLE_INFO" >>"$SECTIONS"
  else
    STATUS=FAIL
    KEY="could not unpack $HERE/posenet-gpu.tar.xz"
    log_tail "$OUT/unpack.log" >>"$SECTIONS"
  fi
  echo >>"$SECTIONS"
}

# ---------------------------------------------------------------- environment
# Every site-packages folder of every Python at hand, without importing
# torch: the wheels' libraries are wanted even where torch fails to load.
site_dirs() {
  local py
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

CUDA_SEEN=0
step_environment() {
  local d libdirs=() smi missing
  {
    echo "- host: $(uname -srm), $(nproc) CPUs, $(ldd --version 2>&1 | head -1)"
    if command -v nvidia-smi >/dev/null; then
      smi=$(tmo 10 nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>&1 | head -4)
      echo "- GPU: ${smi:-none listed}"
      echo "- driver supports CUDA: $(tmo 10 nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
    else
      echo "- nvidia-smi: not found (no NVIDIA driver on this machine)"
    fi
    echo "- Python: ${PY:-none}$([ -n "$PY" ] && "$PY" -c 'import sys; print(" " + sys.version.split()[0])')"
    if [ -n "$PY" ]; then
      echo "- wheels: $("$PY" - 2>/dev/null <<'PY'
import importlib.metadata as m
names = sorted({d.metadata["Name"] for d in m.distributions()
                if d.metadata["Name"] and (d.metadata["Name"].lower() in ("torch", "torchvision")
                                           or d.metadata["Name"].lower().startswith("nvidia-"))})
print(", ".join(f"{n} {m.version(n)}" for n in names) or "none")
PY
)"
    fi
  } >>"$SECTIONS"
  while IFS= read -r d; do
    for lib in "$d"/nvidia/*/lib; do [ -d "$lib" ] && libdirs+=("$lib"); done
  done < <(site_dirs)
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do [ -d "$d" ] && libdirs+=("$d"); done
  if [ ${#libdirs[@]} -gt 0 ]; then
    LD_LIBRARY_PATH=$(printf '%s\n' "${libdirs[@]}" | awk '!seen[$0]++' | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
  fi
  {
    echo "- LD_LIBRARY_PATH: \`${LD_LIBRARY_PATH:-}\`"
    echo
    echo "Where the bundle's binaries find their libraries (CUDA ones from the machine, the rest from the bundle):"
    echo
    ldd "$B/bin/posenet_tests" "$B/bin/posenet-bench" 2>&1 | grep -E '=>' | sed 's/ (0x[0-9a-f]*)$//' | sort -u |
      grep -E 'not found|cud|cublas|nccl|nvrtc|nvJitLink' | fence
    echo
  } >>"$SECTIONS"
  missing=$(ldd "$B/bin/posenet_tests" "$B/bin/posenet-bench" "$B/bin/posenet" 2>&1 |
    awk '/not found/ { print $1 }' | sort -u | paste -sd' ')
  # posenet's own view: a CUDA test skips with the reason when it sees no device.
  tmo "$BUDGET" "$B/bin/posenet_tests" --gtest_filter=CudaDevice.WorkForASecondDeviceRunsThere >"$OUT/probe.log" 2>&1
  local why
  why=$(sed -n 's/.*CUDA parity not run: //p' "$OUT/probe.log" | head -1)
  if grep -q '^\[       OK \] CudaDevice.WorkForASecondDeviceRunsThere' "$OUT/probe.log"; then
    CUDA_SEEN=1
  fi
  if [ -n "$missing" ]; then
    KEY="libraries not found: $missing (see BUNDLE_INFO above for the versions the build needs)"
  elif [ $CUDA_SEEN = 1 ]; then
    STATUS=PASS
    KEY="$(printf '%s' "${smi:-?}" | head -1)"
  else
    KEY="CUDA unavailable to posenet: ${why:-see probe.log}"
    log_tail "$OUT/probe.log" 15 >>"$SECTIONS"
  fi
  note "posenet sees a CUDA device: $([ $CUDA_SEEN = 1 ] && echo yes || echo "no (${why:-probe failed, see probe.log})")"
}

# ---------------------------------------------------------------- gtest steps
# gtest_summary LOG: sets G_PASSED, G_FAILED, G_SKIPPED and G_SUMMARY
# ("P passed, F failed, S skipped").
gtest_summary() {
  G_PASSED=$(grep -c '^\[       OK \]' "$1")
  # Per-test result lines end in "(N ms)"; the closing summary's do not.
  G_FAILED=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$1")
  G_SKIPPED=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$1")
  G_SUMMARY="$G_PASSED passed, $G_FAILED failed, $G_SKIPPED skipped"
}

gtest_details() {  # LOG RC: gtest's closing summary, the reason for skips, the first lines of each failure
  sed -n '/^\[==========\] .* ran\./,$p' "$1" | head -60 | fence
  echo
  if [ "$G_SKIPPED" != 0 ]; then
    echo "Skipped because: $(grep -m1 -A1 ': Skipped$' "$1" | tail -1)"
    echo
  fi
  if [ "$2" != 0 ]; then
    grep -B2 -A12 -E 'Failure$|what\(\)|terminate called|Segmentation|Aborted' "$1" | head -150 | fence
    grep -qE '^\[  (PASSED|FAILED) ' "$1" || log_tail "$1" 40
    echo
  fi
}

# has_test SUITE NAME: the test binary has SUITE.NAME or a parameterized
# instance of it (SUITE/Fixture.NAME/case, as the op table names its rows).
has_test() {
  tmo 20 "$B/bin/posenet_tests" --gtest_list_tests --gtest_filter="$1*.$2:$1*.$2/*:*/$1*.$2/*" 2>/dev/null |
    grep -qE "^  $2(/| |$)"
}

# TrainCuda runs the CLI from the build tree's path; step_train covers it here.
PARITY_FILTER='OpTable*BackendsMatchCpu*:*Cuda*:TrainCuda.*:TrainCudaGraph.*:Precision.*:DeconvK4s2.*:FoldBatchNorm.*:TrainStepper.*-BadInput.*'
step_parity() {
  local rc
  (cd "$WORK" && CUDA_LAUNCH_BLOCKING=1 tmo "$BUDGET" "$B/bin/posenet_tests" --gtest_filter="$PARITY_FILTER") \
    >"$OUT/parity.log" 2>&1
  rc=$?
  gtest_summary "$OUT/parity.log"
  STATUS=$(status_of $rc)
  [ "$STATUS" = PASS ] && { [ "$G_SKIPPED" != 0 ] || [ "$G_PASSED" = 0 ]; } && STATUS=FAIL
  KEY=$G_SUMMARY
  has_test OpTable BackendsMatchCpu || KEY="$KEY; OpTable.BackendsMatchCpu is not in this build"
  note "\`--gtest_filter='$PARITY_FILTER'\`, CUDA_LAUNCH_BLOCKING=1: exit code $rc; $G_SUMMARY (a skipped test is a failure here)."
  gtest_details "$OUT/parity.log" $rc >>"$SECTIONS"
}

step_op_perf() {
  local rc table=$OUT/optable_perf.md
  if ! has_test OpTable Perf; then
    KEY="OpTable.Perf is not in this build"
    note "$KEY"
    return
  fi
  (cd "$WORK" && POSENET_OPTABLE_PERF=1 POSENET_OPTABLE_PERF_OUT="$table" tmo "$BUDGET" \
    "$B/bin/posenet_tests" --gtest_filter=OpTable.Perf) >"$OUT/optable_perf.log" 2>&1
  rc=$?
  gtest_summary "$OUT/optable_perf.log"
  STATUS=$(status_of $rc)
  if [ "$STATUS" = PASS ] && { [ "$G_SKIPPED" != 0 ] || [ ! -s "$table" ]; }; then STATUS=FAIL; fi
  if [ -s "$table" ]; then
    KEY="$(grep -c '^|' "$table") table lines"
    cat "$table" >>"$SECTIONS"
    echo >>"$SECTIONS"
  else
    KEY="no perf table written"
  fi
  [ "$STATUS" = PASS ] || gtest_details "$OUT/optable_perf.log" $rc >>"$SECTIONS"
}

# ---------------------------------------------------------------- posenet-bench
# bench NAME FILTER: posenet-bench's benchmarks matching FILTER into OUT/NAME.{log,json}.
bench() {
  (cd "$WORK" && tmo "$BUDGET" "$B/bin/posenet-bench" --benchmark_filter="$2" --benchmark_min_time=0.1 \
    --benchmark_format=console --benchmark_counters_tabular=true \
    --benchmark_out="$OUT/$1.json" --benchmark_out_format=json) >"$OUT/$1.log" 2>&1
}

# bench_table JSON KIND: a markdown table of the JSON's results, and the key
# numbers on the last line (prefixed "KEY:").
bench_table() {
  if [ -z "$PY" ] || [ ! -s "$1" ]; then
    echo "KEY:no results (see the log)"
    return
  fi
  "$PY" - "$1" "$2" <<'PY' || echo "KEY:the JSON could not be read (the run was cut short?)"
import json, statistics, sys
rows = [b for b in json.load(open(sys.argv[1])).get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
kind = sys.argv[2]
errors = [b for b in rows if b.get("error_occurred")]
ok = [b for b in rows if not b.get("error_occurred")]
if kind == "kernels":
    print("| benchmark | time (us) | GB/s | share of copy bandwidth | TFLOP/s |")
    print("|---|---:|---:|---:|---:|")
    for b in rows:
        if b.get("error_occurred"):
            print(f"| {b['name']} | error: {b.get('error_message', '?')} | | | |")
            continue
        us = b["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        tflops = b.get("TFLOP/s", b.get("FLOP", 0) / 1e12)
        share = f"{b['copy_share']:.0%}" if "copy_share" in b else ""
        print(f"| {b['name']} | {us:.1f} | {b.get('GB/s', 0):.0f} | {share} | {tflops:.1f} |")
    copy = [b["GB/s"] for b in ok if b["name"].startswith("BM_CudaCopyBandwidth")]
    shares = [b["copy_share"] for b in ok if "copy_share" in b]
    convs = [b.get("FLOP", 0) / 1e12 for b in ok if b["name"].startswith("conv_cuda_")]
    key = [f"copy {copy[0]:.0f} GB/s" if copy else "no copy bandwidth"]
    if shares:
        key.append(f"kernels at {min(shares):.0%}..{max(shares):.0%} of it (median {statistics.median(shares):.0%})")
    if convs:
        key.append(f"conv up to {max(convs):.1f} TFLOP/s")
else:
    print("| benchmark | ms/step | img/s | peak MiB |")
    print("|---|---:|---:|---:|")
    key = []
    for b in rows:
        if b.get("error_occurred"):
            print(f"| {b['name']} | error: {b.get('error_message', '?')} | | |")
            continue
        ms = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        print(f"| {b['name']} | {ms:.1f} | {b['img/s']:.1f} | {b['peak_MiB']:.0f} |")
        key.append(f"{b['name'].split('/')[2]}: {b['img/s']:.0f} img/s, {b['peak_MiB']:.0f} MiB")
if errors:
    key.append(f"{len(errors)} failed")
if not rows:
    key = ["no results"]
print("KEY:" + "; ".join(key))
PY
}

# bench_step NAME FILTER KIND
bench_step() {
  local rc out
  bench "$1" "$2"
  rc=$?
  STATUS=$(status_of $rc)
  out=$(bench_table "$OUT/$1.json" "$3")
  KEY=$(printf '%s\n' "$out" | sed -n 's/^KEY://p')
  if grep -q 'Failed to match any benchmarks' "$OUT/$1.log"; then
    KEY="no such benchmarks registered: posenet-bench saw no CUDA device"
  fi
  case "$KEY" in *failed* | no*) [ "$STATUS" = PASS ] && STATUS=FAIL ;; esac
  note "\`posenet-bench --benchmark_filter='$2'\`: exit code $rc (full output: $1.log, $1.json)"
  printf '%s\n' "$out" | grep -v '^KEY:' >>"$SECTIONS"
  echo >>"$SECTIONS"
  [ "$STATUS" = PASS ] || log_tail "$OUT/$1.log" 20 >>"$SECTIONS"
}
step_kernels() { bench_step bench_kernels '^(BM_Cuda|conv_cuda_)' kernels; }
step_train_steps() { bench_step bench_train_steps '^train_step/cuda/' train; }

# ---------------------------------------------------------------- PyTorch
step_pytorch() {
  local rc
  if [ -z "$PY" ] || ! "$PY" -c 'import torch, torchvision' >"$OUT/pytorch.log" 2>&1; then
    STATUS=SKIPPED
    KEY="no Python with torch and torchvision (the reference models use torchvision's blocks)"
    note "$KEY"
    log_tail "$OUT/pytorch.log" 5 >>"$SECTIONS"
    return
  fi
  (cd "$B/src" && tmo "$BUDGET" "$PY" bench/pytorch_train_step.py --device cuda --steps 10 \
    --modes tf32,amp-bf16-channels-last) >"$OUT/pytorch.log" 2>&1
  rc=$?
  STATUS=$(status_of $rc)
  KEY=$(sed -n 's/^pytorch \([^ ]*\) .* cuda \([^:]*\): .* \([0-9.]*\) img\/s, peak \([0-9]*\) MiB/\1 \2: \3 img\/s, \4 MiB/p' \
    "$OUT/pytorch.log" | paste -sd';' | sed 's/;/; /g')
  [ -n "$KEY" ] || KEY="no rows"
  note "\`bench/pytorch_train_step.py --device cuda --steps 10 --modes tf32,amp-bf16-channels-last\`: exit code $rc"
  fence <"$OUT/pytorch.log" >>"$SECTIONS"
  echo >>"$SECTIONS"
}

# ---------------------------------------------------------------- posenet train
# first_loss LOG: the loss of the first step in a run's log.jsonl.
first_loss() { grep -m1 '"type":"step"' "$1" 2>/dev/null | sed -n 's/.*"loss":\([-0-9.eE+]*\).*/\1/p'; }
last_loss() { grep '"type":"step"' "$1" 2>/dev/null | tail -1 | sed -n 's/.*"loss":\([-0-9.eE+]*\).*/\1/p'; }

step_train() {
  local rc rc_cpu gpu cpu last config=$B/src/configs/gpu_check_tiny.toml
  # The CPU comparison after it gets 20 s of the step's time.
  (cd "$WORK" && tmo $((BUDGET > 40 ? BUDGET - 20 : 20)) "$B/bin/posenet" train --config "$config" --progress false \
    --out "$WORK/train_cuda") \
    >"$OUT/train_cuda.log" 2>&1
  rc=$?
  cp "$WORK/train_cuda/log.jsonl" "$OUT/train_cuda.jsonl" 2>/dev/null
  STATUS=$(status_of $rc)
  gpu=$(first_loss "$OUT/train_cuda.jsonl")
  last=$(last_loss "$OUT/train_cuda.jsonl")
  note "\`posenet train --config gpu_check_tiny.toml\` (bundle's src/configs): exit code $rc, first loss ${gpu:-none}, last ${last:-none}"
  log_tail "$OUT/train_cuda.log" 15 >>"$SECTIONS"
  KEY="loss ${gpu:-?} -> ${last:-?}"
  if [ "$STATUS" != PASS ]; then
    KEY="$KEY; $(grep -m1 'error' "$OUT/train_cuda.log")"
    return
  fi
  # The same first step on the CPU: same seed, same data, same weights.
  (cd "$WORK" && tmo 20 "$B/bin/posenet" train --config "$config" --device cpu --epochs 1 --max-steps 2 \
    --val-every 0 --progress false --out "$WORK/train_cpu") >"$OUT/train_cpu.log" 2>&1
  rc_cpu=$?
  cp "$WORK/train_cpu/log.jsonl" "$OUT/train_cpu.jsonl" 2>/dev/null
  cpu=$(first_loss "$OUT/train_cpu.jsonl")
  if [ -z "$cpu" ] || [ -z "$gpu" ]; then
    STATUS=FAIL
    KEY="$KEY; no first loss to compare (CPU run exit code $rc_cpu)"
  elif awk -v a="$gpu" -v b="$cpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-2 * (b < 0 ? -b : b) + 1e-6) }'; then
    KEY="$KEY; first loss matches the CPU's ($cpu)"
  else
    STATUS=FAIL
    KEY="$KEY; first loss differs from the CPU's ($cpu, tolerance 1%)"
  fi
  note "first step on the CPU: loss ${cpu:-none} (exit code $rc_cpu; TF32 convolutions on the GPU, so equal to about 1e-3)"
}

# The tiny run's first two steps on the GPU with other settings (ENV and
# ARGS), their first loss against the CPU's from step_train.
variant_first_loss() {
  local name=$1 env=$2 args=$3 rc gpu cpu
  cpu=$(first_loss "$OUT/train_cpu.jsonl")
  (cd "$WORK" && tmo $((BUDGET / 2)) env $env "$B/bin/posenet" train --config "$B/src/configs/gpu_check_tiny.toml" \
    --epochs 1 --max-steps 2 --val-every 0 --progress false $args --out "$WORK/train_$name") \
    >"$OUT/train_$name.log" 2>&1
  rc=$?
  cp "$WORK/train_$name/log.jsonl" "$OUT/train_$name.jsonl" 2>/dev/null
  gpu=$(first_loss "$OUT/train_$name.jsonl")
  note "\`$env posenet train ... $args\`: exit code $rc, first loss ${gpu:-none} (CPU fp32: ${cpu:-none})"
  log_tail "$OUT/train_$name.log" 8 >>"$SECTIONS"
  if [ $rc != 0 ] || [ -z "$gpu" ] || [ -z "$cpu" ]; then
    STATUS=FAIL
    KEY="$KEY; $name: exit code $rc, first loss ${gpu:-none}"
  elif awk -v a="$gpu" -v b="$cpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-2 * (b < 0 ? -b : b) + 1e-6) }'; then
    KEY="$KEY; $name: first loss $gpu matches the CPU's"
  else
    STATUS=FAIL
    KEY="$KEY; $name: first loss $gpu differs from the CPU's $cpu by more than 1%"
  fi
}

step_train_variants() {
  STATUS=PASS
  KEY=""
  variant_first_loss bf16 "" "--precision bf16"
  variant_first_loss hand_deconv "POSENET_DECONV=hand" ""
}

run_step unpack 20 step_unpack
if [ ! -x "$B/bin/posenet_tests" ]; then
  echo "| (every other step) | SKIPPED | 0 s | the bundle could not be unpacked |" >>"$ROWS"
  failures=$((failures + 1))
  write_report
  echo "report: $REPORT"
  exit 1
fi
run_step environment 30 step_environment
run_step parity 95 step_parity
run_step "op perf" 45 step_op_perf
run_step "kernels (posenet-bench)" 60 step_kernels
run_step "train steps (posenet-bench)" 70 step_train_steps
run_step "pytorch" 85 step_pytorch
run_step "train --device cuda" 60 step_train
run_step "train bf16, hand deconvolution" 40 step_train_variants
[ $CUDA_SEEN = 1 ] || sed -i '0,/^| step |/s//**posenet saw no usable CUDA device: every CUDA step below failed or was skipped.**\n\n&/' "$REPORT"
echo "report: $REPORT ($failures step(s) not passed)"
[ $failures = 0 ]
