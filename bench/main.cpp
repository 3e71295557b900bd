// posenet-bench: kernel microbenchmarks (Google Benchmark).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
