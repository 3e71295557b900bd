// The training loop: exact resume, clean stops, non-finite losses, refusing
// to overwrite a run, and the checkpoint contents; ImageNet weights per
// encoder depth (also when growing), and the shipped configs.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <sys/wait.h>
#include <tuple>
#include <fstream>
#include <set>

#include "cli/app.h"
#include "core/safetensors.h"
#include "models/pretrained.h"
#include "models/resnet.h"
#include "run_files.h"
#include "test_util.h"
#include "core/safetensors.h"
#include "models/spec.h"
#include "train/checkpoint.h"
#include "train/image.h"
#include "train/synthetic.h"
#include "train/validate.h"
#include "train/stop.h"
#include "train/trainer.h"


namespace posenet {
namespace {

namespace fs = std::filesystem;

// A run small enough for a unit test: the tiny model at an eighth of
// ResNet-18's widths on 32x32 inputs, 3 steps of 4 images per epoch.
train::TrainConfig tiny_config(const fs::path& out) {
  train::TrainConfig c;
  c.model = "tiny";
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 32;
  c.data = "synthetic";
  c.synthetic_count = 40;
  c.synthetic_size = 48;
  c.epochs = 2;
  c.batch_size = 4;
  c.max_steps = 3;
  c.lr = 1e-3;
  c.lr_steps = {1};
  c.sigmas = {1.0};
  c.workers = 2;
  c.seed = 5;
  c.val_every = 1;
  c.progress = false;
  c.out = out.string();
  return c;
}

TEST(Trainer, ResumeContinuesExactlyLikeAnUninterruptedRun) {
  const fs::path a = testing::temp_dir("trainer_a"), b = testing::temp_dir("trainer_b");
  train::TrainResult straight = train::Trainer(tiny_config(a)).run();
  ASSERT_EQ(straight.step_losses.size(), 6u);
  ASSERT_FALSE(straight.interrupted);

  // Stop in the middle of the second epoch, then resume with another number
  // of loader workers: the remaining losses must be bit-identical.
  train::TrainConfig first = tiny_config(b);
  first.stop_after = 4;
  train::TrainResult part1 = train::Trainer(first).run();
  ASSERT_TRUE(part1.interrupted);
  ASSERT_EQ(part1.step_losses.size(), 4u);
  train::TrainConfig again = tiny_config(b);
  again.resume = true;
  again.workers = 0;
  train::TrainResult part2 = train::Trainer(again).run();
  ASSERT_EQ(part2.step_losses.size(), 2u);
  std::vector<double> joined = part1.step_losses;
  joined.insert(joined.end(), part2.step_losses.begin(), part2.step_losses.end());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], straight.step_losses[i]) << "step " << i;
  // ... and the final weights too.
  auto ca = train::read_checkpoint(a / "last.safetensors"), cb = train::read_checkpoint(b / "last.safetensors");
  ASSERT_EQ(ca.model_state.size(), cb.model_state.size());
  for (const auto& [name, t] : ca.model_state) EXPECT_EQ(t.to_vector(), cb.model_state.at(name).to_vector()) << name;
  for (const auto& [name, t] : ca.optimizer_state)
    EXPECT_EQ(t.to_vector(), cb.optimizer_state.at(name).to_vector()) << name;
  EXPECT_EQ(ca.counters, cb.counters);
  EXPECT_TRUE(straight.has_validation);
  EXPECT_EQ(straight.last_validation.final_stage().pckh.mean, part2.last_validation.final_stage().pckh.mean);
}

TEST(Trainer, CheckpointHoldsWeightsOptimizerConfigAndProgress) {
  const fs::path dir = testing::temp_dir("trainer_ck");
  train::TrainConfig c = tiny_config(dir);
  c.epochs = 1;
  train::Trainer t(c);
  t.run();
  train::Checkpoint ck = train::read_checkpoint(t.last_checkpoint());
  ASSERT_TRUE(ck.has_config);
  EXPECT_EQ(ck.config.model, "tiny");
  EXPECT_EQ(ck.state.epoch, 1);
  EXPECT_EQ(ck.state.batch, 0);
  EXPECT_EQ(ck.state.global_step, 3);
  // The RNG state, explicitly: what every random stream is derived from.
  const auto rng = nlohmann::json::parse(ck.metadata.at("rng"));
  EXPECT_EQ(rng.at("seed").get<uint64_t>(), 5u);
  EXPECT_EQ(rng.at("epoch").get<int64_t>(), 1);
  EXPECT_EQ(rng.at("batch").get<int64_t>(), 0);
  EXPECT_EQ(rng.at("train_samples").get<int64_t>(), 36);  // 40 synthetic images, 4 held out for validation
  EXPECT_EQ(rng.at("scheme").get<std::string>(), train::kRngScheme);
  ASSERT_TRUE(ck.rng.has_value());
  EXPECT_EQ(ck.rng->seed, 5u);
  EXPECT_TRUE(ck.model_state.count("encoder.conv1.weight"));
  EXPECT_TRUE(ck.optimizer_state.count("step"));
  EXPECT_GT(ck.optimizer_state.size(), 2u);
  EXPECT_TRUE(fs::exists(t.best_checkpoint()));
  EXPECT_TRUE(fs::exists(dir / "log.jsonl"));
  EXPECT_TRUE(fs::exists(dir / "pred_valid.mat"));
  // The best validation score (Mean PCKh here); checkpoints written before
  // it was renamed hold it as best_pckh, and still load.
  EXPECT_GE(ck.state.best_score, 0.0);
  std::string bytes = testing::file_bytes(t.last_checkpoint());
  const std::string key = "\\\"best_score\\\"";  // as escaped inside the metadata string
  const size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, key.size(), "\\\"best_pckh\\\" ");  // same length: the header size stays right
  testing::write_bytes(dir / "legacy.safetensors", bytes);
  EXPECT_EQ(train::read_checkpoint(dir / "legacy.safetensors").state.best_score, ck.state.best_score);
  // The checkpoint rebuilds the same model.
  auto model = train::load_model_from_checkpoint(ck, Device::cpu());
  EXPECT_EQ(model->spec().name(), t.model().spec().name());
  // Every log line is a JSON object.
  std::ifstream log(dir / "log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("type"));
    if (j.value("type", "") == "step") {
      // The step counters on the CPU: every step allocates its activations
      // from the heap, never waits, and copies nothing (the batch is already
      // in host memory).
      for (const char* key : {"alloc_calls", "host_syncs", "h2d_bytes"})
        ASSERT_TRUE(j.contains(key) && j.at(key).is_number_unsigned()) << key << " in " << line;
      EXPECT_GT(j.at("alloc_calls").get<uint64_t>(), 0u) << line;
      EXPECT_EQ(j.at("host_syncs").get<uint64_t>(), 0u) << line;
      EXPECT_EQ(j.at("h2d_bytes").get<uint64_t>(), 0u) << line;
    }
    ++lines;
  }
  EXPECT_EQ(lines, 1 + 3 + 1);  // start, 3 steps, epoch
}

TEST(Trainer, ResumeChecksTheSeedAndTheRngRecord) {
  const fs::path dir = testing::temp_dir("trainer_rng");
  train::TrainConfig c = tiny_config(dir);
  c.stop_after = 1;
  c.val_every = 0;
  ASSERT_TRUE(train::Trainer(c).run().interrupted);
  // Another explicit seed on resume: an error naming both seeds; the checkpoint is kept.
  train::TrainConfig again = tiny_config(dir);
  again.resume = true;
  again.seed = 6;
  again.seed_given = true;
  try {
    train::Trainer t(again);
    ADD_FAILURE() << "resuming with another --seed must be refused";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--seed 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--seed 6"), std::string::npos) << msg;
  }
  // The same seed given again, or none (the default value is not a choice): fine.
  again.seed = 5;
  EXPECT_NO_THROW(train::Trainer{again});
  again.seed = 0;
  again.seed_given = false;
  EXPECT_NO_THROW(train::Trainer{again});
  // An rng record that disagrees with the progress record is a corrupt checkpoint.
  auto file = safetensors::File::read(dir / "last.safetensors");
  std::map<std::string, std::string> metadata = file.metadata();
  auto rng = nlohmann::json::parse(metadata.at("rng"));
  rng["batch"] = 2;
  metadata["rng"] = rng.dump();
  std::map<std::string, Tensor> tensors;
  for (const auto& e : file.entries())
    if (e.dtype != "I64") tensors.emplace(e.name, file.tensor(e.name));
  safetensors::save(dir / "tampered.safetensors", tensors, metadata);
  try {
    train::read_checkpoint(dir / "tampered.safetensors");
    ADD_FAILURE() << "a disagreeing rng record must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rng record"), std::string::npos) << e.what();
  }
  // Counters stored as floats (here one far outside int64) are refused by name.
  rng["batch"] = 1e300;
  metadata["rng"] = rng.dump();
  safetensors::save(dir / "float_counter.safetensors", tensors, metadata);
  try {
    train::read_checkpoint(dir / "float_counter.safetensors");
    ADD_FAILURE() << "a float counter must be refused";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("float_counter.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'batch' is not an integer"), std::string::npos) << msg;
  }
}

TEST(Trainer, RefusesToOverwriteARunAndToResumeNothing) {
  const fs::path dir = testing::temp_dir("trainer_refuse");
  train::TrainConfig c = tiny_config(dir);
  c.epochs = 1;
  c.max_steps = 1;
  c.val_every = 0;
  train::Trainer(c).run();
  const auto before = fs::last_write_time(dir / "last.safetensors");
  try {
    train::Trainer again(c);
    FAIL() << "a second run into the same directory must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fs::last_write_time(dir / "last.safetensors"), before);
  train::TrainConfig nothing = tiny_config(testing::temp_dir("trainer_nothing"));
  nothing.resume = true;
  EXPECT_THROW(train::Trainer{nothing}, InputError);
}

TEST(Trainer, UnwritableOutputDirectoryIsReportedBeforeTraining) {
  const fs::path dir = testing::temp_dir("trainer_unwritable");
  std::ofstream(dir / "a_file") << "x";
  train::TrainConfig c = tiny_config(dir / "a_file" / "run");
  try {
    train::Trainer t(c);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a_file"), std::string::npos) << e.what();
  }
}

TEST(Trainer, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  const fs::path dir = testing::temp_dir("trainer_nan");
  train::TrainConfig c = tiny_config(dir);
  c.epochs = 1;
  c.max_steps = 10;
  c.save_every = 1;
  c.val_every = 0;
  c.lr = 1e30;  // diverges within a couple of steps
  c.optimizer = "sgd";
  c.momentum = 0.0;
  try {
    train::Trainer(c).run();
    FAIL() << "expected the run to stop on a non-finite loss";
  } catch (const Error& e) {
    // The loss, a gradient or the updated weights go non-finite first,
    // depending on the step at which the overflow happens.
    EXPECT_NE(std::string(e.what()).find("non-finite "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is intact"), std::string::npos) << e.what();
  }
  // The checkpoint on disk loads and holds the last finite state.
  ASSERT_TRUE(fs::exists(dir / "last.safetensors"));
  train::Checkpoint ck = train::read_checkpoint(dir / "last.safetensors");
  EXPECT_GE(ck.state.global_step, 1);
  for (const auto& [name, t] : ck.model_state)
    for (double v : t.to_vector()) ASSERT_TRUE(std::isfinite(v)) << name;
}

TEST(Trainer, BadSettingsAreNamed) {
  train::TrainConfig c = tiny_config(testing::temp_dir("trainer_bad"));
  c.batch_size = 0;
  EXPECT_THROW(train::Trainer{c}, InputError);
  c = tiny_config(testing::temp_dir("trainer_bad2"));
  c.optimizer = "adagrad";
  try {
    train::Trainer t(c);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adagrad"), std::string::npos);
  }
  c = tiny_config(testing::temp_dir("trainer_bad3"));
  c.sigmas = {2.0, 1.0};  // two sigmas for a one-stage model
  EXPECT_THROW(train::Trainer(c).run(), InputError);
}

TEST(Trainer, SigmasFinalWithoutSigmasUsesTheDefaultStartSigmas) {
  train::TrainConfig c = tiny_config(testing::temp_dir("trainer_sigmas_final"));
  c.model = "tiny-multistage";
  c.sigmas = {};
  c.sigmas_final = {1.5, 1.25, 1.0};
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.stage_sigmas(3), (std::vector<double>{3.0, 2.5, 2.0}));
  EXPECT_EQ(c.stage_sigmas_final(3), (std::vector<double>{1.5, 1.25, 1.0}));
  c.sigmas_final = {1.0};  // one value for every stage, as --sigmas allows
  EXPECT_EQ(c.stage_sigmas_final(3), (std::vector<double>{1.0, 1.0, 1.0}));
  c.sigmas_final = {1.0, 1.0};
  try {
    (void)c.stage_sigmas_final(3);
    ADD_FAILURE() << "two final sigmas for three stages must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sigmas-final"), std::string::npos) << e.what();
  }
  // The trainer accepts the setting (it used to fail in validate()) and
  // refuses a wrong count before reading any data.
  c.model = "tiny";
  c.sigmas_final = {1.5};
  EXPECT_NO_THROW(train::Trainer{c});
  c = tiny_config(testing::temp_dir("trainer_sigmas_final2"));
  c.sigmas_final = {1.5, 1.0};
  EXPECT_THROW(train::Trainer{c}, InputError);
  EXPECT_FALSE(fs::exists(fs::path(c.out) / "synthetic"));
}

TEST(Validate, SecondMaximumRowsUseAndNameTheChosenRule) {
  const fs::path dir = testing::temp_dir("validate_second_max");
  train::write_synthetic_dataset(dir, {.count = 12, .val_count = 3, .seed = 3, .size = 48});
  const train::Dataset val = train::load_mpii_json(dir / "annot" / "valid.json", dir / "images");
  const fs::path gt_path = dir / "annot" / "gt_valid.mat";
  const eval::GroundTruth gt = train::select_ground_truth(eval::read_ground_truth_mat(gt_path), val, gt_path.string());
  train::TrainConfig c = tiny_config(dir);
  c.model = "tiny-multistage";
  Generator gen(1);
  auto model = models::build_model(train::model_spec_of(c), gen);
  train::EvalSettings es;
  es.batch_size = 4;
  es.workers = 0;
  es.flip_test = false;
  es.second_max_rows = true;
  const train::Evaluation mspn = train::evaluate_model(*model, val, gt, es);
  es.second_max_rule = eval::SecondMaxRule::kPaperMix;
  const train::Evaluation paper = train::evaluate_model(*model, val, gt, es);
  ASSERT_EQ(mspn.rows.size(), 5u);  // three stages, then the two intermediate ones by second maximum
  ASSERT_EQ(paper.rows.size(), 5u);
  EXPECT_EQ(mspn.rows[3].label, "stage 1 (second max, mspn)");
  EXPECT_EQ(mspn.rows[4].label, "stage 2 (second max, mspn)");
  EXPECT_EQ(paper.rows[3].label, "stage 1 (second max, paper)");
  EXPECT_EQ(paper.final_stage().label, "stage 3 (final)");
  // The plain rows do not depend on the rule; the second-maximum ones do.
  auto same = [](const eval::Predictions& a, const eval::Predictions& b) {
    for (size_t i = 0; i < a.size(); ++i)
      for (int j = 0; j < 16; ++j)
        if (a[i][j].x != b[i][j].x || a[i][j].y != b[i][j].y) return false;
    return a.size() == b.size();
  };
  EXPECT_TRUE(same(mspn.final_stage().predictions, paper.final_stage().predictions));
  EXPECT_FALSE(same(mspn.rows[3].predictions, paper.rows[3].predictions));
}

TEST(Trainer, BadImagesFailBeforeTrainingOrAreSkippedKeepingPredictionsAligned) {
  const fs::path data = testing::temp_dir("trainer_bad_images");
  train::write_synthetic_dataset(data, {.count = 40, .val_count = 4, .seed = 5, .size = 48});
  auto image_of = [&](const char* split, size_t entry) {
    std::ifstream in(data / "annot" / split);
    return data / "images" / nlohmann::json::parse(in)[entry]["image"].get<std::string>();
  };
  fs::remove(image_of("train.json", 3));                      // a missing training image
  std::ofstream(image_of("valid.json", 2), std::ios::trunc) << "not a jpeg";  // a broken validation image
  train::TrainConfig c = tiny_config(testing::temp_dir("trainer_bad_images_run"));
  c.data = "mpii:" + data.string();
  c.epochs = 1;
  c.max_steps = 1;
  // Without --skip-bad: one error naming the image and its entry, before any step.
  try {
    train::Trainer t(c);
    ADD_FAILURE() << "a missing training image must stop the run before training";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(image_of("train.json", 3).filename().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("train.json: entry 3"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(fs::path(c.out) / "last.safetensors"));
  // With it, both are skipped; pred_valid.mat still has one row per
  // ground-truth person, NaN for the skipped one.
  c.out = testing::temp_dir("trainer_bad_images_skip").string();
  c.skip_bad = true;
  train::TrainResult r = train::Trainer(c).run();
  ASSERT_TRUE(r.has_validation);
  EXPECT_EQ(r.last_validation.final_stage().pckh.persons, 3u);
  const eval::Predictions written = eval::read_predictions_mat(fs::path(c.out) / "pred_valid.mat");
  ASSERT_EQ(written.size(), 4u);
  for (size_t i = 0; i < written.size(); ++i)
    for (const auto& p : written[i]) EXPECT_EQ(std::isnan(p.x) && std::isnan(p.y), i == 2) << "person " << i;
  // Scored against the whole ground truth, the skipped person counts as misses.
  const eval::GroundTruth gt = eval::read_ground_truth_mat(data / "annot" / "gt_valid.mat");
  const eval::PckhResult all = eval::evaluate_pckh(written, gt);
  EXPECT_EQ(all.persons, 4u);
  EXPECT_LE(all.mean, 75.0 + 1e-9);

  // posenet eval --skip-bad writes its pred.mat the same way; without it the broken image stops it.
  auto cli = [](const std::string& args) {
    std::string out;
    FILE* pipe = popen((std::string(POSENET_CLI_PATH) + " " + args + " 2>&1").c_str(), "r");
    char buf[4096];
    while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
    const int status = pclose(pipe);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  const fs::path eval_out = fs::path(c.out) / "eval";
  const std::string eval_args = "eval --checkpoint " + (fs::path(c.out) / "last.safetensors").string() + " --data mpii:" +
                                data.string() + ":valid --workers 0 --json --out " + eval_out.string();
  auto [code, out] = cli(eval_args);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("valid.json: entry 2"), std::string::npos) << out;
  std::tie(code, out) = cli(eval_args + " --skip-bad");
  ASSERT_EQ(code, 0) << out;
  const eval::Predictions from_eval = eval::read_predictions_mat(eval_out / "pred.mat");
  ASSERT_EQ(from_eval.size(), 4u);
  EXPECT_TRUE(std::isnan(from_eval[2][0].x));
  EXPECT_EQ(from_eval[1][0].x, written[1][0].x);
}

TEST(Validate, UndecodablePersonGetsNanPredictionsWithSkipBad) {
  const fs::path dir = testing::temp_dir("validate_undecodable");
  train::write_synthetic_dataset(dir, {.count = 12, .val_count = 3, .seed = 4, .size = 48});
  train::Dataset val = train::load_mpii_json(dir / "annot" / "valid.json", dir / "images");
  // A good PNG header over a cut-off body: only decoding finds it.
  train::Image im(40, 30);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 37 % 251);
  train::write_png(dir / "cut.png", im);
  std::string bytes;
  {
    std::ifstream in(dir / "cut.png", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(dir / "cut.png", std::ios::binary | std::ios::trunc) << bytes.substr(0, 80);
  val.samples[1].image = dir / "cut.png";
  const fs::path gt_path = dir / "annot" / "gt_valid.mat";
  const eval::GroundTruth gt = train::select_ground_truth(eval::read_ground_truth_mat(gt_path), val, gt_path.string());
  Generator gen(1);
  auto model = models::build_model(train::model_spec_of(tiny_config(dir)), gen);
  train::EvalSettings es;
  es.batch_size = 2;
  es.workers = 2;
  es.flip_test = false;
  EXPECT_THROW(train::evaluate_model(*model, val, gt, es), InputError);
  es.skip_undecodable = true;
  const eval::Predictions p = train::evaluate_model(*model, val, gt, es).final_stage().predictions;
  ASSERT_EQ(p.size(), 3u);
  for (size_t i = 0; i < p.size(); ++i)
    for (const auto& joint : p[i]) EXPECT_EQ(std::isnan(joint.x), i == 1) << "person " << i;
}

TEST(Trainer, MultiStageModelTrainsWithPerStageSigmas) {
  const fs::path dir = testing::temp_dir("trainer_multi");
  train::TrainConfig c = tiny_config(dir);
  c.model = "tiny-multistage";
  c.epochs = 1;
  c.max_steps = 2;
  c.sigmas = {};  // default: 3, 2.5, 2
  train::TrainResult r = train::Trainer(c).run();
  EXPECT_EQ(r.step_losses.size(), 2u);
  ASSERT_TRUE(r.has_validation);
  EXPECT_EQ(r.last_validation.rows.size(), 3u);  // one row per stage
  EXPECT_EQ(c.stage_sigmas(3), (std::vector<double>{3.0, 2.5, 2.0}));
}

// ---- ImageNet weights per encoder depth ----

// A torchvision-named ResNet file at tiny_config's width (our encoder's
// names are torchvision's), with an fc as ImageNet checkpoints have.
std::map<std::string, Tensor> write_imagenet_file(int depth, const fs::path& path, uint64_t seed) {
  Generator gen(seed);
  models::ResNetEncoder source(depth, 0.125, /*with_stem=*/true, gen);
  std::map<std::string, Tensor> weights;
  for (const auto& [k, v] : source.state_dict()) weights[k] = testing::random_tensor(v.shape(), gen, DType::F32, 0.5, 1.5);
  weights["fc.weight"] = Tensor::zeros({10, source.out_channels()[3]});
  weights["fc.bias"] = Tensor::zeros({10});
  safetensors::save(path, weights);
  return weights;
}

bool same_values(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && a.to_vector() == b.to_vector(); }

// The tiny run on a two-stage model of mixed depths (its checkpoint is
// what the growth tests grow from).
train::TrainConfig mixed_depth_config(const fs::path& out) {
  train::TrainConfig c = tiny_config(out);
  c.model = "multistage:r18,r34";
  c.epochs = 1;
  c.max_steps = 1;
  c.val_every = 0;
  return c;
}

TEST(Trainer, PretrainedGivesEachEncoderTheFileOfItsDepth) {
  const fs::path dir = testing::temp_dir("trainer_pretrained_depths");
  const auto r18 = write_imagenet_file(18, dir / "resnet18.safetensors", 1);
  const auto r34 = write_imagenet_file(34, dir / "resnet34.safetensors", 2);
  train::TrainConfig c = mixed_depth_config(dir / "run");
  c.pretrained = "r34=" + (dir / "resnet34.safetensors").string() + ",r18=" + (dir / "resnet18.safetensors").string();
  train::Trainer trainer(c);
  const auto state = trainer.model().state_dict();
  for (const char* k : {"conv1.weight", "layer1.1.conv2.weight", "layer4.1.bn2.running_var"})
    EXPECT_TRUE(same_values(state.at(std::string("stages.0.encoder.") + k), r18.at(k))) << k;
  for (const char* k : {"layer1.2.conv2.weight", "layer3.5.bn1.running_mean", "layer4.0.downsample.0.weight"})
    EXPECT_TRUE(same_values(state.at(std::string("stages.1.encoder.") + k), r34.at(k))) << k;
}

TEST(Trainer, APretrainedValueThatDoesNotFitTheModelFailsBeforeAnyDataIsRendered) {
  const fs::path dir = testing::temp_dir("trainer_pretrained_plain");
  train::TrainConfig c = mixed_depth_config(dir / "run");
  c.pretrained = "pretrained/resnet18.safetensors";  // one file for two depths; need not exist
  try {
    train::Trainer t(c);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("give a file for each depth, as r18=PATH,r34=PATH"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "synthetic"));
  c.pretrained = "r18=a.safetensors,r50=b.safetensors";  // ResNet-50: not in the model
  try {
    train::Trainer t(c);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no ResNet-50 encoder"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "synthetic"));
  write_imagenet_file(18, dir / "resnet18.safetensors", 6);
  c.pretrained = "r18=" + (dir / "resnet18.safetensors").string();  // nothing for the ResNet-34 stage
  try {
    train::Trainer t(c);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no file for ResNet-34 (stages.1.encoder.): give it as r34=PATH"),
              std::string::npos)
        << e.what();
  }
  c.pretrained += ",r34=" + (dir / "missing.safetensors").string();
  try {
    train::Trainer t(c);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors: no such file"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "synthetic"));
}

TEST(Trainer, GrowthInitialisesTheNewStageFromThePretrainedFileOfItsDepth) {
  const fs::path dir = testing::temp_dir("trainer_grow_pretrained");
  ASSERT_NO_THROW(train::Trainer(mixed_depth_config(dir / "two")).run());
  const auto r18 = write_imagenet_file(18, dir / "resnet18.safetensors", 3);
  write_imagenet_file(34, dir / "resnet34.safetensors", 4);
  train::TrainConfig c = mixed_depth_config(dir / "three");
  c.model = "multistage:r18,r34,r18";
  c.init_from = (dir / "two" / "last.safetensors").string();
  c.pretrained = "r18=" + (dir / "resnet18.safetensors").string() + ",r34=" + (dir / "resnet34.safetensors").string();
  train::Trainer trainer(c);
  const auto state = trainer.model().state_dict();
  const auto trained = train::read_checkpoint(dir / "two" / "last.safetensors").model_state;
  for (const char* k : {"layer1.0.conv1.weight", "layer4.1.bn2.running_mean"}) {
    EXPECT_TRUE(same_values(state.at(std::string("stages.2.encoder.") + k), r18.at(k))) << k;
    // Stages 1..2 keep their trained weights, even the ResNet-18 one.
    for (const std::string stage : {"stages.0.encoder.", "stages.1.encoder."})
      EXPECT_TRUE(same_values(state.at(stage + k), trained.at(stage + k))) << stage << k;
  }
}

TEST(Trainer, GrowthWithoutAFileForTheNewDepthCopiesTheLastStage) {
  const fs::path dir = testing::temp_dir("trainer_grow_copy");
  ASSERT_NO_THROW(train::Trainer(mixed_depth_config(dir / "two")).run());
  write_imagenet_file(18, dir / "resnet18.safetensors", 5);
  train::TrainConfig c = mixed_depth_config(dir / "three");
  c.model = "multistage:r18,r34,r34";
  c.init_from = (dir / "two" / "last.safetensors").string();
  c.pretrained = "r18=" + (dir / "resnet18.safetensors").string();  // nothing for the new ResNet-34 stage
  train::Trainer trainer(c);
  const auto state = trainer.model().state_dict();
  for (const char* k : {"encoder.layer1.0.conv1.weight", "encoder.layer3.5.bn2.running_var", "head.weight"})
    EXPECT_TRUE(same_values(state.at(std::string("stages.2.") + k), state.at(std::string("stages.1.") + k))) << k;
}

// ---- the shipped configs ----

// A config file's [train] values as `posenet --config FILE train` reads them
// (the real option definitions; unknown keys are errors), stopping before
// the train action would run. Fills only what the model and the ImageNet
// weights depend on.
train::TrainConfig read_train_config(const fs::path& file) {
  CLI::App app{"posenet"};
  cli::configure_app(app);  // as cli/main.cpp does; the test binary holds only the train command
  struct Parsed {};
  app.parse_complete_callback([] { throw Parsed{}; });
  std::string args[] = {"posenet", "--config", file.string(), "train"};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data()};
  try {
    app.parse(4, argv);
    ADD_FAILURE() << "the train action ran";
  } catch (const Parsed&) {
  }
  CLI::App* train = app.get_subcommand("train");
  train::TrainConfig c;
  auto read = [&](const char* option, auto& field) {
    if (train->get_option(option)->count() > 0) field = train->get_option(option)->as<std::decay_t<decltype(field)>>();
  };
  read("--model", c.model);
  std::vector<int> input_size;  // a side, or H W
  read("--input-size", input_size);
  if (!input_size.empty()) {
    c.input_size = input_size.front();
    c.input_width = input_size.back() == input_size.front() ? 0 : input_size.back();
  }
  read("--width", c.width);
  read("--decoder-channels", c.decoder_channels);
  read("--tick", c.tick);
  read("--tock", c.tock);
  read("--pretrained", c.pretrained);
  read("--init-from", c.init_from);
  return c;
}

TEST(ShippedConfigs, ParseAndTheirPretrainedFilesFitTheirModels) {
  int with_pretrained = 0;
  for (const auto& entry : fs::directory_iterator(testing::source_dir() / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    train::TrainConfig c;
    ASSERT_NO_THROW(c = read_train_config(entry.path()));
    const models::ModelSpec spec = train::model_spec_of(c);
    models::PretrainedFiles files;
    ASSERT_NO_THROW(files = models::parse_pretrained_files(c.pretrained, spec)) << c.pretrained;
    if (c.pretrained.empty()) continue;
    ++with_pretrained;
    std::set<int> given, needed;
    for (const auto& [depth, path] : files) given.insert(depth);
    if (c.init_from.empty()) {
      needed.insert(spec.depths.begin(), spec.depths.end());  // every encoder loads a file
      EXPECT_EQ(given, needed) << c.pretrained;
    } else {
      EXPECT_TRUE(given.count(spec.depths.back())) << "growth: the new stage's depth needs a file: " << c.pretrained;
    }
  }
  EXPECT_GE(with_pretrained, 3);
}

}  // namespace
}  // namespace posenet
