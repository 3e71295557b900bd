#include "eval/coco_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"
#include "core/json_entries.h"

namespace posenet::eval {

using nlohmann::json;

namespace {

std::vector<double> numbers(const json& v, const char* key) {
  std::vector<double> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(json_number(v[i], detail::concat(key, "[", i, "]")));
  return out;
}

// The top-level list `key` of the annotations file.
const json& top_list(const json& root, const std::filesystem::path& path, const char* key) {
  auto it = root.find(key);
  if (it == root.end()) throw InputError(detail::concat(path.string(), ": no '", key, "' list (not COCO annotations?)"));
  if (!it->is_array()) throw InputError(detail::concat(path.string(), ": '", key, "' must be a list"));
  return *it;
}

}  // namespace

double keypoint_box_area(const std::vector<double>& keypoints) {
  if (keypoints.size() < 3) return 0;
  double x0 = keypoints[0], x1 = x0, y0 = keypoints[1], y1 = y0;
  for (size_t i = 3; i + 1 < keypoints.size(); i += 3) {
    x0 = std::min(x0, keypoints[i]);
    x1 = std::max(x1, keypoints[i]);
    y0 = std::min(y0, keypoints[i + 1]);
    y1 = std::max(y1, keypoints[i + 1]);
  }
  return (x1 - x0) * (y1 - y0);
}

json coco_results_json(const std::vector<CocoDetection>& detections) {
  json all = json::array();
  for (const CocoDetection& d : detections)
    all.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"keypoints", d.keypoints},
                   {"score", d.score}});
  return all;
}

bool is_json_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".json") return true;
  if (ext == ".mat") return false;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;  // the .mat reader names the problem
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  return in && (c == '{' || c == '[');
}

CocoGroundTruth read_coco_ground_truth(const std::filesystem::path& path, const CocoLoadOptions& options) {
  const json root = read_json_file(path, "annotation");
  if (!root.is_object())
    throw InputError(detail::concat(path.string(), ": COCO annotations must be an object with 'images', 'annotations' "
                                                   "and 'categories', got ", root.type_name()));
  CocoGroundTruth gt;
  gt.path = path.string();
  const EntrySkipping skipping{options.skip_bad, false, &gt.skipped};

  std::set<int64_t> images;
  for_each_entry(top_list(root, path, "images"), path, "image", skipping,
                 [&](const json& e, size_t) {
                   const int64_t id = json_integer(json_field(e, "id"), "id");
                   if (!images.insert(id).second) bad_entry("duplicate image id ", id);
                   if (e.contains("file_name") && e["file_name"].is_string())
                     gt.image_files[id] = e["file_name"].get<std::string>();
                 });
  gt.image_ids.assign(images.begin(), images.end());

  std::set<int64_t> categories;
  for_each_entry(top_list(root, path, "categories"), path, "category", skipping,
                 [&](const json& e, size_t) {
                   const int64_t id = json_integer(json_field(e, "id"), "id");
                   if (!categories.insert(id).second) bad_entry("duplicate category id ", id);
                   if (e.contains("keypoints")) {
                     const int k = int(json_list_field(e, "keypoints").size());
                     if (gt.keypoint_count != 0 && gt.keypoint_count != k)
                       bad_entry("has ", k, " keypoints but an earlier category has ", gt.keypoint_count);
                     gt.keypoint_count = k;
                   }
                 });
  gt.category_ids.assign(categories.begin(), categories.end());
  const json& annotations = top_list(root, path, "annotations");
  if (gt.keypoint_count == 0 && !annotations.empty() && annotations[0].is_object() &&
      annotations[0].contains("keypoints") && annotations[0]["keypoints"].is_array())
    gt.keypoint_count = int(annotations[0]["keypoints"].size() / 3);
  if (gt.keypoint_count != kCocoKeypointCount)
    throw InputError(detail::concat(path.string(), ": the keypoint set has ", gt.keypoint_count,
                                    " keypoints; COCO keypoint evaluation needs COCO's ", kCocoKeypointCount,
                                    " person keypoints (its OKS sigmas are defined for those only)"));

  std::set<int64_t> ids;
  for_each_entry(annotations, path, "annotation", skipping, [&](const json& e, size_t) {
    CocoGtPerson p;
    p.id = json_integer(json_field(e, "id"), "id");
    p.image_id = json_integer(json_field(e, "image_id"), "image_id");
    if (!images.count(p.image_id)) bad_entry("image_id ", p.image_id, " is not in 'images'");
    p.category_id = json_integer(json_field(e, "category_id"), "category_id");
    p.keypoints = numbers(json_list_field(e, "keypoints"), "keypoints");
    if (p.keypoints.size() != size_t(3 * gt.keypoint_count))
      bad_entry("'keypoints' holds ", p.keypoints.size(), " numbers, expected 3 x ", gt.keypoint_count, " (x, y, v)");
    p.num_keypoints = json_integer(json_field(e, "num_keypoints"), "num_keypoints");
    p.area = json_number(json_field(e, "area"), "area");
    if (p.area < 0) bad_entry("area ", p.area, " is negative");
    const json& crowd = json_field(e, "iscrowd");
    p.iscrowd = crowd.is_boolean() ? crowd.get<bool>() : json_integer(crowd, "iscrowd") != 0;
    const std::vector<double> box = numbers(json_list_field(e, "bbox"), "bbox");
    if (box.size() != 4) bad_entry("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
    std::copy(box.begin(), box.end(), p.bbox.begin());
    if (!ids.insert(p.id).second) bad_entry("duplicate annotation id ", p.id);
    gt.persons.push_back(std::move(p));
  });
  return gt;
}

CocoPersonBoxes read_coco_person_boxes(const std::filesystem::path& path, const CocoGroundTruth& gt,
                                       double score_threshold, const CocoLoadOptions& options) {
  const json root = read_json_file(path, "person detection");
  if (!root.is_array())
    throw InputError(detail::concat(path.string(), ": a COCO detection results file must be a list of {image_id, "
                                                   "category_id, bbox, score}, got ", root.type_name()));
  CocoPersonBoxes out;
  out.path = path.string();
  const EntrySkipping skipping{options.skip_bad, false, &out.skipped};
  const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
  for_each_entry(root, path, "entry", skipping, [&](const json& e, size_t) {
    CocoPersonBox b;
    b.image_id = json_integer(json_field(e, "image_id"), "image_id");
    if (!images.count(b.image_id)) bad_entry("image_id ", b.image_id, " is not an image of ", gt.path);
    const int64_t category = json_integer(json_field(e, "category_id"), "category_id");
    const std::vector<double> box = numbers(json_list_field(e, "bbox"), "bbox");
    if (box.size() != 4) bad_entry("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
    if (!(box[2] > 0 && box[3] > 0)) bad_entry("'bbox' has no area (", box[2], " x ", box[3], ")");
    b.bbox = {box[0], box[1], box[2], box[3]};
    b.score = json_number(json_field(e, "score"), "score");
    if (category == 1 && b.score >= score_threshold) out.boxes.push_back(b);
  });
  return out;
}

CocoResults read_coco_results(const std::filesystem::path& path, const CocoGroundTruth& gt,
                              const CocoLoadOptions& options) {
  const json root = read_json_file(path, "results");
  if (!root.is_array())
    throw InputError(detail::concat(path.string(), ": a COCO keypoint results file must be a list of {image_id, "
                                                   "category_id, keypoints, score}, got ", root.type_name()));
  CocoResults res;
  res.path = path.string();
  const EntrySkipping skipping{options.skip_bad, false, &res.skipped};
  // As the official loader: the first entry decides how areas are taken.
  const bool area_from_box = !root.empty() && root[0].is_object() && root[0].contains("bbox") &&
                             !(root[0]["bbox"].is_array() && root[0]["bbox"].empty());
  if (!area_from_box && !root.empty() && root[0].is_object() && root[0].contains("segmentation"))
    throw InputError(detail::concat(path.string(), ": holds segmentation results, not keypoint results"));
  const size_t k = size_t(gt.keypoint_count);
  const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
  for_each_entry(root, path, "entry", skipping, [&](const json& e, size_t) {
    CocoDetection d;
    d.image_id = json_integer(json_field(e, "image_id"), "image_id");
    if (!images.count(d.image_id)) bad_entry("image_id ", d.image_id, " is not an image of ", gt.path);
    d.category_id = json_integer(json_field(e, "category_id"), "category_id");
    d.keypoints = numbers(json_list_field(e, "keypoints"), "keypoints");
    if (d.keypoints.size() != 3 * k) {
      if (d.keypoints.size() % 3 == 0)
        bad_entry("'keypoints' holds ", d.keypoints.size() / 3, " keypoints (", d.keypoints.size(),
            " numbers) but the ground truth's keypoint set has ", k, " (", 3 * k,
            " numbers): results for another keypoint set?");
      bad_entry("'keypoints' holds ", d.keypoints.size(), " numbers, expected 3 x ", k, " (x, y, score)");
    }
    d.score = json_number(json_field(e, "score"), "score");
    if (area_from_box) {
      const std::vector<double> box = numbers(json_list_field(e, "bbox"), "bbox");
      if (box.size() != 4) bad_entry("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
      d.area = box[2] * box[3];
    } else {
      d.area = keypoint_box_area(d.keypoints);
    }
    res.detections.push_back(std::move(d));
  });
  return res;
}

}  // namespace posenet::eval
