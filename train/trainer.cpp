#include "train/trainer.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>

#include "core/autograd.h"
#include "core/error.h"
#include "core/rng.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "models/pretrained.h"
#include "models/spec.h"
#include "train/loader.h"
#include "train/schedule.h"
#include "train/stop.h"
#include "train/synthetic.h"

namespace posenet::train {

namespace fs = std::filesystem;

namespace {

// Runtime settings a resumed run may change; everything else comes from
// the checkpoint so the run continues as it started.
void take_runtime_settings(TrainConfig& stored, const TrainConfig& now) {
  stored.device = now.device;
  stored.workers = now.workers;
  stored.progress = now.progress;
  stored.out = now.out;
  stored.stop_after = now.stop_after;
  stored.resume = true;
}

void check_writable_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create the output directory: " + ec.message());
  const fs::path probe = dir / ".posenet-write-test";
  {
    std::ofstream f(probe);
    f << "ok";
    f.flush();
    if (!f.good()) {
      fs::remove(probe, ec);
      throw InputError(dir.string() + ": the output directory is not writable");
    }
  }
  fs::remove(probe, ec);
}

// A run killed while writing a checkpoint leaves its hidden temporary file
// (".last.safetensors.tmp-<pid>-<n>"); the checkpoint itself is intact.
void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if ((name.rfind(".last.safetensors.tmp-", 0) == 0 || name.rfind(".best.safetensors.tmp-", 0) == 0 ||
         name.rfind(".pred_valid.mat.tmp", 0) == 0 || name.rfind("pred_valid.mat.tmp", 0) == 0))
      fs::remove(entry.path(), ec);
  }
}

// The random streams must continue as they started: an explicit other seed
// is an error (not an override, which would silently stop the run being
// the one it continues), and so is a checkpoint of another RNG scheme.
void check_rng_record(const Checkpoint& ck, const TrainConfig& now) {
  if (now.seed_given && now.seed != ck.config.seed)
    throw InputError(detail::concat(ck.path.string(), ": the run was trained with --seed ", ck.config.seed,
                                    " but --resume was given --seed ", now.seed,
                                    "; the loader's random streams are keyed by the seed, so the run cannot continue "
                                    "under another one (drop --seed, or start a new run with another --out)"));
  if (ck.rng && ck.rng->scheme != kRngScheme)
    throw InputError(detail::concat(ck.path.string(), ": written with the random-number scheme '", ck.rng->scheme,
                                    "', this build uses '", kRngScheme, "': resuming would not replay the same batches"));
}

std::string mpii_dir_of(const std::string& spec) {
  // "mpii:DIR" or "mpii:DIR:split" (first spec of a ',' list)
  std::string first = spec.substr(0, spec.find(','));
  if (first.rfind("mpii:", 0) != 0) return "";
  std::string rest = first.substr(5);
  auto colon = rest.find(':');
  return colon == std::string::npos ? rest : rest.substr(0, colon);
}

}  // namespace

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  out_dir_ = config_.out;
  std::unique_ptr<Checkpoint> resume_from;
  if (config_.resume) {
    if (!fs::exists(last_checkpoint()))
      throw InputError(last_checkpoint().string() + ": nothing to resume (no checkpoint in " + out_dir_.string() + ")");
    resume_from = std::make_unique<Checkpoint>(read_checkpoint(last_checkpoint()));
    if (!resume_from->has_config)
      throw InputError(last_checkpoint().string() + ": not a posenet training checkpoint (no training config)");
    TrainConfig stored = resume_from->config;
    check_rng_record(*resume_from, config_);
    take_runtime_settings(stored, config_);
    config_ = stored;
    state_ = resume_from->state;
  } else if (fs::exists(last_checkpoint())) {
    throw InputError(out_dir_.string() + " already holds a training run (" + last_checkpoint().filename().string() +
                     "): pass --resume to continue it, or choose another --out");
  }
  config_.validate();
  device_ = parse_device(config_.device);
  (void)backend_for(device_);  // a device that is not there fails before any data is rendered
  check_writable_directory(out_dir_);
  remove_stale_temporaries(out_dir_);
  // A bad model name, sigma count or pretrained value fails before any data
  // is read or rendered.
  const models::ModelSpec spec = model_spec_of(config_);
  (void)config_.stage_sigmas(spec.stages());
  (void)config_.stage_sigmas_final(spec.stages());
  if (!resume_from) {
    const models::PretrainedFiles files = models::parse_pretrained_files(config_.pretrained, spec);
    // Growth loads only the new stage's encoder (and copies the last stage without a file).
    if (!files.empty() && config_.init_from.empty()) models::check_every_depth_has_a_file(files, spec);
    for (const auto& [depth, path] : files)
      if (!fs::exists(path))
        throw InputError(detail::concat(path.string(), ": no such file (pretrained ResNet-", depth, " weights)"));
  }
  prepare_data();
  if (resume_from && resume_from->rng && resume_from->rng->train_samples != int64_t(train_set_->size()))
    std::cerr << "posenet: warning: " << last_checkpoint().string() << " was trained on "
              << resume_from->rng->train_samples << " samples, the training set now has " << train_set_->size()
              << ": the augmentation and order of the remaining batches differ from the uninterrupted run's\n";
  state_.train_samples = int64_t(train_set_->size());
  build_model(resume_from.get());
  build_optimizer();
  if (resume_from) optimizer_->load_state(resume_from->optimizer_state);
  log_.open((out_dir_ / "log.jsonl").string(), config_.resume);
  {
    std::ofstream f(out_dir_ / "config.json");
    f << config_.to_json().dump(2) << "\n";
  }
}

Trainer::~Trainer() = default;

void Trainer::prepare_data() {
  LoadOptions lo;
  lo.skip_bad = config_.skip_bad;
  lo.synthesize_midpoints = config_.synthesize_midpoints;
  lo.check_images = true;  // a missing or unreadable image fails (or is skipped) before training starts
  std::string train_spec = config_.data, val_spec = config_.val_data, gt_path = config_.val_gt;
  if (config_.data == "synthetic") {
    const fs::path dir = out_dir_ / "synthetic";
    // The marker is written last: a run killed while rendering renders again.
    const fs::path complete = dir / ".complete";
    if (!fs::exists(complete)) {
      SyntheticConfig sc;
      sc.count = config_.synthetic_count;
      sc.seed = config_.seed;
      sc.size = config_.synthetic_size;
      std::cerr << "posenet: rendering " << sc.count << " synthetic images into " << dir.string() << "\n";
      write_synthetic_dataset(dir, sc);
      std::ofstream marker(complete);
      marker << "rendered " << sc.count << " images, seed " << sc.seed << ", size " << sc.size << "\n";
      if (!marker.good()) throw InputError(complete.string() + ": cannot write (disk full?)");
    }
    train_spec = "mpii:" + dir.string() + ":train";
    if (val_spec.empty()) val_spec = "mpii:" + dir.string() + ":valid";
    if (gt_path.empty()) gt_path = (dir / "annot" / "gt_valid.mat").string();
  } else {
    const std::string mpii_dir = mpii_dir_of(config_.data);
    if (val_spec.empty() && !mpii_dir.empty() && fs::exists(fs::path(mpii_dir) / "annot" / "valid.json"))
      val_spec = "mpii:" + mpii_dir + ":valid";
    if (gt_path.empty() && !mpii_dir.empty() && fs::exists(fs::path(mpii_dir) / "annot" / "gt_valid.mat"))
      gt_path = (fs::path(mpii_dir) / "annot" / "gt_valid.mat").string();
  }
  train_set_ = std::make_shared<Dataset>(load_dataset_spec(train_spec, lo));
  if (!train_set_->skipped.empty())
    std::cerr << "posenet: skipped " << train_set_->skipped.size() << " bad training entries (--skip-bad)\n";
  if (train_set_->size() == 0) throw InputError("training data '" + train_spec + "' has no usable sample");
  if (!val_spec.empty() && config_.val_every > 0) {
    if (gt_path.empty()) {
      std::cerr << "posenet: no ground-truth .mat for the validation set (--val-gt): validation PCKh is off\n";
    } else {
      val_set_ = std::make_shared<Dataset>(load_dataset_spec(val_spec, lo));
      if (!val_set_->skipped.empty())
        std::cerr << "posenet: skipped " << val_set_->skipped.size()
                  << " bad validation entries (--skip-bad); pred_valid.mat holds NaN for them\n";
      eval::GroundTruth full = eval::read_ground_truth_mat(gt_path);
      val_gt_persons_ = full.size();
      val_gt_ = select_ground_truth(full, *val_set_, gt_path);
      has_val_ = val_set_->size() > 0;
    }
  }
}

void Trainer::build_model(const Checkpoint* resume_from) {
  models::ModelSpec spec = model_spec_of(config_);
  Generator gen = Generator(config_.seed).fork(0x6d6f64656cULL);  // model-initialisation stream
  if (!config_.init_from.empty() && !resume_from) {
    Checkpoint from = read_checkpoint(config_.init_from);
    if (!from.has_config)
      throw InputError(config_.init_from + ": not a posenet training checkpoint (needed to know its model)");
    models::ModelSpec from_spec = model_spec_of(from.config);
    const int new_depth = spec.depths.size() == from_spec.depths.size() + 1 ? spec.depths.back() : 0;
    // Stages 1..N come from the checkpoint: only the new stage's depth may
    // take ImageNet weights; without them it copies the last stage.
    const int grown_depth = new_depth != 0 ? new_depth : from_spec.depths.back();
    const models::PretrainedFiles files = models::parse_pretrained_files(config_.pretrained, spec);
    std::optional<models::ImageNetWeights> imagenet;
    if (const auto it = files.find(grown_depth); it != files.end())
      imagenet = models::read_imagenet_weights(it->second);
    else if (!files.empty())
      std::cerr << "posenet: pretrained gives no ResNet-" << grown_depth
                << " file: the new stage starts as a copy of the last one\n";
    model_ = models::grow_model(from_spec, from.model_state, gen, imagenet ? &*imagenet : nullptr, new_depth,
                                config_.init_from);
    if (model_->spec().name() != spec.name())
      throw InputError(detail::concat(config_.init_from, ": growing its ", from_spec.name(), " gives ",
                                      model_->spec().name(), ", not the requested ", spec.name()));
  } else {
    model_ = models::build_model(spec, gen);
    if (!config_.pretrained.empty() && !resume_from)
      models::load_pretrained(*model_, models::parse_pretrained_files(config_.pretrained, spec));
  }
  if (resume_from) load_model_weights(*model_, *resume_from);
  model_->to(device_);
  model_->train();
}

void Trainer::build_optimizer() {
  if (config_.optimizer == "adam") {
    AdamOptions o;
    o.lr = config_.lr;
    o.weight_decay = config_.weight_decay;
    optimizer_ = std::make_unique<Adam>(model_->parameters(), o);
  } else {
    SGDOptions o;
    o.lr = config_.lr;
    o.momentum = config_.momentum;
    o.weight_decay = config_.weight_decay;
    optimizer_ = std::make_unique<SGD>(model_->parameters(), o);
  }
}

double Trainer::train_step(const Batch& batch, std::vector<double>& stage_losses) {
  const Tensor images = batch.images.device() == device_ ? batch.images : batch.images.to(device_);
  const Tensor weight = batch.target_weight.device() == device_ ? batch.target_weight : batch.target_weight.to(device_);
  std::vector<Tensor> heatmaps = model_->forward_heatmaps(images);
  PN_ASSERT(heatmaps.size() == batch.targets.size());
  Tensor loss;
  stage_losses.clear();
  for (size_t s = 0; s < heatmaps.size(); ++s) {
    const Tensor& t = batch.targets[s];
    Tensor l = ops::weighted_mse(heatmaps[s], t.device() == device_ ? t : t.to(device_), weight);
    stage_losses.push_back(l.item());
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  const double value = loss.item();
  if (!std::isfinite(value)) return value;  // the caller stops before any update
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
  return value;
}

void Trainer::save(const fs::path& path) {
  save_checkpoint(path, *model_, optimizer_.get(), config_, model_->spec().describe(), state_);
}

Evaluation Trainer::validate() {
  EvalSettings es;
  es.device = device_;
  es.batch_size = config_.batch_size;
  es.workers = config_.workers;
  es.flip_test = config_.flip_test;
  es.skip_undecodable = config_.skip_bad;
  return evaluate_model(*model_, *val_set_, val_gt_, es);
}

TrainResult Trainer::run() {
  TrainResult result;
  const models::ModelSpec& spec = model_->spec();
  StepSchedule schedule;
  schedule.base_lr = config_.lr;
  schedule.milestones = config_.lr_steps;
  schedule.factor = config_.lr_factor;
  schedule.validate();

  LoaderConfig lc;
  lc.batch_size = config_.batch_size;
  lc.workers = config_.workers;
  lc.shuffle = true;
  lc.drop_last = true;
  lc.augment = true;
  lc.seed = config_.seed;
  lc.replace_undecodable = config_.skip_bad;
  lc.augmentation.scale_factor = config_.scale_factor;
  lc.augmentation.rotation_factor = config_.rotation_factor;
  lc.augmentation.rotation_prob = config_.rotation_prob;
  lc.augmentation.flip = config_.flip;
  lc.crop.input_width = spec.input_w;
  lc.crop.input_height = spec.input_h;
  lc.heatmap_width = spec.heatmap_w();
  lc.heatmap_height = spec.heatmap_h();
  lc.sigmas.start = config_.stage_sigmas(spec.stages());
  lc.sigmas.end = config_.stage_sigmas_final(spec.stages());
  lc.sigmas.epochs = config_.epochs;
  lc.sigmas.validate();
  DataLoader loader(train_set_, lc);
  int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch == 0)
    throw InputError(detail::concat("the training set has ", train_set_->size(), " samples, fewer than one batch of ",
                                    config_.batch_size, ": lower --batch-size"));
  if (config_.max_steps > 0 && config_.max_steps < steps_per_epoch) steps_per_epoch = config_.max_steps;

  if (config_.resume)
    std::cerr << "posenet: resuming " << spec.describe() << " at epoch " << state_.epoch + 1 << ", batch "
              << state_.batch << " (step " << state_.global_step << ")\n";
  else
    std::cerr << "posenet: training " << spec.describe() << " on " << train_set_->size() << " samples ("
              << steps_per_epoch << " steps per epoch, " << config_.epochs << " epochs) on " << device_.str() << "\n";
  log_.write({{"type", "start"}, {"model", spec.describe()}, {"resume", config_.resume},
              {"epoch", state_.epoch}, {"batch", state_.batch}, {"global_step", state_.global_step},
              {"train_samples", train_set_->size()}, {"val_samples", has_val_ ? val_set_->size() : 0}});

  const bool interactive = config_.progress && isatty(STDERR_FILENO);
  std::vector<double> stage_losses;
  for (int64_t epoch = state_.epoch; epoch < config_.epochs; ++epoch) {
    loader.start_epoch(epoch, state_.batch);
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.epochs), steps_per_epoch,
                    config_.batch_size, interactive);
    double epoch_loss = 0.0;
    int64_t epoch_steps = 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    for (int64_t b = state_.batch; b < steps_per_epoch; ++b) {
      std::optional<Batch> batch = loader.next();
      if (!batch) break;
      const double lr = schedule.lr(int(epoch), long(state_.global_step));
      optimizer_->set_lr(lr);
      const auto t0 = std::chrono::steady_clock::now();
      const double loss = train_step(*batch, stage_losses);
      if (!std::isfinite(loss)) {
        log_.write({{"type", "error"}, {"epoch", epoch}, {"batch", b}, {"global_step", state_.global_step},
                    {"message", "non-finite loss"}});
        if (config_.progress) bar.finish();
        throw Error(detail::concat("non-finite loss (", loss, ") at epoch ", epoch + 1, ", batch ", b, " (step ",
                                   state_.global_step + 1, "): training stopped before applying it. ",
                                   fs::exists(last_checkpoint()) ? "The last good checkpoint " +
                                                                       last_checkpoint().string() + " is intact. "
                                                                 : "",
                                   "Try a lower --lr, or check the data."));
      }
      const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++state_.global_step;
      state_.batch = b + 1;
      state_.last_loss = loss;
      epoch_loss += loss;
      ++epoch_steps;
      result.step_losses.push_back(loss);
      log_.write({{"type", "step"}, {"epoch", epoch}, {"batch", b}, {"global_step", state_.global_step},
                  {"loss", loss}, {"stage_losses", stage_losses}, {"lr", lr},
                  {"images_per_second", step_seconds > 0 ? double(batch->size()) / step_seconds : 0.0}});
      if (config_.progress) bar.update(b + 1, loss, lr);
      if (config_.save_every > 0 && state_.global_step % config_.save_every == 0) save(last_checkpoint());
      if (stop_requested() || (config_.stop_after > 0 && state_.global_step >= config_.stop_after)) {
        if (config_.progress) bar.finish();
        save(last_checkpoint());
        log_.write({{"type", "stopped"}, {"epoch", epoch}, {"batch", state_.batch}, {"global_step", state_.global_step}});
        std::cerr << "posenet: stopped; checkpoint saved to " << last_checkpoint().string()
                  << " (continue with --resume)\n";
        result.interrupted = true;
        result.steps = state_.global_step;
        result.last_loss = loss;
        result.best_pckh = state_.best_pckh;
        return result;
      }
    }
    if (config_.progress) bar.finish();
    state_.epoch = epoch + 1;
    state_.batch = 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    nlohmann::json epoch_record = {{"type", "epoch"}, {"epoch", epoch}, {"global_step", state_.global_step},
                                   {"mean_loss", epoch_steps ? epoch_loss / double(epoch_steps) : 0.0},
                                   {"seconds", seconds}};
    const bool last_epoch = epoch + 1 == config_.epochs;
    if (has_val_ && ((epoch + 1) % config_.val_every == 0 || last_epoch)) {
      Evaluation ev = validate();
      std::cout << "\nValidation PCKh after epoch " << epoch + 1 << " (" << val_set_->size() << " persons"
                << (config_.flip_test ? ", flip test" : "") << "):\n";
      std::vector<std::pair<std::string, eval::PckhResult>> rows;
      nlohmann::json stages = nlohmann::json::array();
      for (const auto& r : ev.rows) {
        rows.push_back({r.label, r.pckh});
        stages.push_back({{"label", r.label}, {"pckh", r.pckh.to_json()}});
      }
      eval::print_pckh_table(std::cout, rows);
      std::cout.flush();
      epoch_record["validation"] = stages;
      const double mean = ev.final_stage().pckh.mean;
      eval::write_predictions_mat(out_dir_ / "pred_valid.mat",
                                  predictions_for_every_person(ev.final_stage().predictions, *val_set_, val_gt_persons_));
      if (mean > state_.best_pckh) {
        state_.best_pckh = mean;
        save(best_checkpoint());
        epoch_record["best"] = true;
      }
      result.has_validation = true;
      result.last_validation = std::move(ev);
    } else if (!has_val_) {
      save(best_checkpoint());  // no validation: the latest weights are the best we know
    }
    save(last_checkpoint());
    log_.write(epoch_record);
    result.epochs_done = epoch + 1;
  }
  result.steps = state_.global_step;
  result.last_loss = state_.last_loss;
  result.best_pckh = state_.best_pckh;
  return result;
}

}  // namespace posenet::train
