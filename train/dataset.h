// Person samples for single-person pose training, in MPII's 16-joint order,
// and the loaders of the annotation formats we train on: the MPII JSON
// layout, COCO person keypoints and AI Challenger keypoints (COCO-style).
//
// All coordinates in a Sample are 0-based image pixels; center/scale are the
// crop box after the usual load-time adjustments (scale in 200-px units).
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/geometry.h"
#include "eval/keypoint_set.h"
#include "eval/mpii_joints.h"

namespace posenet::train {

// The crop geometry lives in eval/ (evaluation maps heatmaps back through
// the same transform); these keep the short train:: names.
using eval::Affine2x3;
using eval::kPixelStd;
using eval::Point2;

inline constexpr int kNumJoints = 16;  // MPII's joints
// The most keypoints a Sample holds (COCO's 17); a data set's keypoint set
// (Dataset::keypoints) says how many are used, the rest have weight 0.
inline constexpr int kMaxJoints = 17;

// MPII joint order.
enum MpiiJoint : int {
  kRAnkle = 0, kRKnee, kRHip, kLHip, kLKnee, kLAnkle, kPelvis, kThorax, kUpperNeck, kHeadTop,
  kRWrist, kRElbow, kRShoulder, kLShoulder, kLElbow, kLWrist
};
// Left/right pairs swapped by a horizontal flip.
inline constexpr const auto& kFlipPairs = eval::kMpiiFlipPairs;
// flip_partner(j): the joint j becomes after a horizontal flip.
int flip_partner(int joint);
const char* joint_name(int joint);  // "r_ankle", ...

using Joints = std::array<Point2, kMaxJoints>;
using JointWeights = std::array<float, kMaxJoints>;

using eval::HeadBox;  // 0-based pixels in a Sample

struct Sample {
  std::filesystem::path image;  // full path of the image file
  Point2 center;                // 0-based, after the dataset's adjustments
  double scale = 1.0;           // box size / 200 px, after the adjustments
  Joints joints{};              // 0-based pixels
  JointWeights weight{};        // 1 = annotated, 0 = not (or not in this dataset)
  std::optional<HeadBox> headbox;
  int64_t source_index = 0;     // entry index in the annotation file
  std::string source;           // the annotation file
  int64_t image_id = 0;         // COCO-style files: the annotation's image_id
  double box_score = 1.0;       // a detector's score for the box (1: a ground-truth box)
};

struct LoadOptions {
  // Log and skip malformed entries instead of throwing.
  bool skip_bad = false;
  // Print each skipped entry's reason to stderr (when skip_bad).
  bool log_skipped = true;
  // COCO / AI Challenger: invent pelvis and thorax as the midpoints of the
  // hips and shoulders (weight 1). Off by default: those datasets do not
  // annotate them and MPII's pelvis and thorax are not those midpoints, so
  // by default they get weight 0 like every joint a dataset lacks.
  bool synthesize_midpoints = false;
  // Check every sample's image up front (header only: it exists and its
  // header decodes; read_image_header). A failure is an InputError naming
  // the image and the annotation entry, or with skip_bad a logged skip.
  // Training and evaluation set it; annotation-only tools need no images.
  bool check_images = false;
  // COCO / AI Challenger: the model input's width / height; a person box is
  // grown to it before the 1.25 padding (eval/person_box.h).
  double input_aspect_ratio = 1.0;
};

struct Dataset {
  std::vector<Sample> samples;
  std::vector<std::string> skipped;  // reasons, "file: entry i: problem"
  // The keypoints the samples hold, in this set's order.
  const eval::KeypointSet* keypoints = &eval::mpii_keypoint_set();

  size_t size() const { return samples.size(); }
  const Sample& operator[](size_t i) const { return samples[i]; }
  // "Additional data": appends other's samples (and skip reasons); both
  // must hold the same keypoint set.
  void append(const Dataset& other);
};

// The check_images pass on its own (the loaders run it when asked): samples
// whose image is missing or whose header does not decode throw, or with
// options.skip_bad are logged and moved to dataset.skipped as
// "annotation file: entry i: image: problem".
void check_sample_images(Dataset& dataset, const LoadOptions& options);

// MPII's person box as its annotation files give it (center in 1-based
// pixels, scale = person height / 200 px) turned into the crop box a Sample
// holds: center - 1 and, when the raw center[0] != -1, center_y += 15*scale
// (before the shift) and scale *= 1.25. The MPII loader and
// `posenet predict --center --scale` both go through it.
struct CropBox {
  Point2 center;  // 0-based
  double scale;   // 200-px units, enlarged
};
CropBox mpii_crop_box(Point2 center_one_based, double scale);

// MPII JSON: a list of {image, center (1-based), scale, joints (16 x [x,y],
// 1-based), joints_vis (16 x 0/1)}. Applies the load-time adjustments of
// SB/HRNet: joints -1 and the box through mpii_crop_box. An entry without joints
// (the test split) loads with all weights 0. An optional "headbox"
// [[x1,y1],[x2,y2]] (1-based) is read when present. Images are
// image_dir / image.
Dataset load_mpii_json(const std::filesystem::path& json, const std::filesystem::path& image_dir,
                       const LoadOptions& options = {});

// COCO person keypoints (17 keypoints) mapped onto MPII's 16 joints.
// Person annotations with num_keypoints > 0 (and iscrowd 0) are used.
// bbox [x,y,w,h] -> center (x + w/2, y + h/2), scale = the box grown to
// options.input_aspect_ratio, /200 * 1.25 (SB's _box2cs; max(w, h)/200 * 1.25
// for a square input). Mapping: ankles, knees, hips,
// shoulders, elbows, wrists directly; pelvis, thorax, upper_neck and
// head_top have no COCO counterpart: weight 0 (coordinates 0). With
// options.synthesize_midpoints, pelvis = midpoint of the hips and thorax =
// midpoint of the shoulders when both are labelled.
Dataset load_coco_keypoints(const std::filesystem::path& json, const std::filesystem::path& image_dir,
                            const LoadOptions& options = {});

// AI Challenger keypoints in COCO layout (14 keypoints: r/l shoulder, elbow,
// wrist, r/l hip, knee, ankle, head_top, neck). Limbs map directly,
// head_top -> head_top, neck -> upper_neck; pelvis and thorax weight 0
// (midpoints only with options.synthesize_midpoints, as for COCO). Box as
// for COCO.
Dataset load_aic_keypoints(const std::filesystem::path& json, const std::filesystem::path& image_dir,
                           const LoadOptions& options = {});

// COCO person keypoints in their own 17-keypoint set (Dataset::keypoints is
// COCO's): a top-down sample per person with ground-truth box, as Simple
// Baselines and HRNet train (crowd persons and persons without labelled
// keypoints left out; the box as for load_coco_keypoints).
Dataset load_coco_native(const std::filesystem::path& json, const std::filesystem::path& image_dir,
                         const LoadOptions& options = {});

// The keypoint set a list of "kind:path" specs trains: the first one's
// (mpii and synthetic: MPII; coco: COCO). AI Challenger first is mapped onto
// MPII (its own set has no evaluation).
const eval::KeypointSet& keypoint_set_of_specs(const std::string& specs);

// Reads "kind:path" dataset specs (train/dataset_spec.h; an mpii split
// defaults to train; pass mpii:DIR:valid for the validation split). Several
// specs joined with ',' are concatenated. The first decides the keypoint set
// (keypoint_set_of_specs); later ones are mapped onto it (COCO and AI
// Challenger onto MPII); a data set that has no mapping onto it (MPII after
// COCO) is an error naming both.
Dataset load_dataset_spec(const std::string& spec, const LoadOptions& options = {});

}  // namespace posenet::train
