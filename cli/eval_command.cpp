// `posenet eval`: scores MPII predictions with PCKh and AUC.
//   posenet eval --predictions pred.mat [more.mat ...] --gt gt_valid.mat [--json]
//   posenet eval --checkpoint run/best.safetensors --data mpii:DIR[:split] [--gt FILE] [--json]
//   posenet eval --predictions results.json --gt person_keypoints.json [--json]   (COCO, cli/coco_eval_command.cpp)
// Several prediction files (e.g. one per stage) give one table row each; a
// multi-stage model gives one row per stage.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/coco_eval_command.h"
#include "cli/command.h"
#include "cli/skipped_report.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/folder_lock.h"
#include "eval/coco_eval.h"
#include "eval/mat_io.h"
#include "eval/pckh.h"
#include "train/checkpoint.h"
#include "train/coco_predict.h"
#include "train/config.h"
#include "train/dataset_spec.h"
#include "train/person_boxes.h"
#include "train/validate.h"

namespace posenet::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> predictions;  // pred.mat files (N x 16 x 2, 1-based pixels)
  std::string ground_truth;              // gt_valid.mat
  bool json = false;
  // model mode
  std::string checkpoint;
  std::string data;       // dataset spec of the persons to evaluate
  std::string device = "cpu";
  bool flip_test = true;
  bool second_max = false;
  std::string second_max_rule;  // mspn | paper; given alone it implies --second-max
  int batch_size = 32;
  bool skip_bad = false;  // log and skip persons with a bad annotation or image
  int workers = 2;
  std::string out;        // where pred.mat (final stage) and per-stage files go
  bool overwrite = false;  // replace an existing pred.mat / predictions.json
  std::string person_boxes;        // COCO: a person detector's boxes instead of the ground-truth ones
  double box_score_threshold = 0.0;  // COCO: boxes scored below this are not predicted
};

std::filesystem::path output_folder(const EvalOptions& opt) {
  const std::filesystem::path dir = opt.out.empty() ? std::filesystem::path(opt.checkpoint).parent_path()
                                                    : std::filesystem::path(opt.out);
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// Before any evaluation: the output folder is locked (one writer), writable,
// and holds no earlier evaluation's results unless --overwrite.
FolderLock claim_output_folder(const EvalOptions& opt) {
  const std::filesystem::path dir = output_folder(opt);
  FolderLock lock = FolderLock::acquire(dir, "--out");
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(detail::concat(dir.string(), ": the output folder is not writable (", std::strerror(errno),
                                    "); choose another with --out"));
  if (!opt.overwrite)
    for (const char* name : {"pred.mat", "predictions.json", "results.json"})
      if (std::filesystem::exists(dir / name))
        throw InputError(detail::concat((dir / name).string(),
                                        ": already exists (an earlier evaluation); pass --overwrite to replace it, "
                                        "or choose another --out"));
  return lock;
}

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

// Model mode on COCO keypoints (--data coco:JSON:IMAGES): every ground-truth
// person box predicted, rescored and OKS-NMS'ed (train/coco_predict.h), the
// results written as the standard results.json and scored against JSON.
void eval_coco_checkpoint(const EvalOptions& opt) {
  const std::vector<train::DatasetSpec> specs = train::parse_dataset_specs(opt.data, train::kValidSplit);
  if (specs.size() != 1) throw Error("eval: COCO evaluation takes one coco:JSON:IMAGES data set, got '" + opt.data + "'");
  const Device device = parse_device(opt.device);
  const FolderLock lock = claim_output_folder(opt);
  const train::Checkpoint ck = train::read_checkpoint(opt.checkpoint);
  eval::require_same_keypoint_set(eval::coco_keypoint_set(), train::keypoint_set_of(ck), opt.checkpoint);
  auto model = train::load_model_from_checkpoint(ck, device);
  const eval::CocoGroundTruth gt = eval::read_coco_ground_truth(specs[0].path, {.skip_bad = opt.skip_bad});
  report_skipped(gt.skipped, "annotation entries");
  train::LoadOptions load;
  load.skip_bad = opt.skip_bad;
  load.check_images = true;
  load.log_skipped = false;
  load.input_aspect_ratio = double(model->spec().input_w) / double(model->spec().input_h);
  train::Dataset dataset;
  if (opt.person_boxes.empty()) {
    dataset = train::load_coco_native(specs[0].path, specs[0].images, load);
  } else {
    const eval::CocoPersonBoxes boxes =
        eval::read_coco_person_boxes(opt.person_boxes, gt, opt.box_score_threshold, {.skip_bad = opt.skip_bad});
    report_skipped(boxes.skipped, "detection boxes");
    dataset = train::load_person_box_samples(boxes, gt, specs[0].images, load);
  }
  report_skipped(dataset.skipped);
  if (dataset.size() == 0) throw InputError("eval: '" + opt.data + "' has no usable person");
  train::EvalSettings es;
  es.device = device;
  es.batch_size = opt.batch_size;
  es.workers = opt.workers;
  es.flip_test = opt.flip_test;
  es.progress = !opt.json;
  es.skip_undecodable = opt.skip_bad;
  const std::vector<eval::CocoDetection> detections = train::predict_coco_persons(*model, dataset, es);
  const eval::CocoStats stats = eval::evaluate_coco_keypoints(gt, detections);
  const std::filesystem::path results = output_folder(opt) / "results.json";
  write_text_file_atomically(results, eval::coco_results_json(detections).dump() + "\n");
  if (opt.json) {
    std::cout << stats.to_json().dump() << "\n";
    return;
  }
  std::cout << model->spec().describe() << ", " << dataset.size()
            << (opt.person_boxes.empty() ? " persons (ground-truth boxes)" : " person boxes of " + opt.person_boxes)
            << (opt.flip_test ? ", flip test" : "") << "\n";
  eval::print_coco_table(std::cout, stats);
  std::cout << "results: " << results.string() << " (COCO keypoint results)\n";
}

// Model mode: run a checkpoint on a dataset, score every stage, write pred.mat.
void eval_checkpoint(const EvalOptions& opt) {
  if (opt.data.empty()) throw Error("eval: --data is required with --checkpoint (e.g. mpii:DIR:valid)");
  if (opt.batch_size < 1) throw Error("eval: --batch-size must be at least 1");
  if (opt.workers < 0 || opt.workers > train::max_workers())
    throw InputError(detail::concat("eval: --workers must be in [0, ", train::max_workers(),
                                    "] on this machine (4 per hardware thread, or 256), got ", opt.workers));
  if (!std::isfinite(opt.box_score_threshold))
    throw InputError(detail::concat("eval: --box-score-threshold must be a finite number, got ", opt.box_score_threshold));
  if (opt.box_score_threshold != 0.0 && opt.person_boxes.empty())
    throw InputError("eval: --box-score-threshold goes with --person-boxes FILE (it filters that file's boxes)");
  if (!opt.person_boxes.empty() && &train::keypoint_set_of_specs(opt.data) != &eval::coco_keypoint_set())
    throw Error("eval: --person-boxes goes with --data coco:JSON:IMAGES");
  if (&train::keypoint_set_of_specs(opt.data) == &eval::coco_keypoint_set()) {
    eval_coco_checkpoint(opt);
    return;
  }
  // Evaluation data defaults to the valid split, whose ground truth is annot/gt_valid.mat.
  std::string gt_path = opt.ground_truth;
  const auto mpii = train::first_mpii_spec(opt.data, train::kValidSplit);
  if (gt_path.empty() && mpii) gt_path = mpii->mpii_ground_truth().string();
  if (gt_path.empty()) throw Error("eval: --gt is required for this --data");
  std::string data;
  for (const train::DatasetSpec& one : train::parse_dataset_specs(opt.data, train::kValidSplit))
    data += (data.empty() ? "" : ",") + (one.is_mpii() ? train::mpii_spec(one.path, one.split) : one.text);
  const Device device = parse_device(opt.device);
  const FolderLock lock = claim_output_folder(opt);
  const train::Checkpoint ck = train::read_checkpoint(opt.checkpoint);
  // The data path gives MPII's joints (COCO and AI Challenger mapped onto them).
  eval::require_same_keypoint_set(eval::mpii_keypoint_set(), train::keypoint_set_of(ck), opt.checkpoint);
  auto model = train::load_model_from_checkpoint(ck, device);
  train::LoadOptions load;
  load.skip_bad = opt.skip_bad;
  load.check_images = true;
  load.log_skipped = false;
  load.input_aspect_ratio = double(model->spec().input_w) / double(model->spec().input_h);
  const train::Dataset dataset = train::load_dataset_spec(data, load);
  report_skipped(dataset.skipped);
  if (dataset.size() == 0) throw InputError("eval: '" + data + "' has no usable person");
  const eval::GroundTruth full_gt = eval::read_ground_truth_mat(gt_path);
  const eval::GroundTruth gt = train::select_ground_truth(full_gt, dataset, gt_path);
  train::EvalSettings es;
  es.device = device;
  es.batch_size = opt.batch_size;
  es.workers = opt.workers;
  es.flip_test = opt.flip_test;
  es.second_max_rows = opt.second_max || !opt.second_max_rule.empty();
  if (!opt.second_max_rule.empty()) es.second_max_rule = eval::parse_second_max_rule(opt.second_max_rule);
  es.progress = !opt.json;
  es.skip_undecodable = opt.skip_bad;
  const train::Evaluation ev = train::evaluate_model(*model, dataset, gt, es);
  std::vector<std::pair<std::string, eval::PckhResult>> rows;
  for (const auto& r : ev.rows) rows.emplace_back(r.label, r.pckh);
  if (opt.json) {
    nlohmann::json j = ev.final_stage().pckh.to_json();
    if (ev.rows.size() > 1) {
      nlohmann::json stages = nlohmann::json::object();
      for (const auto& [label, r] : rows) stages[label] = r.to_json();
      j["stages"] = stages;
    }
    std::cout << j.dump() << "\n";
  } else {
    std::cout << model->spec().describe() << ", " << dataset.size() << " persons" << (opt.flip_test ? ", flip test" : "")
              << "\n";
    eval::print_pckh_table(std::cout, rows);
  }
  const std::filesystem::path out_dir = output_folder(opt);
  // One row per ground-truth person (NaN for skipped ones), as gt_valid.mat.
  eval::write_predictions_mat(out_dir / "pred.mat",
                              train::predictions_for_every_person(ev.final_stage().predictions, dataset, full_gt.size()));
  const nlohmann::json preds_json = [&] {
    nlohmann::json all = nlohmann::json::array();
    for (size_t i = 0; i < dataset.size(); ++i) {
      nlohmann::json joints = nlohmann::json::array();
      for (const auto& p : ev.final_stage().predictions[i]) joints.push_back({p.x, p.y});
      all.push_back({{"image", dataset[i].image.filename().string()}, {"index", dataset[i].source_index},
                     {"joints", joints}});
    }
    return all;
  }();
  write_text_file_atomically(out_dir / "predictions.json", preds_json.dump() + "\n");
  if (!opt.json)
    std::cout << "predictions: " << (out_dir / "pred.mat").string() << ", " << (out_dir / "predictions.json").string()
              << " (1-based pixels)\n";
}

void run_eval(const EvalOptions& opt) {
  if (!opt.checkpoint.empty()) {
    if (!opt.predictions.empty()) throw Error("eval: give either --checkpoint or --predictions, not both");
    eval_checkpoint(opt);
    return;
  }
  if (opt.predictions.empty()) throw Error("eval: --predictions or --checkpoint is required");
  if (opt.ground_truth.empty()) throw Error("eval: --gt is required with --predictions");
  if (eval_if_coco(opt.predictions, opt.ground_truth, opt.json, opt.skip_bad)) return;
  eval_predictions_files(opt);
}

const CommandRegistrar kRegisterEval("eval", [](CLI::App& app) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score pose predictions on MPII (PCKh@0.5 per joint group, Mean, Mean@0.1, AUC; Mean@0.1 is a true 0.10 "
      "threshold; the Simple Baselines/HRNet script's \"Mean@0.1\" is really at 0.11 and is in --json as Mean@0.11) "
      "or on COCO keypoints (a results .json against annotations .json: AP AP50 AP75 APm APl AR AR50 AR75 ARm ARl, "
      "as the official COCO evaluation)");
  cmd->add_option("--predictions", opt->predictions,
                  "pred.mat file(s) with `preds` (N x 16 x 2, 1-based pixels, ground-truth order); several files "
                  "(e.g. one per stage) print one row each; or one COCO keypoint results .json");
  cmd->add_option("--gt", opt->ground_truth, "ground truth gt_valid.mat (dataset_joints, jnt_missing, pos_gt_src, headboxes_src), or COCO "
                  "person-keypoint annotations .json");
  cmd->add_flag("--json", opt->json, "print JSON instead of the table (one object; with several files, one per file keyed by its name); "
                "it also holds Mean@0.11, the SB/HRNet script's \"Mean@0.1\"");
  cmd->add_option("--checkpoint", opt->checkpoint, "a posenet checkpoint to run (model mode)");
  cmd->add_option("--data", opt->data, "model mode: persons to evaluate, mpii:DIR[:split] (split defaults to valid), or "
                  "coco:JSON:IMAGES (every ground-truth person box; OKS AP/AR, results.json)");
  cmd->add_option("--person-boxes", opt->person_boxes,
                  "model mode, COCO: a person detector's boxes (COCO detection results .json: image_id, category_id, "
                  "bbox, score) to predict instead of the ground-truth boxes; each person's score is its keypoint "
                  "confidence times the box score");
  cmd->add_option("--box-score-threshold", opt->box_score_threshold,
                  "model mode, COCO: leave out person boxes scored below this")
      ->capture_default_str();
  cmd->add_option("--device", opt->device, "model mode: cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--flip-test", opt->flip_test, "model mode: average with the mirrored image's heatmaps")->capture_default_str();
  cmd->add_flag("--second-max", opt->second_max, "model mode: also score intermediate stages with the second-maximum rule (default rule: mspn; see --second-max-rule)");
  cmd->add_option("--second-max-rule", opt->second_max_rule,
                  "model mode: which second-maximum rule (implies --second-max): mspn = a quarter pixel from the "
                  "maximum towards the second maximum (MSPN's code, default), paper = 0.25 x maximum + 0.75 x "
                  "second maximum (the paper's formula read literally); the rows are labelled with it")
      ->check(CLI::IsMember({"mspn", "paper"}));
  cmd->add_option("--batch-size", opt->batch_size, "model mode: images per forward pass")->capture_default_str();
  cmd->add_flag("--skip-bad", opt->skip_bad,
                "model mode: log and skip persons whose annotation or image is bad (pred.mat holds NaN for them, "
                "which count as misses when it is scored against the whole ground truth); COCO: log and drop "
                "malformed entries of either file");
  cmd->add_option("--workers", opt->workers, "model mode: data-loading threads")->capture_default_str();
  cmd->add_option("--out", opt->out, "model mode: directory for pred.mat and predictions.json (default: the checkpoint's)");
  cmd->add_flag("--overwrite", opt->overwrite,
                "model mode: replace the pred.mat and predictions.json of an earlier evaluation in the output folder");
  cmd->fallthrough();  // --config is the main app's (section [eval])
  cmd->callback([opt] { run_eval(*opt); });
});

}  // namespace
}  // namespace posenet::cli
