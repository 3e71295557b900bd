#include "cli/coco_eval_command.h"

#include <iostream>

#include "eval/coco_eval.h"
#include "eval/coco_json.h"

namespace posenet::cli {

void eval_coco_results_file(const std::string& results, const std::string& annotations, bool json, bool skip_bad) {
  eval::CocoLoadOptions options;
  options.skip_bad = skip_bad;
  const eval::CocoGroundTruth gt = eval::read_coco_ground_truth(annotations, options);
  const eval::CocoResults res = eval::read_coco_results(results, gt, options);
  for (const auto* skipped : {&gt.skipped, &res.skipped})
    for (const std::string& reason : *skipped) std::cerr << "skipped: " << reason << "\n";
  const eval::CocoStats stats = eval::evaluate_coco_keypoints(gt, res.detections);
  if (json) {
    std::cout << stats.to_json().dump() << "\n";
    return;
  }
  std::cout << "COCO keypoints, OKS AP/AR (%), " << res.detections.size() << " detections, " << gt.persons.size()
            << " annotations on " << gt.image_ids.size() << (gt.image_ids.size() == 1 ? " image\n" : " images\n");
  eval::print_coco_table(std::cout, stats);
}

}  // namespace posenet::cli
