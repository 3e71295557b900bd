// COCO person keypoints: see annotation_fuzz.h.
#include "fuzz/annotation_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  posenet::fuzz::run_loader(&posenet::train::load_coco_keypoints, data, size, "coco.json");
  return 0;
}
