// Top-down COCO keypoint predictions of a model on a COCO data set, as
// Simple Baselines and HRNet produce them: every person box is cropped and
// predicted (flip test optional, quarter-offset decoding), each person is
// rescored by the mean confidence of its confident keypoints times its box
// score, and OKS-NMS (0.9) drops near-duplicates within an image. The result
// is the standard keypoint results list the COCO evaluation scores.
#pragma once
#include <vector>

#include <ostream>

#include "eval/coco_eval.h"
#include "eval/coco_json.h"
#include "models/pose_model.h"
#include "train/dataset.h"
#include "train/validate.h"

namespace posenet::train {

// dataset holds COCO keypoints: ground-truth boxes (load_coco_native, score
// 1) or a detector's (load_person_box_samples, their scores). Persons whose
// image did not decode (settings.skip_undecodable) predict nothing.
std::vector<eval::CocoDetection> predict_coco_persons(models::PoseModel& model, const Dataset& dataset,
                                                      const EvalSettings& settings);

// Prints "Validation OKS AP after epoch E (N persons, ground-truth boxes[,
// flip test]):" and the 10 numbers; returns them for log.jsonl (percent).
nlohmann::ordered_json report_coco_validation(std::ostream& os, const eval::CocoStats& stats, int64_t epoch_number,
                                              size_t persons, bool flip_test);

}  // namespace posenet::train
