// COCO person-keypoint files: the annotations (ground truth) and the
// standard keypoint results file, read with the checks a user needs (every
// problem names the file and the entry) and the meaning the official
// evaluation (pycocotools) gives each field.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/coco_oks.h"

namespace posenet::eval {

// One entry of the annotations' "annotations" list.
struct CocoGtPerson {
  int64_t id = 0;  // the official evaluation counts a match with id 0 as no match; so does this one
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::vector<double> keypoints;  // K (x, y, v) triples, v = 0 unlabelled, 1 occluded, 2 visible
  int64_t num_keypoints = 0;      // 0 makes the person ignored (as a crowd region is)
  double area = 0;                // segment area: OKS scale and area range
  bool iscrowd = false;
  Box bbox{};                     // used by OKS when no keypoint is labelled
};

struct CocoGroundTruth {
  std::string path;
  int keypoint_count = 0;             // K
  std::vector<int64_t> image_ids;     // sorted, unique: the images evaluated
  std::map<int64_t, std::string> image_files;  // id -> file_name, where the record has one
  std::vector<int64_t> category_ids;  // sorted, unique: the categories evaluated
  std::vector<CocoGtPerson> persons;  // file order
  std::vector<std::string> skipped;   // with skip_bad: "file: entry: problem"
};

// One entry of a keypoint results file: {image_id, category_id, keypoints[3K], score}.
struct CocoDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::vector<double> keypoints;  // K (x, y, confidence) triples
  double score = 0;
  // As the official loader: the box spanned by all K keypoints, or, when the
  // file's first entry has a "bbox", each entry's bbox width x height.
  double area = 0;
};

struct CocoResults {
  std::string path;
  std::vector<CocoDetection> detections;  // file order
  std::vector<std::string> skipped;
};

struct CocoLoadOptions {
  bool skip_bad = false;  // drop bad entries (reasons in `skipped`) instead of throwing
};

// Throws InputError naming the file (and entry) on unreadable or malformed
// files, non-finite numbers, keypoint counts other than the categories'
// (the sigmas are COCO's 17), duplicate ids.
CocoGroundTruth read_coco_ground_truth(const std::filesystem::path& path, const CocoLoadOptions& options = {});

// The detections must use gt's keypoint set and images: a file for another
// keypoint set (16 MPII or 14 AI Challenger keypoints) or an image id absent
// from gt is an error naming both files.
CocoResults read_coco_results(const std::filesystem::path& path, const CocoGroundTruth& gt,
                              const CocoLoadOptions& options = {});

// One person box of a detection results file, the standard COCO detection
// results: [{image_id, category_id, bbox [x, y, width, height], score}, ...].
struct CocoPersonBox {
  int64_t image_id = 0;
  Box bbox{};
  double score = 0;
};

struct CocoPersonBoxes {
  std::string path;
  std::vector<CocoPersonBox> boxes;  // file order
  std::vector<std::string> skipped;
};

// The person boxes (category 1; other categories are left out) whose score is
// at least score_threshold (Simple Baselines' and HRNet's image threshold,
// 0 there). An image id absent from gt, a box of zero or negative size, a
// non-finite number or a missing field is an error naming the file and the
// entry (dropped with options.skip_bad).
CocoPersonBoxes read_coco_person_boxes(const std::filesystem::path& path, const CocoGroundTruth& gt,
                                       double score_threshold, const CocoLoadOptions& options = {});

// The area the official loader gives a keypoint result: the box spanned by
// all K keypoints, confident or not ((max x - min x) * (max y - min y)).
double keypoint_box_area(const std::vector<double>& keypoints);

// The standard keypoint results file's content: [{image_id, category_id,
// keypoints, score}, ...] in the given order (doubles written exactly).
nlohmann::json coco_results_json(const std::vector<CocoDetection>& detections);

// Whether a file holds JSON (COCO) rather than a MATLAB .mat (MPII): by its
// extension, .json or .mat, else by its first non-blank byte ('{' or '[').
bool is_json_file(const std::filesystem::path& path);

}  // namespace posenet::eval
