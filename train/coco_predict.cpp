#include "train/coco_predict.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "core/error.h"
#include "eval/decode.h"
#include "eval/oks_nms.h"
#include "train/loader.h"

namespace posenet::train {

namespace {
constexpr int64_t kPersonCategory = 1;

// Every rank's person predictions added, as validate.cpp's: each person is
// predicted by one rank. A row: present (1 or 0), area, score, keypoints.
void sum_across_ranks(dist::Communicator& comm, std::vector<std::optional<eval::PersonPrediction>>& persons,
                      int keypoint_count) {
  const size_t width = 3 + 3 * size_t(keypoint_count);
  std::vector<double> values(persons.size() * width, 0.0);
  for (size_t i = 0; i < persons.size(); ++i) {
    if (!persons[i]) continue;
    double* row = values.data() + i * width;
    row[0] = 1, row[1] = persons[i]->area, row[2] = persons[i]->score;
    std::copy(persons[i]->keypoints.begin(), persons[i]->keypoints.end(), row + 3);
  }
  Tensor t = Tensor::from_data({int64_t(values.size())}, values, DType::F64);
  comm.all_reduce_sum(t);
  const double* sums = t.data<double>();
  for (size_t i = 0; i < persons.size(); ++i) {
    const double* row = sums + i * width;
    if (row[0] == 0) {
      persons[i].reset();
      continue;
    }
    eval::PersonPrediction p;
    p.area = row[1], p.score = row[2];
    p.keypoints.assign(row + 3, row + width);
    persons[i] = std::move(p);
  }
}
}  // namespace

std::vector<eval::CocoDetection> predict_coco_persons(models::PoseModel& model, const Dataset& dataset,
                                                      const EvalSettings& settings) {
  const eval::KeypointSet& keypoints = *dataset.keypoints;
  eval::require_same_keypoint_set(eval::coco_keypoint_set(), keypoints, "COCO keypoint predictions");
  const models::ModelSpec& spec = model.spec();
  PN_CHECK(spec.joints == keypoints.count(), "COCO keypoint predictions: the model predicts ", spec.joints,
           " heatmaps, not ", keypoints.count());
  LoaderConfig lc;
  lc.batch_size = settings.batch_size;
  lc.workers = settings.workers;
  lc.shuffle = false;
  lc.drop_last = false;
  lc.augment = false;
  lc.crop.input_width = spec.input_w;
  lc.crop.input_height = spec.input_h;
  lc.heatmap_width = spec.heatmap_w();
  lc.heatmap_height = spec.heatmap_h();
  lc.sigmas = SigmaSchedule::constant(1, 2.0);  // targets are not used here
  lc.replace_undecodable = settings.skip_undecodable;
  // This rank's share (EvalSettings::comm): persons rank, rank + ranks, ...
  const int64_t ranks = settings.comm ? settings.comm->size() : 1, rank = settings.comm ? settings.comm->rank() : 0;
  auto shared = std::make_shared<Dataset>(dataset);
  if (ranks > 1) {
    shared->samples.clear();
    for (size_t i = size_t(rank); i < dataset.size(); i += size_t(ranks)) shared->samples.push_back(dataset.samples[i]);
  }
  auto person_index = [&](int64_t j) { return size_t(rank + j * ranks); };
  DataLoader loader(shared, lc);
  loader.start_epoch(0);

  const bool was_training = model.is_training();
  model.eval();
  std::vector<std::optional<eval::PersonPrediction>> predicted(dataset.size());
  int64_t done = 0;
  while (shared->size() > 0) {
    std::optional<Batch> batch = loader.next();
    if (!batch) break;
    Tensor images = batch->images.device() == settings.device ? batch->images : batch->images.to(settings.device);
    std::vector<Tensor> heatmaps = predict_heatmaps(model, images, settings.flip_test, keypoints);
    Tensor last = heatmaps.back().is_cpu() ? heatmaps.back() : heatmaps.back().to(Device::cpu());
    std::vector<eval::Point2> centers, scales;
    for (int64_t i = 0; i < batch->size(); ++i) {
      centers.push_back({batch->centers[size_t(i)].x, batch->centers[size_t(i)].y});
      scales.push_back({batch->scales[size_t(i)], batch->scales[size_t(i)]});
    }
    eval::DecodedJoints decoded = eval::decode_quarter_offset(last);
    eval::to_image_coordinates(decoded, centers, scales, spec.heatmap_w(), spec.heatmap_h());
    for (int64_t i = 0; i < batch->size(); ++i) {
      if (batch->stands_in_for[size_t(i)] >= 0) continue;  // a stand-in for an undecodable image
      const size_t index = person_index(batch->sample_indices[size_t(i)]);
      const Sample& person = dataset[index];
      eval::PersonPrediction p;
      for (int j = 0; j < keypoints.count(); ++j) {
        const eval::Point2 xy = decoded.at(i, j);
        p.keypoints.insert(p.keypoints.end(), {xy.x, xy.y, double(decoded.maxval(i, j))});
      }
      // OKS-NMS compares persons at the crop's area (the box padded to the
      // input's aspect and x1.25), as Simple Baselines and HRNet do.
      const double crop_w = person.scale * kPixelStd;
      p.area = crop_w * crop_w * double(spec.input_h) / double(spec.input_w);
      p.score = eval::rescore_person(p.keypoints, person.box_score);
      predicted[index] = std::move(p);
    }
    done += batch->size();
    if (settings.progress) std::cerr << "\rpredicting " << done << "/" << dataset.size() << std::flush;
  }
  if (settings.progress) std::cerr << "\n";
  model.train(was_training);
  if (ranks > 1) sum_across_ranks(*settings.comm, predicted, keypoints.count());

  // Per image (ascending id), its persons in data set order.
  std::map<int64_t, std::vector<eval::PersonPrediction>> by_image;
  for (size_t i = 0; i < dataset.size(); ++i)
    if (predicted[i]) by_image[dataset[i].image_id].push_back(std::move(*predicted[i]));

  std::vector<eval::CocoDetection> detections;
  for (const auto& [image_id, persons] : by_image)
    for (size_t kept : eval::oks_nms(persons, eval::kOksNmsThreshold, keypoints.oks_sigmas)) {
      eval::CocoDetection d;
      d.image_id = image_id;
      d.category_id = kPersonCategory;
      d.keypoints = persons[kept].keypoints;
      d.score = persons[kept].score;
      d.area = eval::keypoint_box_area(d.keypoints);
      detections.push_back(std::move(d));
    }
  return detections;
}

nlohmann::ordered_json report_coco_validation(std::ostream& os, const eval::CocoStats& stats, int64_t epoch_number,
                                              size_t persons, bool flip_test) {
  os << "\nValidation OKS AP after epoch " << epoch_number << " (" << persons << " persons, ground-truth boxes"
     << (flip_test ? ", flip test" : "") << "):\n";
  eval::print_coco_table(os, stats);
  return stats.to_json();
}

}  // namespace posenet::train
