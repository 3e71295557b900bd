// Data preparation of a training run: the synthetic data rendered when
// asked for, the training set, and the validation set with its PCKh ground
// truth (by default the valid split beside an mpii: training set); and the
// loader settings of training.
#pragma once
#include <filesystem>
#include <memory>

#include "eval/coco_json.h"
#include "eval/mat_io.h"
#include "models/spec.h"
#include "train/config.h"
#include "train/dataset.h"
#include "train/loader.h"

namespace posenet::train {

struct TrainingData {
  std::shared_ptr<Dataset> train, val;  // val is null without validation
  eval::GroundTruth val_gt;             // the rows of val's persons
  size_t val_gt_persons = 0;            // rows of the full ground truth (pred_valid.mat has as many)
  // COCO keypoint runs: val's annotations, scored with OKS AP instead of PCKh.
  std::shared_ptr<eval::CocoGroundTruth> val_coco;

  bool has_validation() const { return val && val->size() > 0; }
};

// Loads (and for data = synthetic first renders into <out_dir>/synthetic)
// what the config names. Errors name the file; an empty training set is one.
TrainingData prepare_training_data(const TrainConfig& config, const std::filesystem::path& out_dir);

// The training loader: shuffled, augmented, whole batches, targets of the
// model's heatmap size with the config's sigmas.
LoaderConfig training_loader_config(const TrainConfig& config, const models::ModelSpec& spec);

}  // namespace posenet::train
