// End to end through the command-line tool, as a user runs it: the
// README's main command (synthetic data, the tiny model, a few CPU minutes)
// must reach the PCKh@0.5 the README states; then eval and predict on the
// trained checkpoint.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "models/spec.h"
#include "train/checkpoint.h"
#include "train/image.h"
#include "train/validate.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult run_cli(const std::string& args) {
  const std::string cmd = std::string(POSENET_CLI_PATH) + " " + args + " 2>&1";
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The PCKh@0.5 the README promises for its main command.
constexpr double kReadmePckh = 80.0;

TEST(EndToEnd, ReadmeMainCommandTrainsTinyModelToStatedPckh) {
  const fs::path out = testing::temp_dir("e2e");
  const fs::path config = testing::source_dir() / "configs" / "tiny_synthetic.toml";
  CommandResult train = run_cli("train --config " + config.string() + " --out " + out.string() + " --progress false");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("Validation PCKh"), std::string::npos) << train.output;
  ASSERT_TRUE(fs::exists(out / "best.safetensors")) << train.output;

  // eval in model mode on the held-out synthetic split, as JSON.
  CommandResult ev = run_cli("eval --checkpoint " + (out / "best.safetensors").string() + " --data mpii:" +
                             (out / "synthetic").string() + ":valid --json --out " + (out / "eval").string());
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  const std::string last_line = ev.output.substr(ev.output.rfind('{'));
  nlohmann::json j = nlohmann::json::parse(last_line);
  EXPECT_GE(j.at("Mean").get<double>(), kReadmePckh) << ev.output;
  EXPECT_TRUE(fs::exists(out / "eval" / "pred.mat"));

  // The saved predictions score the same through the model-free path.
  CommandResult again = run_cli("eval --predictions " + (out / "eval" / "pred.mat").string() + " --gt " +
                                (out / "synthetic" / "annot" / "gt_valid.mat").string() + " --json");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NEAR(nlohmann::json::parse(again.output).at("Mean").get<double>(), j.at("Mean").get<double>(), 1e-9);

  // predict draws onto a copy of a validation image.
  fs::path image;
  for (const auto& e : fs::directory_iterator(out / "synthetic" / "images")) {
    image = e.path();
    break;
  }
  CommandResult pred = run_cli("predict --checkpoint " + (out / "best.safetensors").string() + " --image " +
                               image.string() + " -o " + (out / "drawn.png").string() + " --json");
  ASSERT_EQ(pred.exit_code, 0) << pred.output;
  train::Image drawn = train::read_image(out / "drawn.png");
  train::Image original = train::read_image(image);
  EXPECT_EQ(drawn.width, original.width);
  EXPECT_NE(drawn.pixels, original.pixels) << "the skeleton was drawn";
  EXPECT_EQ(nlohmann::json::parse(pred.output.substr(pred.output.find('['))).size(), 16u);
}

TEST(EndToEnd, PredictWithAnMpiiCenterAndScaleCropsAsTheLoaderDoes) {
  const fs::path mpii = testing::shared_data_dir() / "mpii";
  if (!fs::exists(mpii / "annot" / "valid_sample.json")) GTEST_SKIP() << "no MPII sample in " << mpii;
  // An untrained tiny model is enough: equal crops give equal heatmaps.
  const fs::path dir = testing::temp_dir("e2e_predict_box");
  train::TrainConfig c;
  c.model = "tiny";
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 64;
  Generator gen(2);
  auto model = models::build_model(train::model_spec_of(c), gen);
  train::save_checkpoint(dir / "ck.safetensors", *model, nullptr, c, model->spec().describe(), {});

  const train::Dataset persons = train::load_mpii_json(mpii / "annot" / "valid_sample.json", mpii / "images");
  const train::Dataset first{{persons[0]}, {}};
  std::ifstream in(mpii / "annot" / "valid_sample.json");
  const nlohmann::json raw = nlohmann::json::parse(in)[0];  // the same person as MPII writes it
  eval::GroundTruth gt;
  gt.joints.resize(1);
  gt.missing.resize(1);
  gt.headboxes.push_back({0, 0, 30, 40});
  train::EvalSettings es;
  es.batch_size = 1;
  es.workers = 0;
  es.flip_test = false;
  model->eval();
  const eval::Predictions expected = train::evaluate_model(*model, first, gt, es).final_stage().predictions;

  char args[512];
  std::snprintf(args, sizeof args, " --center %.17g %.17g --scale %.17g --flip-test false --json",
                raw["center"][0].get<double>(), raw["center"][1].get<double>(), raw["scale"].get<double>());
  CommandResult pred = run_cli("predict --checkpoint " + (dir / "ck.safetensors").string() + " --image " +
                               persons[0].image.string() + " -o " + (dir / "drawn.png").string() + args);
  ASSERT_EQ(pred.exit_code, 0) << pred.output;
  const nlohmann::json joints = nlohmann::json::parse(pred.output.substr(pred.output.find('[')));
  ASSERT_EQ(joints.size(), 16u);
  for (int j = 0; j < 16; ++j) {  // predict prints 0-based pixels, pred.mat holds 1-based ones
    EXPECT_NEAR(joints[size_t(j)]["x"].get<double>() + 1, expected[0][size_t(j)].x, 1e-9) << "joint " << j;
    EXPECT_NEAR(joints[size_t(j)]["y"].get<double>() + 1, expected[0][size_t(j)].y, 1e-9) << "joint " << j;
  }
  // Half a box is not a box.
  CommandResult half = run_cli("predict --checkpoint " + (dir / "ck.safetensors").string() + " --image " +
                               persons[0].image.string() + " -o " + (dir / "x.png").string() + " --scale 2");
  EXPECT_EQ(half.exit_code, 1) << half.output;
  EXPECT_NE(half.output.find("--center and --scale"), std::string::npos) << half.output;
}

// A checkpoint of another keypoint set: predict names and draws its 17 COCO
// keypoints; eval on MPII's joints and growth into an MPII run refuse it,
// naming both sets.
TEST(EndToEnd, PredictAndEvalFollowTheCheckpointsKeypointSet) {
  const fs::path dir = testing::temp_dir("e2e_keypoint_set");
  train::TrainConfig c;
  c.model = "tiny";
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 64;
  c.keypoints = "coco";
  Generator gen(4);
  auto model = models::build_model(train::model_spec_of(c), gen);
  const std::string ck = (dir / "coco.safetensors").string();
  train::save_checkpoint(ck, *model, nullptr, c, model->spec().describe(), {});
  train::write_image(dir / "person.png", train::Image(48, 64, 128));

  CommandResult pred = run_cli("predict --checkpoint " + ck + " --image " + (dir / "person.png").string() + " -o " +
                               (dir / "drawn.png").string() + " --json");
  ASSERT_EQ(pred.exit_code, 0) << pred.output;
  const nlohmann::json joints = nlohmann::json::parse(pred.output.substr(pred.output.find('[')));
  ASSERT_EQ(joints.size(), 17u);
  EXPECT_EQ(joints[0]["joint"], "nose");
  EXPECT_EQ(joints[16]["joint"], "r_ankle");
  EXPECT_EQ(train::read_image(dir / "drawn.png").width, 48);

  CommandResult ev = run_cli("eval --checkpoint " + ck + " --data mpii:" + (dir / "no_mpii").string());
  EXPECT_EQ(ev.exit_code, 1) << ev.output;
  EXPECT_NE(ev.output.find("coco.safetensors: its keypoints are COCO (17 keypoints), expected MPII (16 joints)"),
            std::string::npos)
      << ev.output;

  CommandResult grow = run_cli("train --model multistage:r18,r18 --init-from " + ck + " --data synthetic --synthetic-count 10 "
                               "--synthetic-size 32 --epochs 1 --workers 0 --progress false --out " +
                               (dir / "grown").string());
  EXPECT_EQ(grow.exit_code, 1) << grow.output;
  EXPECT_NE(grow.output.find("coco.safetensors: its keypoints are COCO (17 keypoints), expected MPII (16 joints)"),
            std::string::npos)
      << grow.output;
}

TEST(EndToEnd, CommandLineErrorsAreClear) {
  CommandResult r = run_cli("eval --checkpoint /nonexistent/ck.safetensors --data mpii:/nonexistent");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/ck.safetensors"), std::string::npos) << r.output;
  r = run_cli("train --batch-size 0 --out " + testing::temp_dir("e2e_bad").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("batch-size"), std::string::npos) << r.output;
  r = run_cli("train --device tpu --out " + testing::temp_dir("e2e_bad2").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tpu"), std::string::npos) << r.output;
  r = run_cli("train --config /nonexistent.toml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nonexistent.toml"), std::string::npos) << r.output;
  r = run_cli("predict --checkpoint /nonexistent.safetensors --image x.jpg -o y.png");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent.safetensors"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace posenet
