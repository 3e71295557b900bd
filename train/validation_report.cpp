#include "train/validation_report.h"

#include <string>
#include <utility>
#include <vector>

namespace posenet::train {

nlohmann::json report_validation(std::ostream& os, const Evaluation& evaluation, int64_t epoch_number,
                                 size_t persons, bool flip_test) {
  os << "\nValidation PCKh after epoch " << epoch_number << " (" << persons << " persons"
     << (flip_test ? ", flip test" : "") << "):\n";
  std::vector<std::pair<std::string, eval::PckhResult>> rows;
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& r : evaluation.rows) {
    rows.push_back({r.label, r.pckh});
    stages.push_back({{"label", r.label}, {"pckh", r.pckh.to_json()}});
  }
  eval::print_pckh_table(os, rows);
  os.flush();
  return stages;
}

}  // namespace posenet::train
