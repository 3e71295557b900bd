// MPII .mat readers (gt_valid.mat and pred.mat layouts): any file is either
// refused with an InputError naming it or read into consistent arrays, which
// posenet's writers then write back to files that read back the same.
#include <cmath>
#include <cstdlib>

#include "eval/mat_io.h"
#include "fuzz/fuzz_util.h"

using namespace posenet;

namespace {

bool same_point(const eval::Point2& a, const eval::Point2& b) {
  // NaN coordinates stay NaN through the writer and the reader.
  auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return same(a.x, b.x) && same(a.y, b.y);
}

void ground_truth(const std::filesystem::path& path) {
  eval::GroundTruth gt;
  try {
    gt = eval::read_ground_truth_mat(path);
  } catch (const InputError& e) {
    fuzz::check_error_names(e, path.string());
    return;
  }
  if (gt.missing.size() != gt.size() || gt.headboxes.size() != gt.size()) std::abort();
  const auto copy = fuzz::scratch_dir() / "written_gt.mat";
  eval::write_ground_truth_mat(copy, gt);
  const auto again = eval::read_ground_truth_mat(copy);
  if (again.size() != gt.size()) std::abort();
  for (size_t i = 0; i < gt.size(); ++i) {
    if (again.missing[i] != gt.missing[i]) std::abort();
    const auto& a = again.headboxes[i];
    const auto& b = gt.headboxes[i];
    if (!same_point({a.x1, a.y1}, {b.x1, b.y1}) || !same_point({a.x2, a.y2}, {b.x2, b.y2})) std::abort();
    for (int j = 0; j < eval::kMpiiJointCount; ++j)
      if (!same_point(again.joints[i][size_t(j)], gt.joints[i][size_t(j)])) std::abort();
  }
}

void predictions(const std::filesystem::path& path) {
  eval::Predictions preds;
  try {
    preds = eval::read_predictions_mat(path);
  } catch (const InputError& e) {
    fuzz::check_error_names(e, path.string());
    return;
  }
  const auto copy = fuzz::scratch_dir() / "written_pred.mat";
  eval::write_predictions_mat(copy, preds);
  const auto again = eval::read_predictions_mat(copy);
  if (again.size() != preds.size()) std::abort();
  for (size_t i = 0; i < preds.size(); ++i)
    for (int j = 0; j < eval::kMpiiJointCount; ++j)
      if (!same_point(again[i][size_t(j)], preds[i][size_t(j)])) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input(data, size, "input.mat");
  ground_truth(path);
  predictions(path);
  return 0;
}
