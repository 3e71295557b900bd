// The options of a run through the command line: what --resume may and may
// not change, every setting checked before any data is rendered, the
// synthetic data folders, eval's and predict's output files, config.json
// read back as a config, and help texts. Each case: the exit code, the
// message naming the option or file, and nothing already written changed.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cli_run.h"
#include "run_files.h"
#include "test_util.h"
#include "core/folder_lock.h"
#include "train/checkpoint.h"
#include "train/progress.h"
#include "train/train_step.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;
using testing::cli;
using testing::expect_error_mentioning;
using testing::file_bytes;
using testing::log_records;

// A tiny model on 20 synthetic images: one step per epoch.
const std::string kTiny =
    " --model tiny --width 0.125 --decoder-channels 16 --input-size 32 --synthetic-size 48"
    " --batch-size 4 --val-every 0 --workers 0 --progress false";
const std::string kOneStep = " --epochs 1 --max-steps 1 --synthetic-count 20";

fs::path tiny_cli_run(const std::string& name, const std::string& extra = kOneStep) {
  const fs::path dir = testing::temp_dir(name);
  const CliRun r = cli("train" + kTiny + extra + " --out " + dir.string());
  EXPECT_EQ(r.code, 0) << r.out;
  return dir;
}

TEST(RunOptions, ResumeTakesWhatMayChangeAndRefusesTheRest) {
  const fs::path run = tiny_cli_run("opts_resume");
  CliRun r = cli("train --resume --progress false --out " + run.string() + " --epochs 2 --lr 0.0005");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming with lr 0.0005 (was 0.001)"), std::string::npos) << r.out;
  const train::Checkpoint ck = train::read_checkpoint(run / "last.safetensors");
  EXPECT_EQ(ck.state.epoch, 2) << "--epochs 2 extended the finished one-epoch run";
  EXPECT_EQ(ck.state.global_step, 2);
  EXPECT_EQ(ck.config.lr, 0.0005);
  std::map<std::string, nlohmann::json> changes;
  double last_lr = 0;
  for (const auto& rec : log_records(run / "log.jsonl")) {
    if (rec.at("type") == "resume_change") changes[rec.at("option")] = rec;
    if (rec.at("type") == "step") last_lr = rec.at("lr");
  }
  ASSERT_TRUE(changes.count("epochs") && changes.count("lr")) << "each change is logged";
  EXPECT_EQ(changes["epochs"].at("old"), 1);
  EXPECT_EQ(changes["epochs"].at("new"), 2);
  EXPECT_EQ(changes["lr"].at("old"), 0.001);
  EXPECT_EQ(changes["lr"].at("new"), 0.0005);
  EXPECT_EQ(last_lr, 0.0005) << "the new learning rate took effect";

  const std::string checkpoint = file_bytes(run / "last.safetensors"), log = file_bytes(run / "log.jsonl");
  const struct {
    std::string args, old_value, new_value;
  } refused[] = {
      {"--batch-size 2", "--batch-size 4", "--batch-size 2"},
      {"--model tiny-multistage", "--model 'tiny'", "--model 'tiny-multistage'"},
      {"--sigmas 3", "--sigmas []", "--sigmas [3.0]"},
      {"--rotation-prob 0.1", "--rotation-prob 0.6", "--rotation-prob 0.1"},
      {"--input-size 64", "--input-size 32", "--input-size 64"},
      {"--synthetic-count 30", "--synthetic-count 20", "--synthetic-count 30"},
  };
  for (const auto& c : refused) {
    SCOPED_TRACE(c.args);
    expect_error_mentioning(cli("train --resume --progress false --out " + run.string() + " " + c.args),
                              {(run / "last.safetensors").string(), c.old_value, c.new_value, "cannot change"});
  }
  EXPECT_EQ(file_bytes(run / "last.safetensors"), checkpoint) << "a refused resume changes nothing";
  EXPECT_EQ(file_bytes(run / "log.jsonl"), log);
}

TEST(RunOptions, EverySettingIsCheckedBeforeAnyDataIsRendered) {
  const struct {
    std::string args, message;
  } cases[] = {
      {"--rotation-prob 1.5", "rotation-prob must be in [0, 1], got 1.5"},
      {"--rotation-prob nan", "rotation-prob must be in [0, 1], got nan"},
      {"--rotation-factor -5", "rotation-factor must be a finite number of at least 0, got -5"},
      {"--rotation-factor inf", "rotation-factor must be a finite number of at least 0, got inf"},
      {"--scale-factor -0.1", "scale-factor must be in [0, 1), got -0.1"},
      {"--lr-steps 90,60", "lr-steps must increase, got 90 then 60"},
      {"--lr-steps -1", "lr-steps must not be negative"},
      {"--lr-factor nan", "lr-factor must be a positive finite number, got nan"},
      {"--weight-decay -1", "weight-decay must be a finite number of at least 0, got -1"},
      {"--weight-decay inf", "weight-decay must be a finite number of at least 0, got inf"},
      {"--momentum 1.5", "momentum must be in [0, 1], got 1.5"},
      {"--sigmas 0", "every sigma must be a positive finite number, got 0"},
      {"--sigmas inf", "every sigma must be a positive finite number, got inf"},
      {"--sigmas-final -1", "every final sigma must be a positive finite number, got -1"},
      {"--width -1", "width must be a positive number (0: the model's default), got -1"},
      {"--width nan", "width must be a positive number (0: the model's default), got nan"},
      {"--decoder-channels -8", "decoder-channels must be positive (0: the model's default), got -8"},
      {"--workers 100000", "workers must be at most"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const fs::path dir = testing::temp_dir("opts_settings");
    const CliRun r = cli("train --progress false --out " + dir.string() + " " + c.args);
    expect_error_mentioning(r, {"posenet: error: invalid training setting: " + c.message});
    EXPECT_TRUE(fs::is_empty(dir)) << "nothing rendered or written";
  }
  // Settings checked beyond their own range (the model name, the device, the
  // sigmas against the model's stages) fail before the run's folder exists.
  for (const std::string& args : {std::string("--model bogus"), std::string("--device cuda:7"),
                                  std::string("--model tiny-multistage --sigmas 3,2,1,1,1,1,1")}) {
    SCOPED_TRACE(args);
    const fs::path dir = testing::temp_dir("opts_settings") / "run";
    const CliRun r = cli("train --progress false --out " + dir.string() + " " + args);
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_FALSE(fs::exists(dir)) << "the run's folder was created: " << r.out;
  }
}

TEST(RunOptions, NonFiniteStepStopsAndKeepsTheLastGoodCheckpoint) {
  const fs::path dir = testing::temp_dir("opts_nonfinite");
  const CliRun r = cli("train" + kTiny + " --synthetic-count 20 --epochs 1 --max-steps 10 --save-every 1 --lr 1e30 --optimizer sgd"
                    " --momentum 0 --out " + dir.string());
  expect_error_mentioning(r, {"non-finite ", "training stopped", (dir / "last.safetensors").string(), "is intact"});
  const train::Checkpoint ck = train::read_checkpoint(dir / "last.safetensors");
  for (const auto& [name, t] : ck.model_state)
    for (double v : t.to_vector()) ASSERT_TRUE(std::isfinite(v)) << name;
  EXPECT_EQ(log_records(dir / "log.jsonl").back().at("type"), "error");
}

TEST(RunOptions, SynthRefusesANonEmptyFolderUnlessForced) {
  const fs::path dir = testing::temp_dir("opts_synth");
  ASSERT_EQ(cli("synth --out " + dir.string() + " --count 10 --size 32").code, 0);
  const std::string annotations = file_bytes(dir / "annot" / "train.json");
  expect_error_mentioning(cli("synth --out " + dir.string() + " --count 12 --size 32"),
                            {dir.string() + ": the folder is not empty", "--force"});
  EXPECT_EQ(file_bytes(dir / "annot" / "train.json"), annotations);
  ASSERT_EQ(cli("synth --out " + dir.string() + " --count 12 --size 32 --force").code, 0);
  size_t images = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "images")) ++images;
  EXPECT_EQ(images, 12u) << "--force replaces the data set, leaving none of the old images";
}

TEST(RunOptions, TheSyntheticCacheIsRenderedAgainForOtherSettings) {
  const fs::path run = tiny_cli_run("opts_cache");
  const auto record = [&] { return nlohmann::json::parse(file_bytes(run / "synthetic" / ".complete")); };
  EXPECT_EQ(record().at("count"), 20);
  EXPECT_EQ(record().at("size"), 48);
  // A new run in the same folder (the old one's files removed) with another count.
  for (const char* f : {"last.safetensors", "best.safetensors", "log.jsonl"}) fs::remove(run / f);
  const CliRun r = cli("train" + kTiny + " --epochs 1 --max-steps 1 --synthetic-count 24 --out " + run.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rendering it again"), std::string::npos) << r.out;
  EXPECT_EQ(record().at("count"), 24);
  size_t images = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(run / "synthetic" / "images")) ++images;
  EXPECT_EQ(images, 24u);
}

TEST(RunOptions, EvalKeepsAnEarlierEvaluationAndChecksItsFolderFirst) {
  const fs::path run = tiny_cli_run("opts_eval");
  const std::string eval_any_workers = "eval --checkpoint " + (run / "last.safetensors").string() + " --data mpii:" +
                                       (run / "synthetic").string();
  const std::string eval = eval_any_workers + " --workers 0";
  ASSERT_EQ(cli(eval).code, 0);
  const std::string preds = file_bytes(run / "pred.mat");
  expect_error_mentioning(cli(eval), {(run / "pred.mat").string(), "already exists", "--overwrite"});
  EXPECT_EQ(file_bytes(run / "pred.mat"), preds);
  EXPECT_EQ(cli(eval + " --overwrite").code, 0);
  // An output folder that cannot be created: named, before any evaluation.
  std::ofstream(run / "a_file") << "x";
  expect_error_mentioning(cli(eval + " --out " + (run / "a_file" / "sub").string()),
                            {(run / "a_file" / "sub").string(), "cannot create"});
  expect_error_mentioning(cli(eval_any_workers + " --workers 100000"), {"--workers", "100000"});
  // eval reads [eval] of a config file.
  std::ofstream(run / "eval.toml") << "[eval]\nbatch-size = 2\noverwrite = true\n";
  EXPECT_EQ(cli("--config " + (run / "eval.toml").string() + " " + eval).code, 0);
}

TEST(RunOptions, EvalSkipBadPrintsACountAndTheFirstFew) {
  const fs::path run = tiny_cli_run("opts_skip", " --epochs 1 --max-steps 1 --synthetic-count 100");
  const fs::path annot = run / "synthetic" / "annot" / "valid.json";
  nlohmann::json entries = nlohmann::json::parse(file_bytes(annot));
  ASSERT_GE(entries.size(), 9u);
  for (size_t i = 0; i < 8; ++i) entries[i]["scale"] = "big";
  std::ofstream(annot) << entries.dump();
  const CliRun r = cli("eval --skip-bad --workers 0 --checkpoint " + (run / "last.safetensors").string() +
                    " --data mpii:" + (run / "synthetic").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("skipped 8 bad entries (--skip-bad), the first 5:"), std::string::npos) << r.out;
  size_t named = 0;
  for (size_t at = r.out.find("valid.json: entry"); at != std::string::npos; at = r.out.find("valid.json: entry", at + 1))
    ++named;
  EXPECT_EQ(named, 5u) << r.out;
}

TEST(RunOptions, PredictSaysWhyItCannotWrite) {
  const fs::path run = tiny_cli_run("opts_predict");
  const fs::path image = run / "synthetic" / "images" / "train_000000.jpg";
  const std::string predict = "predict --checkpoint " + (run / "last.safetensors").string() + " --image " + image.string();
  expect_error_mentioning(cli(predict + " -o " + (run / "absent" / "out.png").string()),
                            {(run / "absent" / "out.png").string(), "does not exist"});
  expect_error_mentioning(cli(predict + " -o " + (run / "synthetic").string()), {"it is a directory"});
  EXPECT_EQ(cli(predict + " -o " + (run / "out.png").string()).code, 0);
}

TEST(RunOptions, ConfigJsonReadsBackAsAConfig) {
  const fs::path run = tiny_cli_run("opts_config", kOneStep + " --lr 0.002 --sigmas 1.5");
  const fs::path again = testing::temp_dir("opts_config_again");
  const CliRun r = cli("train --config " + (run / "config.json").string() + " --out " + again.string());
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json a = nlohmann::json::parse(file_bytes(run / "config.json"));
  nlohmann::json b = nlohmann::json::parse(file_bytes(again / "config.json"));
  EXPECT_EQ(b.at("lr"), 0.002);
  a.erase("out");
  b.erase("out");
  EXPECT_EQ(a, b) << "the second run has the first one's settings";
}

// --input-size H W: a non-square model trains, validates (PCKh through the
// non-square crop), is stored as [H, W], reads back through config.json, and
// predicts.
TEST(RunOptions, NonSquareInputTrainsValidatesAndPredicts) {
  const fs::path run = testing::temp_dir("opts_non_square");
  CliRun r = cli("train --model tiny --width 0.125 --decoder-channels 16 --input-size 64 32 --synthetic-size 48"
                 " --batch-size 4 --workers 0 --progress false --epochs 1 --max-steps 1 --synthetic-count 20 --out " +
                 run.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<nlohmann::json> log = log_records(run / "log.jsonl");
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log.front().at("model").get<std::string>().find("input=64x32 joints=16"), std::string::npos) << log.front();
  EXPECT_NE(r.out.find("PCKh"), std::string::npos) << r.out;
  EXPECT_EQ(nlohmann::json::parse(file_bytes(run / "config.json")).at("input_size"), nlohmann::json::array({64, 32}));
  const fs::path again = testing::temp_dir("opts_non_square_again");
  r = cli("train --config " + (run / "config.json").string() + " --out " + again.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(file_bytes(again / "config.json")).at("input_size"), nlohmann::json::array({64, 32}));
  r = cli("predict --checkpoint " + (run / "last.safetensors").string() + " --image " +
          (run / "synthetic" / "images" / "valid_000000.jpg").string() + " -o " + (run / "drawn.png").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out.substr(r.out.find('['))).size(), 16u);
  expect_error_mentioning(cli("train --input-size 64 48 --out " + (run / "bad").string()), {"input width", "32"});
}

TEST(RunOptions, HelpTextsAgreeWithTheReadme) {
  EXPECT_NE(cli("train --help").out.find("--config FILE"), std::string::npos);
  const std::string eval_help = cli("eval --help").out;
  EXPECT_NE(eval_help.find("default rule: mspn"), std::string::npos) << eval_help;
  EXPECT_NE(eval_help.find("--overwrite"), std::string::npos);
  // One spelling with train (--input-size); the old --input still works.
  const CliRun square = cli("info --model tiny --input-size 64 --json"), old = cli("info --model tiny --input 64 64 --json");
  ASSERT_EQ(square.code, 0) << square.out;
  EXPECT_EQ(square.out, old.out);
}

// synth and eval take the same lock as train: with this process holding it,
// both fail at once naming the folder and this pid, writing nothing.
TEST(RunOptions, SynthAndEvalRefuseAFolderAnotherProcessWritesInto) {
  const fs::path run = tiny_cli_run("opts_lock");
  const std::string holder = "(pid " + std::to_string(::getpid()) + ")";
  {
    const FolderLock lock = FolderLock::acquire(run, "--out");
    expect_error_mentioning(cli("synth --force --count 10 --size 32 --out " + run.string()),
                              {run.string() + ": another posenet process " + holder, "--out"});
    expect_error_mentioning(cli("eval --workers 0 --checkpoint " + (run / "last.safetensors").string() +
                                  " --data mpii:" + (run / "synthetic").string()),
                              {run.string() + ": another posenet process " + holder});
    EXPECT_FALSE(fs::exists(run / "pred.mat"));
  }
  EXPECT_EQ(cli("eval --workers 0 --checkpoint " + (run / "last.safetensors").string() + " --data mpii:" +
                (run / "synthetic").string())
                .code,
            0)
      << "released with its holder";
}

// The rate counts only the steps of this process: a resumed epoch that
// starts at step 90 of 100 and runs 10 steps in about 0.2 s shows about
// 50 it/s, not the 500 that 100 steps would make.
TEST(RunOptions, ProgressRateCountsOnlyThisProcesssSteps) {
  ::testing::internal::CaptureStderr();
  ProgressBar bar("epoch 1/1", 100, 4, /*interactive=*/false, /*first=*/90);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  bar.update(100, 0.5, 1e-3);
  const std::string line = ::testing::internal::GetCapturedStderr();
  const size_t at = line.find(" it/s");
  ASSERT_NE(at, std::string::npos) << line;
  const double rate = std::stod(line.substr(line.rfind(' ', at - 1) + 1));
  EXPECT_GT(rate, 5.0) << line;
  EXPECT_LT(rate, 51.0) << line;
}

TEST(RunOptions, AllFiniteFindsNanAndInfAndIsNotFooledByOverflow) {
  const auto f32 = [](std::vector<double> v) {
    const int64_t n = int64_t(v.size());
    return Tensor::from_data({n}, v, DType::F32);
  };
  EXPECT_TRUE(train::all_finite({f32({1, 2}), f32({-3})}));
  EXPECT_TRUE(train::all_finite({}));
  // Finite values whose float32 sum overflows are still finite.
  EXPECT_TRUE(train::all_finite({f32({3e38, 3e38, 3e38})}));
  EXPECT_FALSE(train::all_finite({f32({1, 2}), f32({NAN})}));
  EXPECT_FALSE(train::all_finite({f32({INFINITY, -INFINITY})}));
  EXPECT_FALSE(train::all_finite({f32({-INFINITY, 1})}));
}

}  // namespace
}  // namespace posenet
