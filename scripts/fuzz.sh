#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/, replays
# the committed corpus (fuzz/corpus/<target>/: seeds and the inputs of every
# crash found so far), then fuzzes each target for FUZZ_SECONDS. Fails when
# any input crashes, leaks, trips a sanitizer, times out or runs out of
# memory. Crash inputs are left in build-fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [target ...]      (default: every target built)
#
# FUZZ_SECONDS (default 60) per target; FUZZ_JOBS targets at a time
# (default: the number of cores); BUILD_DIR overrides build-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
# A fixed seed and a bounded number of runs make the fuzzing pass
# reproducible: CI explores exactly the inputs explored here (the time limit
# only cuts it short on a slow machine, which explores a prefix of them).
# FUZZ_RUNS=0 fuzzes for the whole FUZZ_SECONDS with a random seed.
RUNS=${FUZZ_RUNS:-30000}
SEED=${FUZZ_SEED:-1}
JOBS=${FUZZ_JOBS:-$(nproc)}
# Per input: a parser that needs more than this is a bug (a hang or a blow-up).
TIMEOUT_S=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DPOSENET_FUZZ=ON -DPOSENET_CUDA=OFF -DPOSENET_BUILD_TESTS=OFF -DPOSENET_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --parallel "$(nproc)" --target fuzz_all

if [ $# -gt 0 ]; then
  targets=("$@")
else
  read -r -a targets <<<"$(tr ';' ' ' <"$BUILD/fuzz_targets.txt")"
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets built"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# The parsers are single-threaded; OpenMP/OpenBLAS pools only add noise.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
COMMON=(-timeout="$TIMEOUT_S" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -print_final_stats=0)

LOGS="$BUILD/logs"
mkdir -p "$LOGS"

# Options of one target. matio 1.5.23 and stb_image 2.27 are C libraries
# that ask malloc for whatever size a corrupt header declares and check for
# NULL; in a real run glibc refuses the impossible sizes and the file is
# reported as corrupt. There those requests get NULL as well (instead of a
# report); what memory a parse really uses stays capped by -rss_limit_mb, and
# posenet's own C++ allocations (operator new) are still reported.
options_for() {
  case "$1" in
    fuzz_mat_io) echo "-malloc_limit_mb=1048576" ;;
    # Decoding an image of up to the 50-megapixel limit takes seconds under
    # the instrumentation.
    fuzz_image) echo "-malloc_limit_mb=1048576 -timeout=60" ;;
    *) ;;
  esac
}

dict_for() {  # a libFuzzer dictionary per input kind, when there is one
  case "$1" in
    fuzz_*json) echo "-dict=$ROOT/fuzz/dict/json.dict" ;;
    fuzz_safetensors) echo "-dict=$ROOT/fuzz/dict/safetensors.dict" ;;
    fuzz_image) echo "-dict=$ROOT/fuzz/dict/image.dict" ;;
    fuzz_train_config) echo "-dict=$ROOT/fuzz/dict/toml.dict" ;;
    *) ;;
  esac
}

# 1. Regression: every committed input once, no mutation.
failed=()
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/${t#fuzz_}"
  [ -d "$corpus" ] || { echo "fuzz: $t has no corpus in $corpus"; failed+=("$t (no corpus)"); continue; }
  mapfile -t inputs < <(find "$corpus" -type f | sort)
  # shellcheck disable=SC2046
  if "$BUILD/fuzz/$t" "${COMMON[@]}" $(options_for "$t") "${inputs[@]}" >"$LOGS/$t.replay.log" 2>&1; then
    echo "fuzz: $t: corpus replayed (${#inputs[@]} inputs)"
  else
    echo "fuzz: $t: corpus replay FAILED (log: $LOGS/$t.replay.log)"
    tail -40 "$LOGS/$t.replay.log"
    failed+=("$t (replay)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then printf 'fuzz: failed: %s\n' "${failed[@]}"; exit 1; fi

# 2. Fuzzing: new inputs go to a scratch corpus seeded from the committed one.
run_one() {
  local t=$1 corpus="fuzz/corpus/${1#fuzz_}" work="$BUILD/work/${1#fuzz_}" artifacts="$BUILD/artifacts/${1#fuzz_}/"
  rm -rf "$work"
  mkdir -p "$work" "$artifacts"
  # shellcheck disable=SC2046
  local bound=()
  if [ "$RUNS" -gt 0 ]; then bound=(-runs="$RUNS" -seed="$SEED"); fi
  "$BUILD/fuzz/$t" "${COMMON[@]}" "${bound[@]}" -max_total_time="$SECONDS_PER_TARGET" -artifact_prefix="$artifacts" \
    $(dict_for "$t") $(options_for "$t") "$work" "$corpus" >"$LOGS/$t.log" 2>&1
}
pids=() names=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  run_one "$t" &
  pids+=($!) names+=("$t")
done
for i in "${!pids[@]}"; do
  t=${names[$i]}
  if wait "${pids[$i]}"; then
    echo "fuzz: $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$LOGS/$t.log" | tail -1 || true)s, $(find "$BUILD/work/${t#fuzz_}" -type f | wc -l) new inputs kept"
  else
    echo "fuzz: $t: FAILED (log: $LOGS/$t.log, inputs: $BUILD/artifacts/${t#fuzz_}/)"
    grep -E 'ERROR|SUMMARY|Test unit written|error message' "$LOGS/$t.log" | head -20 || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then printf 'fuzz: failed: %s\n' "${failed[@]}"; exit 1; fi
echo "fuzz: all ${#targets[@]} targets clean (${SECONDS_PER_TARGET}s each)"
