#include "cli/coco_eval_command.h"

#include <iostream>

#include "cli/skipped_report.h"
#include "core/error.h"
#include "eval/coco_eval.h"
#include "eval/coco_json.h"

namespace posenet::cli {

bool eval_if_coco(const std::vector<std::string>& predictions, const std::string& annotations, bool json,
                  bool skip_bad) {
  const bool coco = eval::is_json_file(annotations);
  for (const std::string& file : predictions)
    if (eval::is_json_file(file) != coco)
      throw Error("eval: " + file + " and --gt " + annotations +
                  " must both be COCO .json files (keypoint results, annotations) or both MPII .mat files");
  if (!coco) return false;
  if (predictions.size() != 1) throw Error("eval: COCO scores one results file at a time");
  eval_coco_results_file(predictions.front(), annotations, json, skip_bad);
  return true;
}

void eval_coco_results_file(const std::string& results, const std::string& annotations, bool json, bool skip_bad) {
  eval::CocoLoadOptions options;
  options.skip_bad = skip_bad;
  const eval::CocoGroundTruth gt = eval::read_coco_ground_truth(annotations, options);
  const eval::CocoResults res = eval::read_coco_results(results, gt, options);
  report_skipped(gt.skipped, "annotation entries");
  report_skipped(res.skipped, "result entries");
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
