// Non-square inputs (256x192, 384x288): the person box grown to the input's
// aspect ratio then x1.25, the model and heatmap shapes, the stored config,
// and the crop that maps the box onto the input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/person_box.h"
#include "models/spec.h"
#include "train/augment.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace posenet {
namespace {

TEST(InputSize, PersonBoxOfASquareInputIsTheLongSide) {
  const eval::PersonCrop tall = eval::crop_of_person_box(10, 20, 60, 200, 1.0);
  EXPECT_DOUBLE_EQ(tall.center.x, 40);
  EXPECT_DOUBLE_EQ(tall.center.y, 120);
  EXPECT_EQ(tall.scale, 200 / 200.0 * 1.25);
  EXPECT_EQ(eval::crop_of_person_box(0, 0, 300, 100, 1.0).scale, 300 / 200.0 * 1.25);
}

// 256x192 (aspect 0.75): a tall box grows in width to 0.75 x its height; a
// wide one keeps its width (its height grows).
TEST(InputSize, PersonBoxGrowsToTheInputAspectRatio) {
  EXPECT_DOUBLE_EQ(eval::crop_of_person_box(10, 20, 60, 200, 0.75).scale, 150 / 200.0 * 1.25);
  EXPECT_DOUBLE_EQ(eval::crop_of_person_box(10, 20, 300, 100, 0.75).scale, 300 / 200.0 * 1.25);
  EXPECT_DOUBLE_EQ(eval::crop_of_person_box(10, 20, 72, 96, 288.0 / 384.0).scale, 72 / 200.0 * 1.25);
  EXPECT_THROW(eval::crop_of_person_box(0, 0, 0, 10, 0.75), Error);
  const eval::PersonCrop whole = eval::crop_of_whole_image(100, 400, 0.75);
  EXPECT_DOUBLE_EQ(whole.scale, 300 / 200.0);
  EXPECT_DOUBLE_EQ(whole.center.y, 199.5);
}

// The crop maps the grown box onto the whole 256x192 input less the 1.25
// padding: a 150 x 200 box spans 192/1.25 x 256/1.25 pixels, centred.
TEST(InputSize, CropOfANonSquareInputHoldsTheBox) {
  const eval::PersonCrop crop = eval::crop_of_person_box(100, 50, 150, 200, 0.75);
  train::Sample s;
  s.center = crop.center;
  s.scale = crop.scale;
  s.joints[0] = {100, 50};
  s.joints[1] = {250, 250};
  s.weight[0] = s.weight[1] = 1;
  train::CropConfig config;
  config.input_width = 192;
  config.input_height = 256;
  const train::CropResult r = train::crop_geometry(s, 640, train::AugmentParams{}, config);
  EXPECT_NEAR(r.joints[0].x, 96 - 76.8, 1e-9);
  EXPECT_NEAR(r.joints[0].y, 128 - 102.4, 1e-9);
  EXPECT_NEAR(r.joints[1].x, 96 + 76.8, 1e-9);
  EXPECT_NEAR(r.joints[1].y, 128 + 102.4, 1e-9);
}

TEST(InputSize, ModelAndHeatmapShapes) {
  train::TrainConfig c;
  c.model = "simplebaseline:r50";
  for (const auto& [h, w, hh, hw] : {std::array<int, 4>{256, 192, 64, 48}, {384, 288, 96, 72}}) {
    c.input_size = h;
    c.input_width = w;
    const models::ModelSpec spec = train::model_spec_of(c);
    EXPECT_EQ(spec.input_h, h);
    EXPECT_EQ(spec.input_w, w);
    EXPECT_EQ(spec.heatmap_h(), hh);
    EXPECT_EQ(spec.heatmap_w(), hw);
  }
  // A small one runs: [B, H/4, W/4, joints].
  c.model = "tiny";
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 128;
  c.input_width = 96;
  Generator gen(5);
  auto model = models::build_model(train::model_spec_of(c), gen);
  const Tensor heatmaps = model->forward_heatmaps(Tensor::zeros({2, 128, 96, 3})).back();
  EXPECT_EQ(heatmaps.shape(), (Shape{2, 32, 24, 16}));
}

TEST(InputSize, StoredAsASideOrHeightAndWidth) {
  train::TrainConfig c;
  c.input_size = 256;
  EXPECT_EQ(c.to_json().at("input_size"), 256);
  c.input_width = 192;
  EXPECT_EQ(c.to_json().at("input_size"), nlohmann::json::array({256, 192}));
  const train::TrainConfig back = train::TrainConfig::from_json(c.to_json(), "x");
  EXPECT_EQ(back.input_size, 256);
  EXPECT_EQ(back.input_width, 192);
  nlohmann::json square = c.to_json();
  square["input_size"] = {256, 256};
  EXPECT_EQ(train::TrainConfig::from_json(square, "x").input_width, 0);
  nlohmann::json bad = c.to_json();
  bad["input_size"] = {256, 192, 3};
  EXPECT_THROW(train::TrainConfig::from_json(bad, "run/config.json"), InputError);
  c.input_width = 100;
  EXPECT_THROW(c.validate(), InputError);
  c.input_size = 0;
  c.input_width = 192;
  EXPECT_THROW(c.validate(), InputError);
}

}  // namespace
}  // namespace posenet
