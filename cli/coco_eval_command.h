// `posenet eval` on COCO: scores a keypoint results file against COCO
// person-keypoint annotations, as the official evaluation does.
#pragma once
#include <string>
#include <vector>

namespace posenet::cli {

// Prints the 10 standard numbers (AP, AP50, AP75, APm, APl, AR, AR50, AR75,
// ARm, ARl) in percent, as a table or (json) one object with those keys.
// skip_bad drops malformed entries of either file, listing them on stderr.
void eval_coco_results_file(const std::string& results, const std::string& annotations, bool json, bool skip_bad);

// `eval --predictions ... --gt ...`: when the files are JSON (COCO), scores
// them and returns true; when they are .mat files (MPII), returns false.
// Throws when JSON and .mat are mixed or several results files are given.
bool eval_if_coco(const std::vector<std::string>& predictions, const std::string& annotations, bool json,
                  bool skip_bad);

}  // namespace posenet::cli
