// Bad input that reaches posenet through its commands and checkpoints, one
// test per row of docs/bad-input.md not covered by a unit's own tests.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/safetensors.h"
#include "cli_run.h"
#include "run_files.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;
using testing::cli;
using testing::expect_failure_mentioning;
using testing::file_bytes;
using testing::tiny_run;

TEST(BadInput, ConfigFileProblemsNameTheFile) {
  const fs::path dir = testing::temp_dir("bad_config");
  std::ofstream(dir / "unknown.toml") << "[train]\nlearning-rate = 3\n";
  expect_failure_mentioning(cli("train --config " + (dir / "unknown.toml").string()), {"learning", "unknown.toml"});
  std::ofstream(dir / "type.toml") << "[train]\nlr = \"fast\"\n";
  expect_failure_mentioning(cli("train --config " + (dir / "type.toml").string()), {"lr", "fast", "type.toml"});
  expect_failure_mentioning(cli("train --config " + (dir / "absent.toml").string()), {"absent.toml"});
}

TEST(BadInput, CommandLineValuesAreChecked) {
  const std::string out = " --out " + testing::temp_dir("bad_cli").string();
  expect_failure_mentioning(cli("train --workers -1" + out), {"workers"});
  expect_failure_mentioning(cli("train --lr -0.1" + out), {"lr"});
  expect_failure_mentioning(cli("train --optimizer adagrad" + out), {"adagrad"});
  expect_failure_mentioning(cli("train --model resnet:r50" + out), {"resnet:r50"});
  expect_failure_mentioning(cli("train --input-size 100" + out), {"input size", "32"});
  expect_failure_mentioning(cli("train --epochs many" + out), {"--epochs", "many"});
  expect_failure_mentioning(cli("train --data cityscapes:/x" + out), {"cityscapes"});
  expect_failure_mentioning(cli("eval --predictions a.mat"), {"--gt"});
}

TEST(BadInput, CheckpointOfAnotherModelIsRefusedByName) {
  const fs::path run = tiny_run("bad_other_model");
  // Its weights into a simplebaseline:r18 (no laterals): the strict load
  // names the keys that model does not have.
  train::Checkpoint ck = train::read_checkpoint(run / "last.safetensors");
  train::TrainConfig other = ck.config;
  other.model = "simplebaseline:r18";
  other.width = 0.125;
  auto model = models::build_model(train::model_spec_of(other), *std::make_unique<Generator>(1));
  try {
    train::load_model_weights(*model, ck);
    FAIL() << "loading an hourglass checkpoint into a simple baseline must fail";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("last.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("decoder.lateral1.weight"), std::string::npos) << what;
  }
}

// A copy of the run's checkpoint whose training config names another model
// (simplebaseline:r18, which has no laterals), so eval and resume build that
// model and the strict load meets the hourglass's keys.
fs::path checkpoint_claiming_another_model(const fs::path& from, const fs::path& to) {
  const safetensors::File f = safetensors::File::read(from);
  std::map<std::string, std::string> metadata = f.metadata();
  nlohmann::json config = nlohmann::json::parse(metadata.at("config"));
  EXPECT_EQ(config.at("model"), "tiny");
  config["model"] = "simplebaseline:r18";
  metadata["config"] = config.dump();
  std::map<std::string, Tensor> tensors;
  std::map<std::string, safetensors::RawTensor> raw;  // I64 counters as they are
  for (const auto& e : f.entries()) {
    if (e.dtype == "F16" || e.dtype == "BF16" || e.dtype == "F32" || e.dtype == "F64")
      tensors.emplace(e.name, f.tensor(e.name));
    else
      raw[e.name] = {e.dtype, e.shape, std::vector<uint8_t>(e.data, e.data + e.nbytes)};
  }
  safetensors::save(to, tensors, metadata, raw);
  return to;
}

TEST(BadInput, EvalOfAnotherModelsCheckpointNamesTheKeys) {
  const fs::path run = tiny_run("bad_other_eval");
  const fs::path other = checkpoint_claiming_another_model(run / "last.safetensors", run / "other.safetensors");
  const auto r = cli("eval --checkpoint " + other.string() + " --data mpii:" + (run / "synthetic").string() + ":valid");
  EXPECT_EQ(r.code, 1) << r.out;
  expect_failure_mentioning(r, {"posenet: error: ", other.string(), "decoder.lateral1.weight", "unexpected"});
  EXPECT_FALSE(fs::exists(run / "pred.mat")) << "nothing written on a refused checkpoint";
}

TEST(BadInput, ResumeFromAnotherModelsCheckpointNamesTheKeysAndKeepsTheRun) {
  const fs::path run = tiny_run("bad_other_resume");
  const fs::path last = run / "last.safetensors";
  checkpoint_claiming_another_model(last, run / "other.safetensors");
  fs::rename(run / "other.safetensors", last);
  const std::string before = file_bytes(last), log_before = file_bytes(run / "log.jsonl");
  const auto r = cli("train --resume --out " + run.string());
  EXPECT_EQ(r.code, 1) << r.out;
  expect_failure_mentioning(r, {"posenet: error: ", last.string(), "decoder.lateral1.weight", "unexpected"});
  EXPECT_EQ(file_bytes(last), before) << "the checkpoint is left as it is";
  EXPECT_EQ(file_bytes(run / "log.jsonl"), log_before) << "the log is left as it is";
}

// `--device cuda` on a machine or build without CUDA: the device named, the
// reason, exit 1, from train and from eval.
TEST(BadInput, DeviceCudaWithoutAGpuIsNamed) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  const fs::path dir = testing::temp_dir("bad_device");
  const std::string reason =
#ifdef POSENET_WITH_CUDA
      "requested but no CUDA device is present";
#else
      "requested but this posenet was built without CUDA (-DPOSENET_CUDA=ON)";
#endif
  auto r = cli("train --device cuda --model tiny --width 0.125 --decoder-channels 16 --input-size 32 "
              "--synthetic-count 20 --synthetic-size 48 --epochs 1 --max-steps 1 --val-every 0 --workers 0 "
              "--progress false --out " + (dir / "run").string());
  EXPECT_EQ(r.code, 1) << r.out;
  expect_failure_mentioning(r, {"posenet: error: device cuda:0 " + reason});
  EXPECT_FALSE(fs::exists(dir / "run" / "last.safetensors"));
  const fs::path run = tiny_run("bad_device_eval");
  r = cli("eval --device cuda:1 --checkpoint " + (run / "last.safetensors").string() + " --data mpii:" +
          (run / "synthetic").string() + ":valid");
  EXPECT_EQ(r.code, 1) << r.out;
  expect_failure_mentioning(r, {"posenet: error: device cuda:1 " + reason});
}

TEST(BadInput, CorruptCheckpointOnResumeNamesTheFileAndKeepsIt) {
  const fs::path run = tiny_run("bad_resume");
  const fs::path last = run / "last.safetensors";
  std::string bytes;
  {
    std::ifstream in(last, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(last, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  train::TrainConfig c;
  c.out = run.string();
  c.resume = true;
  try {
    train::Trainer t(c);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("last.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fs::file_size(last), bytes.size() / 2) << "nothing already written is touched";
}

TEST(BadInput, CheckpointTensorOfWrongDtypeOrShapeIsNamed) {
  const fs::path run = tiny_run("bad_dtype");
  train::Checkpoint ck = train::read_checkpoint(run / "last.safetensors");
  // A weight stored as I64.
  std::map<std::string, Tensor> tensors = ck.model_state;
  std::map<std::string, safetensors::RawTensor> raw;
  const Tensor head = tensors.at("head.bias");
  raw["head.bias"] = {"I64", head.shape(), std::vector<uint8_t>(size_t(head.numel()) * 8, 0)};
  tensors.erase("head.bias");
  safetensors::save(run / "i64.safetensors", tensors, ck.metadata, raw);
  try {
    train::Checkpoint bad = train::read_checkpoint(run / "i64.safetensors");
    auto model = train::load_model_from_checkpoint(bad, Device::cpu());
    FAIL() << "an I64 weight must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("head.bias"), std::string::npos) << e.what();
  }
  // A weight of the wrong shape.
  tensors = ck.model_state;
  tensors["head.bias"] = Tensor::zeros({3});
  safetensors::save(run / "shape.safetensors", tensors, ck.metadata);
  try {
    auto model = train::load_model_from_checkpoint(train::read_checkpoint(run / "shape.safetensors"), Device::cpu());
    FAIL() << "a mis-shaped weight must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("head.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shape.safetensors"), std::string::npos) << e.what();
  }
}

TEST(BadInput, EvalAndPredictOnFilesThatAreNotCheckpoints) {
  const fs::path dir = testing::temp_dir("bad_not_ck");
  std::ofstream(dir / "photo.safetensors") << "\xff\xd8\xff\xe0 not a checkpoint";
  expect_failure_mentioning(cli("eval --checkpoint " + (dir / "photo.safetensors").string() + " --data mpii:" +
                                dir.string()),
                            {"photo.safetensors"});
  // A plain weights file (no training config) cannot tell which model it is.
  safetensors::save(dir / "weights.safetensors", {{"w", Tensor::zeros({2})}});
  expect_failure_mentioning(cli("predict --checkpoint " + (dir / "weights.safetensors").string() +
                                " --image x.jpg -o y.png"),
                            {"weights.safetensors", "training config"});
  // A missing image for predict.
  const fs::path run = tiny_run("bad_predict");
  expect_failure_mentioning(cli("predict --checkpoint " + (run / "last.safetensors").string() + " --image " +
                                (dir / "none.jpg").string() + " -o " + (dir / "y.png").string()),
                            {"none.jpg"});
}

TEST(BadInput, ResumeWithAnotherSeedIsRefused) {
  const fs::path run = tiny_run("bad_resume_seed");  // trained with the default seed 0
  const fs::path before = run / "last.safetensors";
  const auto size = fs::file_size(before);
  expect_failure_mentioning(cli("train --resume --progress false --out " + run.string() + " --seed 9"),
                            {"last.safetensors", "--seed 0", "--seed 9"});
  EXPECT_EQ(fs::file_size(before), size);
}

TEST(BadInput, ValidationGroundTruthOfAnotherSetIsRefused) {
  const fs::path run = tiny_run("bad_gt");
  // The synthetic validation split against the real MPII ground truth would
  // silently score nonsense if indices happened to fit; a .mat with fewer
  // persons than the annotations must be refused by name.
  const fs::path gt = testing::shared_data_dir() / "mpii" / "annot" / "gt_valid.mat";
  if (!fs::exists(gt)) GTEST_SKIP() << "shared MPII data not present: " << gt;
  eval::GroundTruth small = eval::read_ground_truth_mat(gt);
  small.joints.resize(1);
  small.missing.resize(1);
  small.headboxes.resize(1);
  const fs::path one = run / "one_person.mat";
  eval::write_ground_truth_mat(one, small);
  expect_failure_mentioning(cli("eval --checkpoint " + (run / "last.safetensors").string() + " --data mpii:" +
                                (run / "synthetic").string() + ":valid --gt " + one.string()),
                            {"one_person.mat", "does not belong"});
}

}  // namespace
}  // namespace posenet
