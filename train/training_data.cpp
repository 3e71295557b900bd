#include "train/training_data.h"

#include <iostream>

#include "core/error.h"
#include "train/checkpoint.h"
#include "train/dataset_spec.h"
#include "train/synthetic_cache.h"
#include "train/validate.h"

namespace posenet::train {

namespace fs = std::filesystem;

namespace {

// The specs and ground truth to load: those given, else the defaults of the
// data (the synthetic set's splits, the valid split beside an mpii: set).
struct DataSources {
  std::string train, val, val_gt;
};

DataSources data_sources(const TrainConfig& config, const fs::path& out_dir) {
  DataSources s{config.data, config.val_data, config.val_gt};
  if (config.data == "synthetic") {
    const fs::path dir = out_dir / "synthetic";
    ensure_synthetic_data(dir, config);
    s.train = mpii_spec(dir, kTrainSplit);
    if (s.val.empty()) s.val = mpii_spec(dir, kValidSplit);
    if (s.val_gt.empty()) s.val_gt = (dir / "annot" / "gt_valid.mat").string();
    return s;
  }
  if (const auto mpii = first_mpii_spec(config.data, kTrainSplit)) {
    DatasetSpec valid = *mpii;
    valid.split = kValidSplit;
    if (s.val.empty() && fs::exists(valid.mpii_annotations())) s.val = mpii_spec(valid.path, kValidSplit);
    if (s.val_gt.empty() && fs::exists(valid.mpii_ground_truth())) s.val_gt = valid.mpii_ground_truth().string();
  }
  return s;
}

}  // namespace

TrainingData prepare_training_data(const TrainConfig& config, const fs::path& out_dir) {
  LoadOptions lo;
  lo.skip_bad = config.skip_bad;
  lo.synthesize_midpoints = config.synthesize_midpoints;
  lo.check_images = true;  // a missing or unreadable image fails (or is skipped) before training starts
  const models::ModelSpec spec = model_spec_of(config);
  lo.input_aspect_ratio = double(spec.input_w) / double(spec.input_h);
  const DataSources sources = data_sources(config, out_dir);
  TrainingData data;
  data.train = std::make_shared<Dataset>(load_dataset_spec(sources.train, lo));
  if (!data.train->skipped.empty())
    std::cerr << "posenet: skipped " << data.train->skipped.size() << " bad training entries (--skip-bad)\n";
  if (data.train->size() == 0) throw InputError("training data '" + sources.train + "' has no usable sample");
  if (sources.val.empty() || config.val_every == 0) return data;
  if (data.train->keypoints == &eval::coco_keypoint_set()) {
    // OKS AP against the validation set's own annotations, ground-truth boxes.
    const std::vector<DatasetSpec> specs = parse_dataset_specs(sources.val, kValidSplit);
    if (specs.size() != 1 || specs[0].kind != "coco")
      throw InputError("validation data '" + sources.val + "': a COCO keypoint run validates on one coco:JSON:IMAGES set");
    data.val = std::make_shared<Dataset>(load_coco_native(specs[0].path, specs[0].images, lo));
    if (!data.val->skipped.empty())
      std::cerr << "posenet: skipped " << data.val->skipped.size() << " bad validation entries (--skip-bad)\n";
    data.val_coco = std::make_shared<eval::CocoGroundTruth>(
        eval::read_coco_ground_truth(specs[0].path, {.skip_bad = config.skip_bad}));
    return data;
  }
  if (data.train->keypoints != &eval::mpii_keypoint_set())
    throw InputError(detail::concat("validation of ", data.train->keypoints->title, " runs is not available"));
  if (sources.val_gt.empty()) {
    std::cerr << "posenet: no ground-truth .mat for the validation set (--val-gt): validation PCKh is off\n";
    return data;
  }
  data.val = std::make_shared<Dataset>(load_dataset_spec(sources.val, lo));
  if (!data.val->skipped.empty())
    std::cerr << "posenet: skipped " << data.val->skipped.size()
              << " bad validation entries (--skip-bad); pred_valid.mat holds NaN for them\n";
  const eval::GroundTruth full = eval::read_ground_truth_mat(sources.val_gt);
  data.val_gt_persons = full.size();
  data.val_gt = select_ground_truth(full, *data.val, sources.val_gt);
  return data;
}

LoaderConfig training_loader_config(const TrainConfig& config, const models::ModelSpec& spec) {
  LoaderConfig lc;
  lc.batch_size = config.batch_size;
  lc.workers = config.workers;
  lc.shuffle = true;
  lc.drop_last = true;
  lc.augment = true;
  lc.seed = config.seed;
  lc.replace_undecodable = config.skip_bad;
  lc.augmentation.scale_factor = config.scale_factor;
  lc.augmentation.rotation_factor = config.rotation_factor;
  lc.augmentation.rotation_prob = config.rotation_prob;
  lc.augmentation.flip = config.flip;
  lc.crop.input_width = spec.input_w;
  lc.crop.input_height = spec.input_h;
  lc.heatmap_width = spec.heatmap_w();
  lc.heatmap_height = spec.heatmap_h();
  lc.uint8_images = true;  // normalised on the device (train_step.h)
  lc.sigmas.start = config.stage_sigmas(spec.stages());
  lc.sigmas.end = config.stage_sigmas_final(spec.stages());
  lc.sigmas.epochs = config.epochs;
  lc.sigmas.validate();
  return lc;
}

}  // namespace posenet::train
