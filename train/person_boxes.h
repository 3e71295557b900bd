// Samples for top-down prediction from a person detector's boxes (COCO
// detection results), as Simple Baselines and HRNet evaluate on COCO: one
// sample per box, cropped like a ground-truth box, carrying the box's score.
#pragma once
#include <filesystem>

#include "eval/coco_json.h"
#include "train/dataset.h"

namespace posenet::train {

// The images come from the annotations' "images" list (id -> file_name,
// as read for the evaluation) under image_dir; the samples hold no keypoints (weight 0) and
// use COCO's keypoint set. options.input_aspect_ratio shapes the crop;
// options.check_images checks every image (errors name the detection file
// and entry).
Dataset load_person_box_samples(const eval::CocoPersonBoxes& boxes, const eval::CocoGroundTruth& annotations,
                                const std::filesystem::path& image_dir, const LoadOptions& options);

}  // namespace posenet::train
