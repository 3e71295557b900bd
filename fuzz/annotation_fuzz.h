// The shared body of the annotation-loader fuzz targets: the input is the
// annotation JSON; a loader either refuses it with an InputError naming the
// file, or returns samples whose numbers are usable by the input pipeline.
#pragma once
#include <cmath>
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "train/dataset.h"

namespace posenet::fuzz {

using Loader = train::Dataset (*)(const std::filesystem::path&, const std::filesystem::path&,
                                  const train::LoadOptions&);

inline bool finite(const train::Point2& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

// What the crop, augmentation and target code rely on.
inline void check_samples(const train::Dataset& ds, const std::filesystem::path& json) {
  for (const auto& s : ds.samples) {
    if (s.source != json.string() || s.source_index < 0) std::abort();
    if (!finite(s.center) || !std::isfinite(s.scale) || !(s.scale > 0)) {
      std::fprintf(stderr, "entry %lld: center (%g, %g) scale %g\n", (long long)s.source_index, s.center.x,
                   s.center.y, s.scale);
      std::abort();
    }
    for (int j = 0; j < train::kNumJoints; ++j) {
      const float w = s.weight[size_t(j)];
      if (!(w == 0.0f || w == 1.0f)) std::abort();
      if (w > 0 && !finite(s.joints[size_t(j)])) {
        std::fprintf(stderr, "entry %lld: joint %d is not finite\n", (long long)s.source_index, j);
        std::abort();
      }
    }
    if (s.headbox && (!finite({s.headbox->x1, s.headbox->y1}) || !finite({s.headbox->x2, s.headbox->y2}))) std::abort();
  }
}

inline void run_loader(Loader load, const uint8_t* data, size_t size, const char* name) {
  const auto json = write_input(data, size, name);
  const auto images = scratch_dir() / "images";
  // Strict: the first bad entry fails the whole file.
  try {
    check_samples(load(json, images, {}), json);
  } catch (const InputError& e) {
    check_error_names(e, json.string());
  }
  // Lenient: bad entries are skipped with a reason; only a file that is not
  // an annotation list at all may still fail.
  train::LoadOptions lenient;
  lenient.skip_bad = true;
  lenient.log_skipped = false;
  try {
    const auto ds = load(json, images, lenient);
    check_samples(ds, json);
    for (const auto& reason : ds.skipped)
      if (reason.find(json.string()) == std::string::npos) std::abort();
  } catch (const InputError& e) {
    check_error_names(e, json.string());
  }
}

}  // namespace posenet::fuzz
