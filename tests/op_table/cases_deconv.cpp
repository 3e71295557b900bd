// Op table rows: the decoder's 4x4 stride-2 padding-1 deconvolution, which
// CUDA runs through cuDNN or through the hand-written kernels
// (kernels/cuda/deconv.h); every row is compared to the CPU under both, its
// forward, backward-data and backward-weight passes. Channel counts below,
// at and above the kernels' 64-wide tiles and 16-deep reduction steps, batch
// 1 and 2, odd and even spatial sizes.
#include "kernels/conv.h"
#include "op_case.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/deconv.h"
#endif

namespace posenet::optable {

namespace {

std::vector<BackendSetting> deconv_settings() {
#ifdef POSENET_WITH_CUDA
  using kernels::cuda::DeconvBackend;
  auto through = [](DeconvBackend backend) {
    return [backend] {
      const DeconvBackend saved = kernels::cuda::deconv_backend();
      kernels::cuda::set_deconv_backend(backend);
      return std::function<void()>([saved] { kernels::cuda::set_deconv_backend(saved); });
    };
  };
  return {{"deconvolution through cuDNN", through(DeconvBackend::CuDNN)},
          {"deconvolution by hand", through(DeconvBackend::Hand)}};
#else
  return {};
#endif
}

}  // namespace

std::vector<OpCase> deconv_k4s2_cases() {
  const auto k4s2 = ops::ConvTranspose2dParams::square(2, 1);
  struct Shape4 {
    Shape x;
    int64_t cout;
    bool bias;
  };
  const std::vector<Shape4> shapes{
      {{1, 1, 1, 1}, 1, false},    // one pixel: every tap but the centre four falls in padding
      {{2, 3, 5, 3}, 2, true},     // odd spatial sizes, tiny channels
      {{1, 7, 9, 17}, 5, false},   // 4 * 17 = 68: a reduction step that is not full
      {{2, 5, 7, 70}, 33, true},   // Cin over one tile, 16 * Cout = 528 weight columns
      {{2, 6, 6, 64}, 64, true},   // exact tiles
      {{1, 9, 8, 24}, 130, false}, // Cout over two column tiles
  };
  std::vector<OpCase> rows;
  for (const Shape4& s : shapes) {
    OpCase row = deconv_row("4x4 s2 p1 Cout" + std::to_string(s.cout), s.x, 4, 4, s.cout, k4s2, s.bias);
    row.backend_settings = deconv_settings();
    row.finite_differences = s.x[3] * s.cout <= 64;  // the larger rows are too slow for it
    row.f32 = {1e-4, 1e-4};
    rows.push_back(row);
  }
  // The perf mode times both backends on simplebaseline:r50's first
  // deconvolution at batch 32 (bench/bench_deconv.cpp covers all three).
  OpCase perf = deconv_row("4x4 s2 p1 decoder-perf", {1, 2, 3, 8}, 4, 4, 8, k4s2, false, {32, 8, 8, 2048}, 256);
  perf.backend_settings = deconv_settings();
  perf.finite_differences = false;
  rows.push_back(perf);
  return rows;
}

}  // namespace posenet::optable
