// Fixed partition of a long loop into chunks for deterministic parallel
// reductions: the chunk boundaries depend only on the problem size, each
// chunk is reduced sequentially (by whichever thread), and the per-chunk
// partials are combined in chunk order, so results are bit-identical for
// any OMP_NUM_THREADS.
#pragma once
#include <algorithm>
#include <cstdint>

namespace posenet::kernels::cpu {

struct FixedChunks {
  int64_t total = 0;  // items (rows) to split
  int64_t size = 1;   // items per chunk (the last one may be shorter)
  int64_t count = 0;  // number of chunks

  // At most max_chunks chunks of at least min_size items.
  FixedChunks(int64_t items, int64_t min_size, int64_t max_chunks) : total(items) {
    size = std::max<int64_t>(min_size, (items + max_chunks - 1) / max_chunks);
    size = std::max<int64_t>(size, 1);
    count = items == 0 ? 0 : (items + size - 1) / size;
  }
  int64_t begin(int64_t chunk) const { return chunk * size; }
  int64_t end(int64_t chunk) const { return std::min(total, (chunk + 1) * size); }
};

}  // namespace posenet::kernels::cpu
