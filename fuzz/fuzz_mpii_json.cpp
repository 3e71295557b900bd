// MPII JSON annotations (list of {image, center, scale, joints, joints_vis}): see annotation_fuzz.h.
#include "fuzz/annotation_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  posenet::fuzz::run_loader(&posenet::train::load_mpii_json, data, size, "mpii.json");
  return 0;
}
