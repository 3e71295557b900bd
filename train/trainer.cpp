#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "models/growth.h"
#include "models/pretrained.h"
#include "models/spec.h"
#include "train/coco_predict.h"
#include "train/loader.h"
#include "train/output_dir.h"
#include "train/precision.h"
#include "train/resume.h"
#include "train/schedule.h"
#include "train/stop.h"
#include "train/train_step.h"
#include "train/validation_report.h"

namespace posenet::train {

namespace fs = std::filesystem;

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  out_dir_ = config_.out;
  comm_ = &dist::process_communicator();
  comm_->set_timeout(std::chrono::milliseconds(int64_t(config_.collective_timeout * 1000)));
  // A new run's settings are checked before its folder is created, so bad
  // ones leave nothing behind; a resume checks them after merging with its
  // checkpoint's.
  if (!config_.resume) check_settings(false);
  // Taken before anything is written (a resume of a folder that does not
  // exist fails below without creating it).
  // Rank 0 alone locks and writes the folder; the other ranks only read it.
  if (writes_files() && (!config_.resume || fs::exists(out_dir_))) lock_ = FolderLock::acquire(out_dir_, "--out");
  std::optional<Checkpoint> resume_from;
  std::vector<SettingChange> changes;
  if (config_.resume) {
    resume_from = read_resume_checkpoint(out_dir_);
    ResumedConfig resumed = resumed_config(*resume_from, config_);
    config_ = std::move(resumed.config);
    changes = std::move(resumed.changes);
    state_ = resume_from->state;
    check_settings(true);
  } else if (writes_files()) {
    refuse_to_overwrite_a_run(out_dir_);
  }
  if (writes_files()) {
    check_writable_directory(out_dir_);
    remove_stale_temporaries(out_dir_);
    data_ = prepare_training_data(config_, out_dir_);  // renders synthetic data once, for every rank
  }
  {
    // Rank 0 may take long here (rendering, checking every image header of
    // a large set): the others wait up to an hour, not the step timeout.
    const auto step_timeout = comm_->timeout();
    comm_->set_timeout(std::max<std::chrono::milliseconds>(step_timeout, std::chrono::hours(1)));
    comm_->barrier();
    comm_->set_timeout(step_timeout);
  }
  if (!writes_files()) data_ = prepare_training_data(config_, out_dir_);
  if (comm_->size() > 1) require_the_same_data_on_every_rank();
  if (comm_->size() > 1) parallel_ = std::make_unique<DataParallel>(*comm_, config_.sync_bn);
  if (resume_from) warn_if_training_set_changed(*resume_from, data_.train->size());
  state_.train_samples = int64_t(data_.train->size());
  build_model(resume_from ? &*resume_from : nullptr);
  build_optimizer();
  if (resume_from) optimizer_->load_state(resume_from->optimizer_state);
  if (writes_files()) log_.open((out_dir_ / "log.jsonl").string(), config_.resume);
  for (const SettingChange& change : changes) {
    if (!writes_files()) break;
    std::cerr << "posenet: resuming with " << change.option << " " << change.new_value.dump() << " (was "
              << change.old_value.dump() << ")\n";
    log_.write(change.to_log_record());
  }
  // Readable back as a config file (posenet train --config <out>/config.json):
  // "resume" is how this process started, not a setting of the run.
  nlohmann::json settings = config_.to_json();
  settings.erase("resume");
  if (writes_files()) write_text_file_atomically(out_dir_ / "config.json", settings.dump(2) + "\n");
}

Trainer::~Trainer() = default;

// Every rank reads the data itself: a rank that sees other files (a copy
// not yet synced, --skip-bad dropping other entries) would train on other
// samples and call other collectives. Ranks whose counts differ from the
// mean over the ranks end the run, naming themselves.
void Trainer::require_the_same_data_on_every_rank() {
  const double train = double(data_.train->size()), val = data_.has_validation() ? double(data_.val->size()) : 0.0;
  Tensor sums = Tensor::from_data({2}, std::vector<double>{train, val}, DType::F64);
  comm_->all_reduce_sum(sums);
  const std::vector<double> mean{sums.to_vector()[0] / comm_->size(), sums.to_vector()[1] / comm_->size()};
  if (mean[0] != train || mean[1] != val)
    comm_->abort(detail::concat("the ranks read different data: this rank has ", train, " training and ", val,
                                " validation samples, the mean over the ranks is ", mean[0], " and ", mean[1],
                                " (is --data the same files on every machine?)"));
}

void Trainer::check_settings(bool resuming) {
  config_.validate();
  device_ = parse_device(config_.device);
  // One GPU per process: "cuda" means the one of this process's local rank.
  if (comm_->size() > 1 && device_.is_cuda() && config_.device == "cuda")
    device_ = Device::cuda(dist::local_cuda_index(comm_->world()));
  (void)backend_for(device_);  // a device that is not there fails before any data is rendered
  if (config_.cuda_graph && !device_.is_cuda())
    throw InputError(detail::concat("--cuda-graph needs a CUDA device (--device cuda), got --device ", device_.str(),
                                    ": CUDA graphs replay work queued on a GPU stream"));
  if (config_.cuda_graph && comm_->size() > 1)
    throw InputError("--cuda-graph is for one process: a data-parallel run's gradient all-reduces are started and "
                     "waited for by the host, which a CUDA graph cannot replay; drop --cuda-graph under mpirun");
  // Stored resolved (config.json, checkpoints): a resumed run keeps its
  // precision unless --precision is given.
  const Precision precision = resolve_precision(config_.precision, device_);
  if (!resuming) config_.precision = precision_name(precision);
  if (config_.sync_bn && precision == Precision::BF16)
    throw InputError("invalid training setting: --sync-bn cannot be combined with --precision bf16 yet (the "
                     "cross-process batch-norm statistics take float32 inputs): use --precision tf32 or fp32");
  // The first data set decides the keypoint set (train/dataset.h); a resumed
  // run keeps its own, and its data must still give it.
  const eval::KeypointSet& data_keypoints = keypoint_set_of_specs(config_.data);
  if (!resuming) config_.keypoints = data_keypoints.name;
  eval::require_same_keypoint_set(eval::keypoint_set_named(config_.keypoints), data_keypoints,
                                  "training data " + config_.data);
  // A bad model name, sigma count or pretrained value fails before any data
  // is read or rendered.
  const models::ModelSpec spec = model_spec_of(config_);
  (void)config_.stage_sigmas(spec.stages());
  (void)config_.stage_sigmas_final(spec.stages());
  if (resuming) return;
  const models::PretrainedFiles files = models::parse_pretrained_files(config_.pretrained, spec);
  // Growth loads only the new stage's encoder (and copies the last stage without a file).
  if (!files.empty() && config_.init_from.empty()) models::check_every_depth_has_a_file(files, spec);
  for (const auto& [depth, path] : files)
    if (!fs::exists(path))
      throw InputError(detail::concat(path.string(), ": no such file (pretrained ResNet-", depth, " weights)"));
}

void Trainer::build_model(const Checkpoint* resume_from) {
  models::ModelSpec spec = model_spec_of(config_);
  Generator gen = Generator(config_.seed).fork(0x6d6f64656cULL);  // model-initialisation stream
  if (!config_.init_from.empty() && !resume_from) {
    Checkpoint from = read_checkpoint(config_.init_from);
    if (!from.has_config)
      throw InputError(config_.init_from + ": not a posenet training checkpoint (needed to know its model)");
    eval::require_same_keypoint_set(eval::keypoint_set_named(config_.keypoints), keypoint_set_of(from),
                                    config_.init_from);
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
  apply_precision(*model_, resolve_precision(config_.precision, device_));
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

std::ostream& Trainer::report_stream() {
  static std::ostream nowhere(nullptr);
  return writes_files() ? std::cout : nowhere;
}

void Trainer::save(const fs::path& path) {
  if (!writes_files()) return;
  save_checkpoint(path, *model_, optimizer_.get(), config_, model_->spec().describe(), state_);
}

void Trainer::stop_on_non_finite(const StepOutcome& step, int64_t epoch, int64_t batch, int64_t global_step) {
  const std::string what = step.non_finite == NonFinite::kLoss       ? detail::concat("non-finite loss (", step.loss, ")")
                           : step.non_finite == NonFinite::kGradient ? std::string("non-finite gradient")
                                                                     : std::string("non-finite weight after the update");
  const char* outcome = step.non_finite == NonFinite::kWeight ? "training stopped without saving it"
                                                              : "training stopped before applying it";
  log_.write({{"type", "error"}, {"epoch", epoch}, {"batch", batch}, {"global_step", global_step - 1},
              {"message", what.substr(0, what.find(" ("))}});
  throw Error(detail::concat(what, " at epoch ", epoch + 1, ", batch ", batch, " (step ", global_step,
                             "): ", outcome, ". ",
                             fs::exists(last_checkpoint())
                                 ? "The last good checkpoint " + last_checkpoint().string() + " is intact. "
                                 : "",
                             "Try a lower --lr, or check the data."));
}

void Trainer::stop_with_checkpoint(int64_t epoch) {
  save(last_checkpoint());
  log_.write({{"type", "stopped"}, {"epoch", epoch}, {"batch", state_.batch}, {"global_step", state_.global_step}});
  // A signalled rank exits 128 + signal, and mpirun then ends the others:
  // none leaves before rank 0 has written the checkpoint.
  comm_->barrier();
  if (writes_files()) std::cerr << "posenet: stopped; checkpoint saved to " << last_checkpoint().string() << " (continue with --resume)\n";
}

void Trainer::validate_epoch(int64_t epoch, nlohmann::json& epoch_record, TrainResult& result) {
  EvalSettings es;
  es.device = device_;
  es.batch_size = config_.batch_size;
  es.workers = config_.workers;
  es.flip_test = config_.flip_test;
  es.skip_undecodable = config_.skip_bad;
  if (comm_->size() > 1) es.comm = comm_;  // validation sharded across ranks
  if (data_.val_coco) {  // COCO keypoints: OKS AP (%) is the run's validation score
    const std::vector<eval::CocoDetection> detections = predict_coco_persons(*model_, *data_.val, es);
    const eval::CocoStats stats = eval::evaluate_coco_keypoints(*data_.val_coco, detections);
    epoch_record["validation"] = report_coco_validation(report_stream(), stats, epoch + 1, data_.val->size(), config_.flip_test);
    if (writes_files())
      write_text_file_atomically(out_dir_ / "results_valid.json", eval::coco_results_json(detections).dump() + "\n");
    if (stats.ap() >= 0 && stats.ap() * 100 > state_.best_score) {
      state_.best_score = stats.ap() * 100;
      save(best_checkpoint());
      epoch_record["best"] = true;
    }
    return;  // result.last_validation holds PCKh evaluations only
  }
  Evaluation ev = evaluate_model(*model_, *data_.val, data_.val_gt, es);
  epoch_record["validation"] = report_validation(report_stream(), ev, epoch + 1, data_.val->size(), config_.flip_test);
  if (writes_files())
    eval::write_predictions_mat(out_dir_ / "pred_valid.mat", predictions_for_every_person(
                                                                 ev.final_stage().predictions, *data_.val,
                                                                 data_.val_gt_persons));
  const double mean = ev.final_stage().pckh.mean;
  if (mean > state_.best_score) {  // best-epoch tracking: the best checkpoint follows the best mean PCKh
    state_.best_score = mean;
    save(best_checkpoint());
    epoch_record["best"] = true;
  }
  result.has_validation = true;
  result.last_validation = std::move(ev);
}

void Trainer::finish_epoch(int64_t epoch, nlohmann::json epoch_record, TrainResult& result) {
  const bool last_epoch = epoch + 1 == config_.epochs;
  if (data_.has_validation() && ((epoch + 1) % config_.val_every == 0 || last_epoch))
    validate_epoch(epoch, epoch_record, result);
  else if (!data_.has_validation())
    save(best_checkpoint());  // no validation: the latest weights are the best we know
  save(last_checkpoint());
  log_.write(epoch_record);
  result.epochs_done = epoch + 1;
}

void Trainer::continue_on_this_world_size(int64_t steps_per_epoch) {
  const int64_t size = comm_->size();
  if (state_.world_size != size && state_.batch > 0) {
    // The checkpoint counts batches of its own global size: continue after
    // the samples it took, at the next whole batch of the new global size.
    const int64_t taken = state_.batch * state_.world_size * config_.batch_size;
    const int64_t global = size * config_.batch_size;
    const int64_t batch = std::min(steps_per_epoch, (taken + global - 1) / global);
    if (writes_files())
      std::cerr << "posenet: the run had " << state_.world_size << " processes, now " << size
                << ": the global batch is " << global << " samples; epoch " << state_.epoch + 1
                << " continues at batch " << batch << " (" << taken << " samples were taken)\n";
    state_.batch = batch;
  }
  state_.world_size = size;
}

TrainResult Trainer::run() {
  TrainResult result;
  const models::ModelSpec& spec = model_->spec();
  StepSchedule schedule;
  schedule.base_lr = config_.lr;
  schedule.milestones = config_.lr_steps;
  schedule.factor = config_.lr_factor;
  schedule.validate();

  LoaderConfig loader_config = training_loader_config(config_, spec);
  loader_config.shard_rank = comm_->rank();  // each rank its rows of every global batch
  loader_config.shard_count = comm_->size();
  DataLoader loader(data_.train, loader_config);
  int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch == 0)
    throw InputError(detail::concat("the training set has ", data_.train->size(), " samples, fewer than one batch of ",
                                    config_.batch_size * comm_->size(),
                                    comm_->size() > 1 ? " (--batch-size times the processes)" : "",
                                    ": lower --batch-size"));
  if (config_.max_steps > 0 && config_.max_steps < steps_per_epoch) steps_per_epoch = config_.max_steps;
  continue_on_this_world_size(steps_per_epoch);
  const bool show = writes_files();  // rank 0 speaks for the run

  if (show && config_.resume)
    std::cerr << "posenet: resuming " << spec.describe() << " at epoch " << state_.epoch + 1 << ", batch "
              << state_.batch << " (step " << state_.global_step << ")\n";
  else if (show)
    std::cerr << "posenet: training " << spec.describe() << " on " << data_.train->size() << " samples ("
              << steps_per_epoch << " steps per epoch, " << config_.epochs << " epochs) on " << device_.str()
              << (comm_->size() > 1 ? detail::concat(" and ", comm_->size() - 1, " more processes (", comm_->kind(),
                                                     config_.sync_bn ? ", synchronised batch norm)" : ")")
                                    : std::string())
              << "\n";
  log_.write({{"type", "start"}, {"model", spec.describe()}, {"resume", config_.resume},
              {"epoch", state_.epoch}, {"batch", state_.batch}, {"global_step", state_.global_step},
              {"world_size", comm_->size()}, {"train_samples", data_.train->size()}, {"val_samples", data_.has_validation() ? data_.val->size() : 0}});

  const bool progress = config_.progress && show;
  const bool interactive = progress && isatty(STDERR_FILENO);
  // With --sync-bn, batch norm sums its statistics over the ranks while this lives.
  const std::unique_ptr<ops::SyncBatchNormScope> sync_bn = parallel_ ? parallel_->sync_batch_norm_scope() : nullptr;
  // Each step's values come back while the next step runs (train_step.h):
  // a step's record is written when they arrive, and the last step's are
  // waited for before anything is saved and at the end of the epoch.
  TrainStepper stepper(*model_, *optimizer_, device_,
                       ops::ImageNormalization::from_mean_std(loader.config().crop.mean, loader.config().crop.std),
                       parallel_.get(), config_.cuda_graph);
  struct QueuedStep {
    int64_t epoch = 0, batch = 0, global_step = 0, rows = 0;
    double lr = 0, seconds = 0;
    BackendCounters counts;
    const char* kind = "eager";  // with --cuda-graph: eager, capture or replay
  };
  std::optional<QueuedStep> queued;
  for (int64_t epoch = state_.epoch; epoch < config_.epochs; ++epoch) {
    loader.start_epoch(epoch, state_.batch);
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.epochs), steps_per_epoch,
                    config_.batch_size * comm_->size(), interactive, long(state_.batch));
    double epoch_loss = 0.0;
    int64_t epoch_steps = 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    // The queued step's values have arrived: stop on a non-finite one, else log it.
    const auto complete = [&](const StepOutcome& step) {
      const QueuedStep q = *queued;
      queued.reset();
      if (!step.ok()) {
        if (progress) bar.finish();
        stop_on_non_finite(step, q.epoch, q.batch, q.global_step);
      }
      state_.last_loss = step.loss;
      epoch_loss += step.loss;
      ++epoch_steps;
      result.step_losses.push_back(step.loss);
      nlohmann::json record{{"type", "step"}, {"epoch", q.epoch}, {"batch", q.batch}, {"global_step", q.global_step},
                            {"loss", step.loss}, {"stage_losses", step.stage_losses}, {"lr", q.lr},
                            {"images_per_second", q.seconds > 0 ? double(q.rows * comm_->size()) / q.seconds : 0.0},
                            {"alloc_calls", q.counts.alloc_calls}, {"host_syncs", q.counts.host_syncs},
                            {"h2d_bytes", q.counts.h2d_bytes}};
      if (config_.cuda_graph) record["cuda_graph"] = q.kind;
      log_.write(record);
      if (progress) bar.update(q.batch + 1, step.loss, q.lr);
    };
    const auto wait_for_queued_step = [&] {
      if (std::optional<StepOutcome> step = stepper.flush()) complete(*step);
    };
    for (int64_t b = state_.batch; b < steps_per_epoch; ++b) {
      std::optional<Batch> batch;
      try {
        batch = loader.next();
      } catch (...) {
        // The queued step is logged (or stops the run) before the loader's
        // error; not with other ranks, which are in the next step's
        // collectives already: the error then ends every rank at once.
        if (comm_->size() == 1) wait_for_queued_step();
        throw;
      }
      if (!batch) break;
      const double lr = schedule.lr(int(epoch), long(state_.global_step));
      optimizer_->set_lr(lr);
      Backend& backend = backend_for(device_);
      const BackendCounters counters_before = backend.counters();
      const auto t0 = std::chrono::steady_clock::now();
      const std::optional<StepOutcome> previous = stepper.step(*batch);
      const BackendCounters step_counts = backend.counters() - counters_before;
      if (parallel_ && !config_.sync_bn) parallel_->average_buffers(*model_);  // running statistics alike on all ranks
      const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (previous) complete(*previous);
      queued = QueuedStep{epoch, b, state_.global_step + 1, batch->size(), lr, step_seconds, step_counts,
                          stepper.last_step_kind()};
      ++state_.global_step;
      state_.batch = b + 1;
      if (config_.save_every > 0 && state_.global_step % config_.save_every == 0) {
        wait_for_queued_step();  // a non-finite step is never saved
        save(last_checkpoint());
      }
      // A signal to any rank stops every rank at the same step.
      const bool signalled = parallel_ ? parallel_->any(stop_requested()) : stop_requested();
      if (signalled || (config_.stop_after > 0 && state_.global_step >= config_.stop_after)) {
        wait_for_queued_step();
        if (progress) bar.finish();
        stop_with_checkpoint(epoch);
        result.interrupted = true;
        result.steps = state_.global_step;
        result.last_loss = state_.last_loss;
        result.best_score = state_.best_score;
        return result;
      }
    }
    wait_for_queued_step();
    if (progress) bar.finish();
    state_.epoch = epoch + 1;
    state_.batch = 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    finish_epoch(epoch,
                 {{"type", "epoch"}, {"epoch", epoch}, {"global_step", state_.global_step},
                  {"mean_loss", epoch_steps ? epoch_loss / double(epoch_steps) : 0.0}, {"seconds", seconds}},
                 result);
  }
  result.steps = state_.global_step;
  result.last_loss = state_.last_loss;
  result.best_score = state_.best_score;
  return result;
}

}  // namespace posenet::train
