// `posenet eval`: scores MPII predictions with PCKh and AUC.
//   posenet eval --predictions pred.mat [more.mat ...] --gt gt_valid.mat [--json]
// Several prediction files (e.g. one per stage) give one table row each.
// Each evaluation mode is one function fed by the parsed options; a mode
// that runs a model adds its options and its branch in run_eval.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/error.h"
#include "eval/mat_io.h"
#include "eval/pckh.h"

namespace posenet::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> predictions;  // pred.mat files (N x 16 x 2, 1-based pixels)
  std::string ground_truth;              // gt_valid.mat
  bool json = false;
};

void report(const std::vector<std::pair<std::string, eval::PckhResult>>& rows, bool json) {
  if (json) {
    // One row: the object itself; several: one object per row, keyed by its label.
    if (rows.size() == 1) {
      std::cout << rows.front().second.to_json().dump() << "\n";
    } else {
      nlohmann::json all = nlohmann::json::object();
      for (const auto& [label, r] : rows) all[label] = r.to_json();
      std::cout << all.dump() << "\n";
    }
    return;
  }
  eval::print_pckh_table(std::cout, rows);
}

// Model-free mode: predictions already in pred.mat files, labelled by file
// name (the full path when two names would collide).
void eval_predictions_files(const EvalOptions& opt) {
  const eval::GroundTruth gt = eval::read_ground_truth_mat(opt.ground_truth);
  std::vector<std::pair<std::string, eval::PckhResult>> rows;
  for (const std::string& file : opt.predictions) {
    const eval::Predictions preds = eval::read_predictions_mat(file);
    if (preds.size() != gt.size())
      throw InputError(detail::concat(file, ": holds ", preds.size(), " persons but ", opt.ground_truth, " holds ",
                                      gt.size(), " (predictions must follow the ground-truth order)"));
    std::string label = std::filesystem::path(file).stem().string();
    for (const auto& row : rows)
      if (row.first == label) label = file;
    rows.emplace_back(label, eval::evaluate_pckh(preds, gt));
  }
  report(rows, opt.json);
}

void run_eval(const EvalOptions& opt) {
  if (opt.predictions.empty()) throw Error("eval: --predictions is required");
  if (opt.ground_truth.empty()) throw Error("eval: --gt is required with --predictions");
  eval_predictions_files(opt);
}

const CommandRegistrar kRegisterEval("eval", [](CLI::App& app) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Score pose predictions on MPII (PCKh@0.5 per joint group, Mean, AUC)");
  cmd->add_option("--predictions", opt->predictions,
                  "pred.mat file(s) with `preds` (N x 16 x 2, 1-based pixels, ground-truth order); several files "
                  "(e.g. one per stage) print one row each");
  cmd->add_option("--gt", opt->ground_truth, "ground truth gt_valid.mat (dataset_joints, jnt_missing, pos_gt_src, headboxes_src)");
  cmd->add_flag("--json", opt->json, "print JSON instead of the table (one object; with several files, one per file keyed by its name)");
  cmd->callback([opt] { run_eval(*opt); });
});

}  // namespace
}  // namespace posenet::cli
