// The keypoint sets (eval/keypoint_set.h): MPII, COCO and AI Challenger
// names, flip pairs, skeletons and OKS sigmas, and the skeleton drawing that
// follows a set.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "eval/coco_oks.h"
#include "eval/decode.h"
#include "eval/keypoint_set.h"
#include "eval/mpii_joints.h"
#include "models/spec.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/draw.h"

namespace posenet {
namespace {

using eval::BodySide;
using eval::KeypointSet;

const KeypointSet* const kAllSets[] = {&eval::mpii_keypoint_set(), &eval::coco_keypoint_set(), &eval::aic_keypoint_set()};

TEST(KeypointSet, CountsAndUniqueNames) {
  EXPECT_EQ(eval::mpii_keypoint_set().count(), 16);
  EXPECT_EQ(eval::coco_keypoint_set().count(), 17);
  EXPECT_EQ(eval::aic_keypoint_set().count(), 14);
  for (const KeypointSet* s : kAllSets) {
    std::set<std::string> names(s->keypoints.begin(), s->keypoints.end());
    EXPECT_EQ(int(names.size()), s->count()) << s->name;
    EXPECT_STREQ(s->keypoint_name(-1), "?");
    EXPECT_STREQ(s->keypoint_name(s->count()), "?");
  }
}

// A flip swaps exactly l_X with r_X; central keypoints stay.
TEST(KeypointSet, FlipPairsSwapLeftAndRightNamesAndNothingElse) {
  for (const KeypointSet* s : kAllSets) {
    for (int k = 0; k < s->count(); ++k) {
      const std::string name = s->keypoint_name(k);
      const int partner = s->flip_partner(k);
      EXPECT_EQ(s->flip_partner(partner), k) << s->name << " " << name;
      if (s->side(k) == BodySide::kCentre) {
        EXPECT_EQ(partner, k) << s->name << " " << name;
      } else {
        const std::string mirrored = (s->side(k) == BodySide::kLeft ? "r_" : "l_") + name.substr(2);
        EXPECT_EQ(s->keypoint_name(partner), mirrored) << s->name;
      }
    }
  }
}

TEST(KeypointSet, SkeletonJoinsEveryKeypointWithinRange) {
  for (const KeypointSet* s : kAllSets) {
    std::set<int> reached;
    for (const auto& limb : s->skeleton) {
      for (int k : limb) {
        EXPECT_GE(k, 0) << s->name;
        EXPECT_LT(k, s->count()) << s->name;
        reached.insert(k);
      }
      EXPECT_NE(limb[0], limb[1]) << s->name;
    }
    EXPECT_EQ(int(reached.size()), s->count()) << s->name;
  }
  EXPECT_EQ(eval::coco_keypoint_set().skeleton.size(), 19u);
}

TEST(KeypointSet, OksSigmasAreTheEvaluationsOnlyForCoco) {
  const auto& coco = eval::coco_keypoint_set().oks_sigmas;
  ASSERT_EQ(coco.size(), eval::kCocoOksSigmas.size());
  for (size_t i = 0; i < coco.size(); ++i) EXPECT_EQ(coco[i], eval::kCocoOksSigmas[i]);  // the same doubles
  EXPECT_TRUE(eval::mpii_keypoint_set().oks_sigmas.empty());
  EXPECT_TRUE(eval::aic_keypoint_set().oks_sigmas.empty());
}

TEST(KeypointSet, MpiiIsTheOneDefinitionTrainAndDecodeUse) {
  const KeypointSet& mpii = eval::mpii_keypoint_set();
  ASSERT_EQ(mpii.count(), eval::kMpiiJointCount);
  ASSERT_EQ(mpii.count(), train::kNumJoints);
  ASSERT_EQ(mpii.flip_pairs.size(), eval::kMpiiFlipPairs.size());
  for (size_t i = 0; i < mpii.flip_pairs.size(); ++i) {
    EXPECT_EQ(mpii.flip_pairs[i].first, eval::kMpiiFlipPairs[i][0]);
    EXPECT_EQ(mpii.flip_pairs[i].second, eval::kMpiiFlipPairs[i][1]);
  }
  EXPECT_EQ(&eval::mpii_flip_pairs(), &mpii.flip_pairs);
  for (int j = 0; j < mpii.count(); ++j) {
    EXPECT_STREQ(train::joint_name(j), mpii.keypoint_name(j));
    EXPECT_EQ(train::flip_partner(j), mpii.flip_partner(j));
  }
  EXPECT_STREQ(train::joint_name(train::kHeadTop), "head_top");
  EXPECT_EQ(train::flip_partner(train::kRWrist), train::kLWrist);
}

TEST(KeypointSet, CocoOrderIsTheAnnotationFilesOrder) {
  const KeypointSet& coco = eval::coco_keypoint_set();
  EXPECT_STREQ(coco.keypoint_name(0), "nose");
  EXPECT_STREQ(coco.keypoint_name(5), "l_shoulder");
  EXPECT_STREQ(coco.keypoint_name(16), "r_ankle");
  const KeypointSet& aic = eval::aic_keypoint_set();
  EXPECT_STREQ(aic.keypoint_name(0), "r_shoulder");
  EXPECT_STREQ(aic.keypoint_name(12), "head_top");
  EXPECT_STREQ(aic.keypoint_name(13), "neck");
}

TEST(KeypointSet, LimbSides) {
  const KeypointSet& mpii = eval::mpii_keypoint_set();
  EXPECT_EQ(mpii.limb_side({train::kRHip, train::kPelvis}), BodySide::kRight);
  EXPECT_EQ(mpii.limb_side({train::kLShoulder, train::kThorax}), BodySide::kLeft);
  EXPECT_EQ(mpii.limb_side({train::kThorax, train::kUpperNeck}), BodySide::kCentre);
  const KeypointSet& coco = eval::coco_keypoint_set();
  EXPECT_EQ(coco.limb_side({11, 12}), BodySide::kCentre);  // hip to hip crosses the body
  EXPECT_EQ(coco.limb_side({15, 13}), BodySide::kLeft);
}

TEST(KeypointSet, ByNameAndMismatchNamesBoth) {
  for (const KeypointSet* s : kAllSets) EXPECT_EQ(&eval::keypoint_set_named(s->name), s);
  try {
    eval::keypoint_set_named("h36m");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'h36m'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mpii, coco, aic"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(eval::require_same_keypoint_set(eval::coco_keypoint_set(), eval::coco_keypoint_set(), "x"));
  try {
    eval::require_same_keypoint_set(eval::mpii_keypoint_set(), eval::coco_keypoint_set(), "run/last.safetensors");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("run/last.safetensors"), std::string::npos) << m;
    EXPECT_NE(m.find("COCO (17 keypoints)"), std::string::npos) << m;
    EXPECT_NE(m.find("MPII (16 joints)"), std::string::npos) << m;
  }
}

// COCO's left lower leg (l_knee -> l_ankle) is drawn blue, its right one red,
// the hips' line across the body green; a wrong keypoint count is an error.
TEST(KeypointSet, DrawSkeletonColoursLimbsBySide) {
  const KeypointSet& coco = eval::coco_keypoint_set();
  std::vector<train::DrawnJoint> joints(size_t(coco.count()), train::DrawnJoint{0, 0, false});
  auto place = [&](int k, double x, double y) { joints[size_t(k)] = {x, y, true}; };
  place(13, 20, 20);  // l_knee
  place(15, 20, 80);  // l_ankle
  place(14, 60, 20);  // r_knee
  place(16, 60, 80);  // r_ankle
  place(11, 100, 20);  // l_hip
  place(12, 100, 80);  // r_hip
  train::Image image(120, 100, 0);
  train::draw_skeleton(image, coco, joints);
  auto pixel = [&](int x, int y) {
    const uint8_t* p = image.at(x, y);
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(pixel(20, 50), (std::array<int, 3>{40, 90, 230}));
  EXPECT_EQ(pixel(60, 50), (std::array<int, 3>{230, 40, 40}));
  EXPECT_EQ(pixel(100, 50), (std::array<int, 3>{40, 200, 70}));
  EXPECT_EQ(pixel(40, 50), (std::array<int, 3>{0, 0, 0}));  // no limb joins a knee to the other knee
  joints.pop_back();
  EXPECT_THROW(train::draw_skeleton(image, coco, joints), Error);
}

train::TrainConfig tiny_config(const std::string& keypoints) {
  train::TrainConfig c;
  c.model = "tiny";
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 64;
  c.keypoints = keypoints;
  return c;
}

TEST(KeypointSet, TrainingConfigStoresItAndOlderConfigsAreMpii) {
  train::TrainConfig c = tiny_config("coco");
  EXPECT_EQ(c.to_json().at("keypoints"), "coco");
  EXPECT_EQ(train::TrainConfig::from_json(c.to_json(), "x").keypoints, "coco");
  nlohmann::json older = c.to_json();
  older.erase("keypoints");
  EXPECT_EQ(train::TrainConfig::from_json(older, "x").keypoints, "mpii");
  c.keypoints = "h36m";
  try {
    c.validate();
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("keypoints: unknown keypoint set 'h36m'"), std::string::npos) << e.what();
  }
}

// A checkpoint's keypoint set sizes the model it rebuilds: 17 heatmaps for COCO.
TEST(KeypointSet, CheckpointRecordsItAndRebuildsTheHead) {
  const std::filesystem::path dir = testing::temp_dir("keypoint_set_checkpoint");
  for (const KeypointSet* set : kAllSets) {
    const train::TrainConfig c = tiny_config(set->name);
    Generator gen(3);
    auto model = models::build_model(train::model_spec_of(c), gen);
    EXPECT_EQ(model->spec().joints, set->count());
    const std::filesystem::path file = dir / (set->name + ".safetensors");
    train::save_checkpoint(file, *model, nullptr, c, model->spec().describe(), {});
    const train::Checkpoint ck = train::read_checkpoint(file);
    EXPECT_EQ(&train::keypoint_set_of(ck), set);
    auto loaded = train::load_model_from_checkpoint(ck, Device::cpu());
    const Tensor heatmaps = loaded->forward_heatmaps(Tensor::zeros({1, 64, 64, 3})).back();
    EXPECT_EQ(heatmaps.shape().back(), set->count()) << set->name;
  }
}

TEST(KeypointSet, CheckpointWithAnUnknownSetIsRefusedNamingTheFile) {
  const std::filesystem::path dir = testing::temp_dir("keypoint_set_unknown");
  train::TrainConfig c = tiny_config("mpii");
  Generator gen(3);
  auto model = models::build_model(train::model_spec_of(c), gen);
  c.keypoints = "h36m";
  train::save_checkpoint(dir / "ck.safetensors", *model, nullptr, c, model->spec().describe(), {});
  try {
    train::read_checkpoint(dir / "ck.safetensors");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ck.safetensors: corrupt checkpoint config: unknown keypoint set 'h36m'"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace posenet
