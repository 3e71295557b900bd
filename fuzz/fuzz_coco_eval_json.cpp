// COCO keypoint evaluation files (eval/coco_json.h): the input is read as a
// keypoint results file and as person detection boxes, against a fixed small
// set of annotations, and as annotations, scored with no detections. Each read either fails with an
// InputError naming the file or yields numbers the evaluation scores into
// fractions in [0, 1] (or -1, where no person counts).
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "eval/coco_eval.h"
#include "eval/coco_json.h"
#include "fuzz/fuzz_util.h"

namespace {

using namespace posenet;

// Two images, one person with 3 labelled keypoints, one crowd region.
constexpr const char* kAnnotations = R"({"images":[{"id":1},{"id":2}],
"categories":[{"id":1,"keypoints":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}],
"annotations":[
{"id":5,"image_id":1,"category_id":1,"num_keypoints":3,"area":4000,"iscrowd":0,"bbox":[10,10,50,100],
 "keypoints":[20,20,2,30,20,2,25,40,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]},
{"id":6,"image_id":2,"category_id":1,"num_keypoints":0,"area":9000,"iscrowd":1,"bbox":[0,0,90,100],
 "keypoints":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]})";

void check_stats(const eval::CocoStats& s) {
  for (double v : s.values)
    if (!(v == -1 || (v >= 0 && v <= 1))) {
      std::fprintf(stderr, "COCO number out of range: %g\n", v);
      std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const eval::CocoGroundTruth fixed_gt = [] {
    const auto p = fuzz::write_input(reinterpret_cast<const uint8_t*>(kAnnotations), std::strlen(kAnnotations),
                                     "annotations.json");
    return eval::read_coco_ground_truth(p);
  }();
  const auto input = fuzz::write_input(data, size, "input.json");
  for (const bool skip_bad : {false, true}) {
    eval::CocoLoadOptions options;
    options.skip_bad = skip_bad;
    try {
      const eval::CocoResults res = eval::read_coco_results(input, fixed_gt, options);
      check_stats(eval::evaluate_coco_keypoints(fixed_gt, res.detections));
    } catch (const InputError& e) {
      fuzz::check_error_names(e, input.string());
    }
    try {  // as a person detector's boxes
      for (const eval::CocoPersonBox& b : eval::read_coco_person_boxes(input, fixed_gt, 0.0, options).boxes)
        if (!(b.bbox[2] > 0 && b.bbox[3] > 0 && std::isfinite(b.score))) {
          std::fprintf(stderr, "person box without area or with a non-finite score\n");
          std::abort();
        }
    } catch (const InputError& e) {
      fuzz::check_error_names(e, input.string());
    }
    try {
      const eval::CocoGroundTruth gt = eval::read_coco_ground_truth(input, options);
      check_stats(eval::evaluate_coco_keypoints(gt, {}));
    } catch (const InputError& e) {
      fuzz::check_error_names(e, input.string());
    }
  }
  return 0;
}
