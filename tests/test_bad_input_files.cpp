// Bad files and values through the command line: checkpoints holding NaN or
// infinity, inputs that are not regular files or are far too large, damaged
// JPEGs, and person boxes no image can hold (docs/bad-input.md). Each case
// checks the exit code, that the message names the file or option, and that
// nothing already written changes.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "cli_run.h"
#include "run_files.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/image.h"
#include "train/trainer.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;
using testing::expect_error_mentioning;
using testing::file_bytes;
using testing::tiny_run;
using testing::write_bytes;
// Under timeout(1): a command that blocks (on a FIFO, say) fails with 124
// instead of hanging the test.
CliRun cli(const std::string& args) { return testing::cli(args, 120); }

// The flags of a one-step run of a small model on 20 synthetic 48-pixel images.
const std::string kTinyFlags =
    " --width 0.125 --decoder-channels 16 --input-size 32 --synthetic-count 20 --synthetic-size 48"
    " --epochs 1 --max-steps 1 --val-every 0 --workers 0 --progress false";

// A copy of `from` with element 0 of tensor `name` set to `value`, written
// as safetensors (which stores any value).
void poke(const fs::path& from, const fs::path& to, const std::string& name, double value) {
  const safetensors::File f = safetensors::File::read(from);
  std::map<std::string, Tensor> tensors;
  std::map<std::string, safetensors::RawTensor> raw;
  for (const auto& e : f.entries()) {
    if (e.dtype == "F32" || e.dtype == "F64") tensors.emplace(e.name, f.tensor(e.name));
    else raw[e.name] = {e.dtype, e.shape, std::vector<uint8_t>(e.data, e.data + e.nbytes)};
  }
  ASSERT_TRUE(tensors.count(name)) << name;
  Tensor& t = tensors.at(name);
  if (t.dtype() == DType::F32) t.data<float>()[0] = float(value);
  else t.data<double>()[0] = value;
  safetensors::save(to, tensors, f.metadata(), raw);
}

std::string first_running_var(const fs::path& checkpoint) {
  const safetensors::File file = safetensors::File::read(checkpoint);
  for (const auto& e : file.entries())
    if (e.name.find("running_var") != std::string::npos) return e.name;
  ADD_FAILURE() << "no running_var in " << checkpoint;
  return "";
}

fs::path first_image(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".jpg") return entry.path();
  ADD_FAILURE() << "no JPEG in " << dir;
  return {};
}

// A NaN running_var (a buffer, not a parameter) or an infinite Adam moment
// is refused by every command that loads weights, naming file and tensor.
TEST(BadInput, NonFiniteCheckpointIsRefusedByEveryCommand) {
  const fs::path run = tiny_run("nonfinite_ck");
  const fs::path last = run / "last.safetensors";
  const std::string buffer = first_running_var(last);
  const fs::path nan_ck = run / "nan.safetensors";
  poke(last, nan_ck, buffer, std::numeric_limits<double>::quiet_NaN());
  const std::string data = " --data mpii:" + (run / "synthetic").string() + ":valid";

  // eval and predict: nothing written.
  const fs::path eval_out = run / "eval_out";
  expect_error_mentioning(cli("eval --checkpoint " + nan_ck.string() + data + " --out " + eval_out.string()),
                          {nan_ck.string(), "'" + buffer + "'", "non-finite", "NaN"});
  EXPECT_FALSE(fs::exists(eval_out / "pred.mat"));
  const fs::path drawn = run / "drawn.png";
  expect_error_mentioning(cli("predict --checkpoint " + nan_ck.string() + " --image " +
                              first_image(run / "synthetic" / "images").string() + " -o " + drawn.string()),
                          {nan_ck.string(), buffer});
  EXPECT_FALSE(fs::exists(drawn));

  // train --resume: the run is left as it was.
  const fs::path resumed = testing::temp_dir("nonfinite_resume");
  fs::copy(run, resumed, fs::copy_options::recursive);
  poke(last, resumed / "last.safetensors", "optimizer.exp_avg_sq.0", std::numeric_limits<double>::infinity());
  const std::string before = file_bytes(resumed / "last.safetensors"), log = file_bytes(resumed / "log.jsonl");
  expect_error_mentioning(cli("train --resume --progress false --out " + resumed.string()),
                          {(resumed / "last.safetensors").string(), "'optimizer.exp_avg_sq.0'", "inf"});
  EXPECT_EQ(file_bytes(resumed / "last.safetensors"), before);
  EXPECT_EQ(file_bytes(resumed / "log.jsonl"), log);

  // Growth (--init-from) and ImageNet weights (--pretrained).
  const fs::path grown = testing::temp_dir("nonfinite_grow");
  expect_error_mentioning(cli("train" + kTinyFlags + " --model multistage:r18,r18 --init-from " + nan_ck.string() +
                              " --out " + (grown / "run").string()),
                          {nan_ck.string(), buffer});
  EXPECT_FALSE(fs::exists(grown / "run" / "last.safetensors"));
  const fs::path imagenet = grown / "r18.safetensors";
  safetensors::save(imagenet, {{"conv1.weight", Tensor::from_data({2}, std::vector<double>{1, -INFINITY}, DType::F32)}});
  expect_error_mentioning(cli("train" + kTinyFlags + " --model tiny --pretrained " + imagenet.string() + " --out " +
                              (grown / "pre").string()),
                          {imagenet.string(), "'conv1.weight'", "-inf at element 1"});
  EXPECT_FALSE(fs::exists(grown / "pre" / "last.safetensors"));
}

// Directories, FIFOs and devices are refused before they are opened for
// reading (a FIFO would block, /dev/zero never ends); so are files far larger
// than their kind can be: images over 256 MiB, checkpoints longer than their
// header declares (sparse files here: no disk is used).
TEST(BadInput, InputsThatAreNotRegularFilesOrFarTooLargeAreRefused) {
  const fs::path run = tiny_run("irregular");
  const fs::path dir = testing::temp_dir("irregular_inputs");
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string ck = (run / "last.safetensors").string();
  const std::string image = first_image(run / "synthetic" / "images").string();
  const std::string out = " -o " + (dir / "out.png").string();

  for (const std::string& bad : std::vector<std::string>{dir.string(), fifo.string(), "/dev/zero"}) {
    SCOPED_TRACE(bad);
    expect_error_mentioning(cli("predict --checkpoint " + bad + " --image " + image + out), {bad});
    expect_error_mentioning(cli("predict --checkpoint " + ck + " --image " + bad + out), {bad});
  }
  expect_error_mentioning(cli("predict --checkpoint " + ck + " --image " + fifo.string() + out),
                          {fifo.string(), "not a regular file"});
  expect_error_mentioning(cli("predict --checkpoint " + ck + " --image " + dir.string() + out),
                          {dir.string(), "is a directory"});

  // A config file and .mat files that are FIFOs: refused before they are opened.
  expect_error_mentioning(cli("train --config " + fifo.string()), {fifo.string(), "not a regular file", "config"});
  fs::rename(fifo, dir / "fifo.mat");
  expect_error_mentioning(cli("eval --predictions " + (dir / "fifo.mat").string() + " --gt " + (dir / "fifo.mat").string()),
                          {(dir / "fifo.mat").string(), "not a regular file", ".mat"});
  fs::rename(dir / "fifo.mat", fifo);
  fs::rename(fifo, dir / "fifo.json");  // COCO files: results, annotations
  expect_error_mentioning(cli("eval --predictions " + (dir / "fifo.json").string() + " --gt " + (dir / "fifo.json").string()),
                          {(dir / "fifo.json").string(), "not a regular file"});
  fs::rename(dir / "fifo.json", fifo);
  expect_error_mentioning(cli("eval --checkpoint " + ck + " --data coco:a.json:images --box-score-threshold nan"),
                          {"--box-score-threshold must be a finite number"});
  expect_error_mentioning(cli("eval --checkpoint " + ck + " --data coco:a.json:images --box-score-threshold 0.5"),
                          {"--box-score-threshold goes with --person-boxes"});

  // An annotation file that is a FIFO, then one that is a directory.
  const fs::path data = dir / "data";
  fs::create_directories(data / "annot");
  fs::create_directory_symlink(run / "synthetic" / "images", data / "images");
  ASSERT_EQ(::mkfifo((data / "annot" / "valid.json").c_str(), 0600), 0);
  expect_error_mentioning(cli("eval --checkpoint " + ck + " --data mpii:" + data.string() + " --out " + dir.string()),
                          {"valid.json", "not a regular file", "annotation"});
  fs::remove(data / "annot" / "valid.json");
  fs::create_directory(data / "annot" / "valid.json");
  expect_error_mentioning(cli("eval --checkpoint " + ck + " --data mpii:" + data.string() + " --out " + dir.string()),
                          {"valid.json", "is a directory"});

  // A 300 MiB "image" and a checkpoint grown by 4 GiB past its data.
  const fs::path huge_image = dir / "huge.jpg";
  write_bytes(huge_image, file_bytes(image));
  fs::resize_file(huge_image, 300ull << 20);
  expect_error_mentioning(cli("predict --checkpoint " + ck + " --image " + huge_image.string() + out),
                          {huge_image.string(), "more than the limit of 256 MiB"});
  const fs::path long_ck = dir / "long.safetensors";
  fs::copy_file(ck, long_ck);
  const auto declared = fs::file_size(long_ck);
  fs::resize_file(long_ck, declared + (4ull << 30));
  expect_error_mentioning(cli("predict --checkpoint " + long_ck.string() + " --image " + image + out),
                          {long_ck.string(), "but its header declares " + std::to_string(declared), "not read"});
  EXPECT_FALSE(fs::exists(dir / "out.png"));
}

// A JPEG cut inside its entropy-coded data decodes "successfully" with a
// grey remainder and a decoder warning: refused naming the file in predict,
// in eval (and skipped with --skip-bad, the person then scoring NaN), and in
// training (the header check passes; the decode fails mid-epoch).
TEST(BadInput, TruncatedJpegIsAnErrorNamingTheFile) {
  const fs::path run = tiny_run("truncated_jpeg");
  const fs::path dir = testing::temp_dir("truncated_jpeg_data");
  fs::copy(run / "synthetic", dir / "data", fs::copy_options::recursive);
  const nlohmann::json valid = nlohmann::json::parse(file_bytes(dir / "data" / "annot" / "valid.json"));
  const fs::path victim = dir / "data" / "images" / valid.at(0).at("image").get<std::string>();
  const std::string whole = file_bytes(victim);
  write_bytes(victim, whole.substr(0, whole.size() * 2 / 3));

  const std::string ck = (run / "last.safetensors").string();
  const fs::path drawn = dir / "drawn.png";
  expect_error_mentioning(cli("predict --checkpoint " + ck + " --image " + victim.string() + " -o " + drawn.string()),
                          {victim.string(), "corrupt JPEG data"});
  EXPECT_FALSE(fs::exists(drawn));

  const std::string eval = "eval --checkpoint " + ck + " --data mpii:" + (dir / "data").string() + ":valid --out " +
                           (dir / "eval").string();
  expect_error_mentioning(cli(eval), {victim.string(), "corrupt JPEG data"});
  EXPECT_FALSE(fs::exists(dir / "eval" / "pred.mat"));
  const CliRun skipped = cli(eval + " --skip-bad");
  EXPECT_EQ(skipped.code, 0) << skipped.out;
  EXPECT_NE(skipped.out.find(victim.filename().string()), std::string::npos) << skipped.out;

  // Training on the damaged set: stops naming the image.
  const CliRun trained = cli("train" + kTinyFlags + " --model tiny --data mpii:" + (dir / "data").string() + ":valid --batch-size 2" +
                          " --out " + (dir / "train").string());
  expect_error_mentioning(trained, {victim.string(), "corrupt JPEG data"});
  EXPECT_FALSE(fs::exists(dir / "train" / "last.safetensors"));
  // With --skip-bad the other sample takes its row and the step is taken.
  const CliRun skipping = cli("train" + kTinyFlags + " --model tiny --data mpii:" + (dir / "data").string() +
                              ":valid --batch-size 2 --skip-bad --out " + (dir / "train_skip").string());
  EXPECT_EQ(skipping.code, 0) << skipping.out;
  EXPECT_NE(skipping.out.find(victim.string()), std::string::npos) << skipping.out;
  EXPECT_TRUE(fs::exists(dir / "train_skip" / "last.safetensors"));
}

// Person boxes no image can hold: named by file, entry and field when the
// set loads (training and eval), skipped with --skip-bad; predict's --center
// and --scale are checked the same way, naming the option.
TEST(BadInput, AbsurdPersonBoxesAreNamedOrSkipped) {
  const fs::path run = tiny_run("absurd_boxes");
  const fs::path dir = testing::temp_dir("absurd_boxes_data");
  fs::copy(run / "synthetic", dir / "data", fs::copy_options::recursive);
  const fs::path annot = dir / "data" / "annot" / "valid.json";
  const nlohmann::json valid = nlohmann::json::parse(file_bytes(annot));
  const std::string ck = (run / "last.safetensors").string();
  struct Case {
    const char* field;
    nlohmann::json value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"center", {1e7, 20}, "lies outside"},
      {"center", {20, -400}, "lies outside"},
      {"scale", 1e-4, "smaller than the minimum of 4 pixels"},
      {"scale", 1e5, "more than 8 x the larger side"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    nlohmann::json edited = valid;
    edited[1][c.field] = c.value;
    write_bytes(annot, edited.dump());
    const std::string eval = "eval --checkpoint " + ck + " --data mpii:" + (dir / "data").string() + ":valid --out " +
                             (dir / "eval").string();
    expect_error_mentioning(cli(eval), {annot.string(), "entry 1", c.field, c.message});
    EXPECT_FALSE(fs::exists(dir / "eval" / "pred.mat"));
    const CliRun skipped = cli(eval + " --skip-bad");
    EXPECT_EQ(skipped.code, 0) << skipped.out;
    EXPECT_NE(skipped.out.find("entry 1"), std::string::npos) << skipped.out;
    fs::remove_all(dir / "eval");
  }
  // Training: refused before any step, naming the entry.
  nlohmann::json edited = valid;
  edited[1]["scale"] = 1e5;
  write_bytes(annot, edited.dump());
  expect_error_mentioning(cli("train" + kTinyFlags + " --model tiny --data mpii:" + (dir / "data").string() + ":valid --out " +
                              (dir / "train").string()),
                          {annot.string(), "entry 1", "scale"});
  EXPECT_FALSE(fs::exists(dir / "train" / "last.safetensors"));

  const std::string predict = "predict --checkpoint " + ck + " --image " + first_image(dir / "data" / "images").string() +
                              " -o " + (dir / "drawn.png").string();
  expect_error_mentioning(cli(predict + " --center nan nan --scale 1"), {"--center", "finite", "nan"});
  expect_error_mentioning(cli(predict + " --center 10 10 --scale 0"), {"--scale", "positive", "got 0"});
  expect_error_mentioning(cli(predict + " --center 10 10 --scale -1"), {"--scale", "positive", "got -1"});
  expect_error_mentioning(cli(predict + " --center 10 10 --scale nan"), {"--scale", "positive", "nan"});
  expect_error_mentioning(cli(predict + " --center 10 10 --scale inf"), {"--scale", "positive", "inf"});
  expect_error_mentioning(cli(predict + " --center 1e7 10 --scale 0.2"), {"--center 1e+07 10", "lies outside"});
  expect_error_mentioning(cli(predict + " --center 10 10 --scale 1e5"), {"--scale", "more than 8 x"});
  expect_error_mentioning(cli(predict + " --center 10 10"), {"--center and --scale go together"});
  EXPECT_FALSE(fs::exists(dir / "drawn.png"));
}

}  // namespace
}  // namespace posenet
