#include "train/validate.h"

#include <iostream>
#include <limits>
#include <optional>

#include "core/autograd.h"
#include "core/error.h"
#include "train/loader.h"

namespace posenet::train {

const StageResult& Evaluation::final_stage() const {
  PN_CHECK(!rows.empty(), "evaluation has no result");
  // The last plain stage row (second-max rows come after the stage rows).
  for (auto it = rows.rbegin(); it != rows.rend(); ++it)
    if (it->label.find("second max") == std::string::npos) return *it;
  return rows.back();
}

eval::GroundTruth select_ground_truth(const eval::GroundTruth& gt, const Dataset& dataset,
                                      const std::string& gt_source) {
  eval::GroundTruth out;
  for (const Sample& s : dataset.samples) {
    if (s.source_index < 0 || size_t(s.source_index) >= gt.size())
      throw InputError(detail::concat(gt_source, ": has ", gt.size(), " persons but the validation annotations (",
                                      s.source, ") have an entry ", s.source_index,
                                      ": the ground truth does not belong to these annotations"));
    out.joints.push_back(gt.joints[size_t(s.source_index)]);
    out.missing.push_back(gt.missing[size_t(s.source_index)]);
    out.headboxes.push_back(gt.headboxes[size_t(s.source_index)]);
  }
  return out;
}

namespace {
std::array<eval::Point2, eval::kMpiiJointCount> no_prediction() {
  std::array<eval::Point2, eval::kMpiiJointCount> row;
  row.fill({std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()});
  return row;
}
// Every rank's predictions added: each person is predicted by one rank, the
// others hold zeros there (a NaN, no prediction, stays NaN).
void sum_across_ranks(dist::Communicator& comm, std::vector<eval::Predictions>& stages) {
  std::vector<double> values;
  for (const eval::Predictions& preds : stages)
    for (const auto& row : preds)
      for (const eval::Point2& p : row) values.insert(values.end(), {p.x, p.y});
  Tensor t = Tensor::from_data({int64_t(values.size())}, values, DType::F64);
  comm.all_reduce_sum(t);
  const double* sums = t.data<double>();
  for (eval::Predictions& preds : stages)
    for (auto& row : preds)
      for (eval::Point2& p : row) p = {sums[0], sums[1]}, sums += 2;
}
}  // namespace

eval::Predictions predictions_for_every_person(const eval::Predictions& predictions, const Dataset& dataset,
                                               size_t gt_persons) {
  PN_CHECK(predictions.size() == dataset.size(), "predictions_for_every_person: ", predictions.size(),
           " predictions for ", dataset.size(), " persons");
  eval::Predictions all(gt_persons, no_prediction());
  for (size_t i = 0; i < dataset.size(); ++i) {
    const int64_t row = dataset[i].source_index;
    PN_CHECK(row >= 0 && size_t(row) < gt_persons, dataset[i].source, ": entry ", row,
             " has no row in a ground truth of ", gt_persons, " persons");
    all[size_t(row)] = predictions[i];
  }
  return all;
}

Tensor flip_images(const Tensor& images) {
  Tensor host = images.is_cpu() ? images : images.to(Device::cpu());
  PN_CHECK(host.dtype() == DType::F32 && host.ndim() == 4, "flip_images: expected float32 [B, H, W, C], got ",
           host.str());
  const int64_t b = host.dim(0), h = host.dim(1), w = host.dim(2), c = host.dim(3);
  Tensor out = Tensor::empty(host.shape(), DType::F32, Device::cpu());
  const float* src = host.data<float>();
  float* dst = out.data<float>();
  for (int64_t row = 0; row < b * h; ++row)
    for (int64_t x = 0; x < w; ++x)
      std::copy_n(src + (row * w + x) * c, c, dst + (row * w + (w - 1 - x)) * c);
  return images.is_cpu() ? out : out.to(images.device());
}

std::vector<Tensor> predict_heatmaps(models::PoseModel& model, const Tensor& images, bool flip_test,
                                     const eval::KeypointSet& keypoints) {
  NoGradGuard no_grad;
  std::vector<Tensor> heatmaps = model.forward_heatmaps(images);
  if (!flip_test) return heatmaps;
  std::vector<Tensor> flipped = model.forward_heatmaps(flip_images(images));
  for (size_t s = 0; s < heatmaps.size(); ++s)
    heatmaps[s] = eval::flip_test_average(heatmaps[s], flipped[s], true, keypoints.flip_pairs);
  return heatmaps;
}

Evaluation evaluate_model(models::PoseModel& model, const Dataset& dataset, const eval::GroundTruth& gt,
                          const EvalSettings& settings) {
  PN_CHECK(dataset.size() > 0, "evaluation: the validation set is empty");
  PN_CHECK(gt.size() == dataset.size(), "evaluation: ", dataset.size(), " validation persons but ", gt.size(),
           " ground-truth rows");
  const models::ModelSpec& spec = model.spec();
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
  // This rank's share: the persons rank, rank + ranks, ...; sample j of
  // the share is person rank + j * ranks of the dataset.
  const int64_t ranks = settings.comm ? settings.comm->size() : 1, rank = settings.comm ? settings.comm->rank() : 0;
  auto shared = std::make_shared<Dataset>(dataset);
  if (ranks > 1) {
    shared->samples.clear();
    for (size_t i = size_t(rank); i < dataset.size(); i += size_t(ranks)) shared->samples.push_back(dataset.samples[i]);
  }
  auto person = [&](int64_t j) { return size_t(rank + j * ranks); };
  DataLoader loader(shared, lc);
  loader.start_epoch(0);

  const bool was_training = model.is_training();
  model.eval();
  const int stages = model.num_stages();
  const size_t n = dataset.size();
  std::vector<eval::Predictions> stage_preds(static_cast<size_t>(stages), eval::Predictions(n));
  std::vector<eval::Predictions> second_preds(static_cast<size_t>(stages), eval::Predictions(n));
  int64_t done = 0;
  while (shared->size() > 0) {
    std::optional<Batch> batch = loader.next();
    if (!batch) break;
    Tensor images = batch->images.device() == settings.device ? batch->images : batch->images.to(settings.device);
    std::vector<Tensor> heatmaps = predict_heatmaps(model, images, settings.flip_test);
    std::vector<eval::Point2> centers, scales;
    for (int64_t i = 0; i < batch->size(); ++i) {
      centers.push_back({batch->centers[size_t(i)].x, batch->centers[size_t(i)].y});
      scales.push_back({batch->scales[size_t(i)], batch->scales[size_t(i)]});
    }
    for (int s = 0; s < stages; ++s) {
      Tensor hm = heatmaps[size_t(s)].is_cpu() ? heatmaps[size_t(s)] : heatmaps[size_t(s)].to(Device::cpu());
      auto emit = [&](eval::DecodedJoints decoded, std::vector<eval::Predictions>& into) {
        eval::to_image_coordinates(decoded, centers, scales, spec.heatmap_w(), spec.heatmap_h());
        eval::Predictions p = eval::to_mpii_predictions(decoded);
        for (int64_t i = 0; i < batch->size(); ++i) {
          // A row standing in for an undecodable person predicts nothing for it.
          const int64_t failed = batch->stands_in_for[size_t(i)];
          if (failed >= 0) into[size_t(s)][person(failed)] = no_prediction();
          else into[size_t(s)][person(batch->sample_indices[size_t(i)])] = p[size_t(i)];
        }
      };
      emit(eval::decode_quarter_offset(hm), stage_preds);
      if (settings.second_max_rows && s + 1 < stages)
        emit(eval::decode_second_max(hm, {.rule = settings.second_max_rule}), second_preds);
    }
    done += batch->size();
    if (settings.progress) std::cerr << "\revaluating " << done << "/" << n << std::flush;
  }
  if (settings.progress) std::cerr << "\n";
  model.train(was_training);
  if (ranks > 1) {
    sum_across_ranks(*settings.comm, stage_preds);
    if (settings.second_max_rows) sum_across_ranks(*settings.comm, second_preds);
  }

  Evaluation result;
  for (int s = 0; s < stages; ++s) {
    std::string label = stages == 1 ? "final" : (s + 1 == stages ? "stage " + std::to_string(s + 1) + " (final)"
                                                                  : "stage " + std::to_string(s + 1));
    result.rows.push_back({label, stage_preds[size_t(s)], eval::evaluate_pckh(stage_preds[size_t(s)], gt)});
  }
  if (settings.second_max_rows)
    for (int s = 0; s + 1 < stages; ++s)
      result.rows.push_back({"stage " + std::to_string(s + 1) + " (second max, " +
                                 eval::second_max_rule_name(settings.second_max_rule) + ")",
                             second_preds[size_t(s)],
                             eval::evaluate_pckh(second_preds[size_t(s)], gt)});
  return result;
}

}  // namespace posenet::train
