// Evaluating a pose model on a validation set: the evaluation crop of every
// person, optional flip test, per-stage decoding, mapping back to image
// pixels, and PCKh against the MPII-layout ground truth.
#pragma once
#include <string>
#include <vector>

#include "core/device.h"
#include "dist/communicator.h"
#include "eval/decode.h"
#include "eval/keypoint_set.h"
#include "eval/mat_io.h"
#include "eval/pckh.h"
#include "models/pose_model.h"
#include "train/dataset.h"

namespace posenet::train {

struct EvalSettings {
  Device device = Device::cpu();
  int batch_size = 32;
  int workers = 2;
  bool flip_test = true;
  // Intermediate stages are also decoded with the paper's mix of maximum
  // and second maximum (§3, Table 5), reported as extra rows.
  bool second_max_rows = false;
  // Which reading of that rule (eval/decode.h); the rows' labels name it.
  eval::SecondMaxRule second_max_rule = eval::SecondMaxRule::kQuarterTowardsSecond;
  bool progress = false;
  // --skip-bad: a person whose image fails to decode is logged and gets NaN
  // predictions (LoaderConfig::replace_undecodable) instead of stopping.
  bool skip_undecodable = false;
  // Data-parallel runs: each rank predicts every size-th person from its
  // rank on, and the predictions are summed across ranks (each person's
  // from one rank, zeros from the others), so every rank gets all of them
  // and the same scores. nullptr: this process predicts every person.
  dist::Communicator* comm = nullptr;
};

struct StageResult {
  std::string label;              // "stage 1", "stage 1 (second max, mspn)", ...
  eval::Predictions predictions;  // dataset order, 1-based pixels
  eval::PckhResult pckh;
};

struct Evaluation {
  std::vector<StageResult> rows;  // one per stage (last = final prediction), then second-max rows
  const StageResult& final_stage() const;
};

// The ground-truth rows of these samples: entry i of the dataset's
// annotation file is column i of the .mat (the standard order).
eval::GroundTruth select_ground_truth(const eval::GroundTruth& gt, const Dataset& dataset,
                                      const std::string& gt_source);

// The predictions of `dataset` (dataset order) as one row per person of
// the full ground truth (gt_persons rows, its order): each sample at its
// source_index, NaN for the persons the dataset lacks (skipped by
// --skip-bad), so that pred.mat lines up with gt_valid.mat.
eval::Predictions predictions_for_every_person(const eval::Predictions& predictions, const Dataset& dataset,
                                               size_t gt_persons);

Evaluation evaluate_model(models::PoseModel& model, const Dataset& dataset, const eval::GroundTruth& gt,
                          const EvalSettings& settings);

// Heatmaps of one batch of inputs [B, H, W, 3] (already on the model's
// device), per stage; with flip_test the mirrored input's heatmaps are
// flipped back (swapping `keypoints`' left/right pairs), shifted and averaged
// in. Runs without autograd.
std::vector<Tensor> predict_heatmaps(models::PoseModel& model, const Tensor& images, bool flip_test,
                                     const eval::KeypointSet& keypoints = eval::mpii_keypoint_set());

// Mirrors NHWC images left-right (CPU or any device through the host).
Tensor flip_images(const Tensor& images);

}  // namespace posenet::train
