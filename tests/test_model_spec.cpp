// Model names, options and the shape-based model info (parameters, MACs,
// activation memory). Expected numbers come from tests/reference/
// make_fixtures.py, which counts the same networks built in PyTorch (and
// torchvision's own ResNets).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "models/info.h"
#include "models/spec.h"

namespace posenet::models {
namespace {

std::string error_of(const std::string& name, const ModelOptions& options = {}) {
  try {
    parse_model_spec(name, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpec, ParsesNamesWithDefaults) {
  ModelSpec sb = parse_model_spec("simplebaseline:r50");
  EXPECT_EQ(sb.kind, ModelKind::SimpleBaseline);
  EXPECT_EQ(sb.depths, std::vector<int>{50});
  EXPECT_FALSE(sb.laterals());
  EXPECT_EQ(sb.decoder_width(), 256);
  EXPECT_EQ(sb.input_h, 256);
  EXPECT_EQ(sb.joints, 16);
  EXPECT_EQ(sb.name(), "simplebaseline:r50");

  ModelSpec hg = parse_model_spec("hourglass:r101");
  EXPECT_EQ(hg.kind, ModelKind::Hourglass);
  EXPECT_TRUE(hg.laterals());

  ModelSpec ms = parse_model_spec("multistage:r101,r50,r50");
  EXPECT_EQ(ms.kind, ModelKind::MultiStage);
  EXPECT_EQ(ms.depths, (std::vector<int>{101, 50, 50}));
  EXPECT_EQ(ms.stages(), 3);
  EXPECT_TRUE(ms.tick && ms.tock);
  EXPECT_EQ(ms.name(), "multistage:r101,r50,r50");

  EXPECT_EQ(parse_model_spec("multistage:3").name(), "multistage:r101,r50,r50");
  EXPECT_EQ(parse_model_spec("multistage:2").depths, (std::vector<int>{101, 50}));

  ModelSpec tiny = parse_model_spec("tiny");
  EXPECT_EQ(tiny.name(), "hourglass:r18");
  EXPECT_EQ(tiny.width, 0.25);
  EXPECT_EQ(tiny.input_h, 64);
  EXPECT_EQ(tiny.decoder_width(), 64);
  EXPECT_EQ(parse_model_spec("tiny-multistage").name(), "multistage:r18,r18,r18");
}

TEST(ModelSpec, OptionsOverrideDefaults) {
  ModelOptions o;
  o.input_h = 384;
  o.input_w = 288;
  o.width = 0.5;
  o.joints = 17;
  o.tock = false;
  ModelSpec s = parse_model_spec("multistage:r50,r18", o);
  EXPECT_EQ(s.input_h, 384);
  EXPECT_EQ(s.input_w, 288);
  EXPECT_EQ(s.heatmap_h(), 96);
  EXPECT_EQ(s.joints, 17);
  EXPECT_EQ(s.decoder_width(), 128);
  EXPECT_TRUE(s.tick);
  EXPECT_FALSE(s.tock);
  o.decoder_channels = 32;
  EXPECT_EQ(parse_model_spec("tiny", o).decoder_width(), 32);
}

TEST(ModelSpec, RejectsBadNamesAndOptions) {
  EXPECT_NE(error_of("resnet:r50").find("unknown model 'resnet:r50'"), std::string::npos);
  EXPECT_NE(error_of("hourglass").find("unknown model"), std::string::npos);
  EXPECT_NE(error_of("hourglass:").find("no ResNet depth"), std::string::npos);
  EXPECT_NE(error_of("hourglass:r20").find("unsupported ResNet depth 20"), std::string::npos);
  EXPECT_NE(error_of("hourglass:50").find("'50' is not a ResNet depth"), std::string::npos);
  EXPECT_NE(error_of("hourglass:r50x").find("'r50x' is not a ResNet depth"), std::string::npos);
  EXPECT_NE(error_of("hourglass:r50,r50").find("takes one depth"), std::string::npos);
  EXPECT_NE(error_of("multistage:r50").find("at least two"), std::string::npos);
  EXPECT_NE(error_of("multistage:r101,,r50").find("empty entry"), std::string::npos);
  EXPECT_NE(error_of("multistage:r101,r50,").find("empty entry"), std::string::npos);
  EXPECT_NE(error_of("multistage:1").find("stage count"), std::string::npos);
  EXPECT_NE(error_of("hourglass:3").find("'3' is not a ResNet depth"), std::string::npos);
  ModelOptions o;
  o.input_h = 100;
  EXPECT_NE(error_of("hourglass:r50", o).find("multiple of 32"), std::string::npos);
  o = {};
  o.width = 0;
  EXPECT_NE(error_of("hourglass:r50", o).find("width multiplier"), std::string::npos);
  o = {};
  o.joints = 0;
  EXPECT_NE(error_of("hourglass:r50", o).find("joint count"), std::string::npos);
}

// torchvision's resnet<depth>() parameter counts without fc (fc is not part
// of the encoder), as printed by make_fixtures.py.
TEST(ModelInfo, EncoderParameterCountsMatchTorchvision) {
  EXPECT_EQ(encoder_param_count(18), 11176512);
  EXPECT_EQ(encoder_param_count(34), 21284672);
  EXPECT_EQ(encoder_param_count(50), 23508032);
  EXPECT_EQ(encoder_param_count(101), 42500160);
  EXPECT_EQ(encoder_param_count(152), 58143808);
}

// Parameters and MACs of whole models, counted by make_fixtures.py on the
// PyTorch networks with forward hooks (same MAC rule).
TEST(ModelInfo, MatchesThePyTorchReference) {
  ModelInfo sb = model_info(parse_model_spec("simplebaseline:r50"));
  EXPECT_EQ(sb.params, 33999440);  // Simple Baselines R-50, 16 joints: 34.0 M
  EXPECT_EQ(sb.macs, 7234125824);
  ASSERT_EQ(sb.stages.size(), 1u);
  EXPECT_EQ(sb.stages[0].params, sb.params);

  ModelInfo hg = model_info(parse_model_spec("hourglass:r50"));
  EXPECT_EQ(hg.params, 34459728);
  EXPECT_EQ(hg.macs, 7703887872);

  ModelOptions o;
  o.width = 0.25;
  o.decoder_channels = 32;
  o.input_h = o.input_w = 64;
  ModelInfo tiny = model_info(parse_model_spec("hourglass:r18", o));
  EXPECT_EQ(tiny.params, 804896);
  EXPECT_EQ(tiny.macs, 12992512);

  ModelInfo ms = model_info(parse_model_spec("multistage:r101,r50,r50"));
  EXPECT_EQ(ms.params, 122385264);
  EXPECT_EQ(ms.macs, 27786215424);
  ASSERT_EQ(ms.stages.size(), 3u);
  EXPECT_EQ(ms.stages[0].params + ms.stages[1].params + ms.stages[2].params, ms.params);
  EXPECT_EQ(ms.stages[1].params, ms.stages[2].params);
  EXPECT_EQ(ms.stages[0].depth, 101);
}

TEST(ModelInfo, ActivationMemoryFollowsTheStatedRule) {
  // simplebaseline:r18 at width 1, 32x32, counted by hand from the rule in
  // models/info.h (elements; float32 = 4 bytes):
  //   stem: image 32*32*3 + conv1 16*16*64 + ReLU 16*16*64 + pool 8*8*64
  //   layer1 (2 blocks, 8x8x64): per block conv1, ReLU, conv2, out = 4 * 4096
  //   layer2 (4x4x128): block 0 adds the downsample output: 5*2048 + 4*2048
  //   layer3 (2x2x256): 5*1024 + 4*1024;  layer4 (1x1x512): 5*512 + 4*512
  //   decoder: deconv + ReLU at 2x2, 4x4, 8x8 with 256 channels
  //   heatmaps 8*8*16
  ModelOptions o;
  o.input_h = o.input_w = 32;
  ModelInfo info = model_info(parse_model_spec("simplebaseline:r18", o));
  const int64_t stem = 32 * 32 * 3 + 2 * 16 * 16 * 64 + 8 * 8 * 64;
  const int64_t layers = 2 * 4 * 4096 + 9 * 2048 + 9 * 1024 + 9 * 512;
  const int64_t decoder = 2 * 256 * (4 + 16 + 64);
  const int64_t heatmaps = 8 * 8 * 16;
  EXPECT_EQ(info.activation_bytes, 4 * (stem + layers + decoder + heatmaps));
  EXPECT_EQ(model_info(parse_model_spec("simplebaseline:r18", o), 2).activation_bytes, info.activation_bytes / 2);
  // Laterals add their 1x1 outputs; tick and tock add their tensors.
  EXPECT_EQ(model_info(parse_model_spec("hourglass:r18", o)).activation_bytes,
            info.activation_bytes + 4 * 256 * (4 + 16 + 64));
}

// What PyTorch's autograd actually saves for one image of the same networks
// (make_fixtures.py, saved_tensors_hooks; it also keeps the max-pool's int64
// indices and not the loss's input): the estimate is within 3 %.
TEST(ModelInfo, ActivationMemoryIsCloseToWhatPyTorchSaves) {
  const std::pair<const char*, double> cases[] = {
      {"simplebaseline:r50", 123644928.0}, {"hourglass:r50", 129162240.0}, {"multistage:r101,r50,r50", 431420416.0}};
  for (const auto& [name, torch_bytes] : cases) {
    const double ours = double(model_info(parse_model_spec(name)).activation_bytes);
    EXPECT_NEAR(ours / torch_bytes, 1.0, 0.03) << name << ": " << ours << " vs " << torch_bytes;
  }
}

TEST(ModelInfo, TickTockSwitchesChangeTheCounts) {
  ModelOptions off;
  off.tick = false;
  ModelInfo on = model_info(parse_model_spec("multistage:r50,r50"));
  ModelInfo no_tick = model_info(parse_model_spec("multistage:r50,r50", off));
  EXPECT_EQ(on.params - no_tick.params, 256 * 64 + 2 * 64);  // tick 1x1 + its BN
  EXPECT_EQ(on.macs - no_tick.macs, 64 * 64 * 256 * 64);
  EXPECT_EQ(on.stages[0].params, no_tick.stages[0].params);
}

TEST(ModelInfo, JsonHasTheDocumentedFields) {
  const std::string json = model_info(parse_model_spec("multistage:r18,r18")).json();
  for (const char* key : {"\"params\": ", "\"macs\": ", "\"activation_bytes\": ", "\"stages\": [", "\"depth\": 18"})
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
}

#ifdef POSENET_CLI_PATH
TEST(ModelInfo, CommandPrintsJson) {
  const std::string cmd =
      std::string(POSENET_CLI_PATH) + " info --model simplebaseline:r50 --input 256 256 --json 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_NE(out.find("\"params\": 33999440"), std::string::npos) << out;
  EXPECT_NE(out.find("\"macs\": 7234125824"), std::string::npos) << out;

  FILE* bad = popen((std::string(POSENET_CLI_PATH) + " info --model hourglass:r20 2>&1").c_str(), "r");
  ASSERT_NE(bad, nullptr);
  out.clear();
  while (fgets(buf, sizeof buf, bad)) out += buf;
  EXPECT_NE(pclose(bad), 0);
  EXPECT_NE(out.find("unsupported ResNet depth 20"), std::string::npos) << out;
}
#endif

}  // namespace
}  // namespace posenet::models
