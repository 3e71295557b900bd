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
#include "core/json_non_finite.h"

namespace posenet::eval {

using nlohmann::json;

namespace {

// A problem with one entry; the loop adds the file and the entry's name.
struct EntryError {
  std::string what;
};

template <typename... Args>
[[noreturn]] void bad(Args&&... args) {
  throw EntryError{detail::concat(std::forward<Args>(args)...)};
}

json read_json(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(detail::concat(path.string(), ": ", what, " not found"));
  // A FIFO would block, a device never end: refused before it is opened.
  check_input_file(path, "JSON", kMaxAnnotationFileBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(detail::concat(path.string(), ": cannot open ", what));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(detail::concat(path.string(), ": read error"));
  try {
    return json::parse(quote_non_finite_literals(text));
  } catch (const json::exception& e) {
    throw InputError(detail::concat(path.string(), ": not valid JSON: ", e.what()));
  }
}

double number(const json& v, std::string_view what) {
  if (v.is_string())
    if (const auto literal = non_finite_literal(v.get<std::string>())) bad(what, " is not finite (", *literal, ")");
  if (!v.is_number()) bad(what, " must be a number, got ", v.type_name());
  const double x = v.get<double>();
  if (!std::isfinite(x)) bad(what, " is not finite (", v.dump(), ")");
  return x;
}

int64_t integer(const json& v, std::string_view what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  const double x = number(v, what);
  if (x != std::floor(x) || std::abs(x) > 9e15) bad(what, " must be an integer, got ", v.dump());
  return int64_t(x);
}

const json& field(const json& obj, const char* key) {
  if (!obj.is_object()) bad("must be an object, got ", obj.type_name());
  auto it = obj.find(key);
  if (it == obj.end()) bad("missing field '", key, "'");
  return *it;
}

const json& array_field(const json& obj, const char* key) {
  const json& v = field(obj, key);
  if (!v.is_array()) bad("'", key, "' must be a list, got ", v.type_name());
  return v;
}

std::vector<double> numbers(const json& v, const char* key) {
  std::vector<double> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(number(v[i], detail::concat(key, "[", i, "]")));
  return out;
}

// Runs parse(entry, i) over a list, turning EntryErrors into InputErrors that
// name file and entry, or, with skip_bad, into skip reasons.
template <typename Parse>
void for_each_entry(const json& list, const std::filesystem::path& path, const char* entry_word, bool skip_bad,
                    std::vector<std::string>& skipped, Parse parse) {
  for (size_t i = 0; i < list.size(); ++i) {
    try {
      parse(list[i], i);
    } catch (const EntryError& e) {
      std::string reason = detail::concat(path.string(), ": ", entry_word, " ", i, ": ", e.what);
      if (!skip_bad) throw InputError(reason + " (--skip-bad drops such entries)");
      skipped.push_back(std::move(reason));
    }
  }
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
  const json root = read_json(path, "annotation file");
  if (!root.is_object())
    throw InputError(detail::concat(path.string(), ": COCO annotations must be an object with 'images', 'annotations' "
                                                   "and 'categories', got ", root.type_name()));
  CocoGroundTruth gt;
  gt.path = path.string();

  std::set<int64_t> images;
  for_each_entry(top_list(root, path, "images"), path, "image", options.skip_bad, gt.skipped,
                 [&](const json& e, size_t) {
                   const int64_t id = integer(field(e, "id"), "id");
                   if (!images.insert(id).second) bad("duplicate image id ", id);
                   if (e.contains("file_name") && e["file_name"].is_string())
                     gt.image_files[id] = e["file_name"].get<std::string>();
                 });
  gt.image_ids.assign(images.begin(), images.end());

  std::set<int64_t> categories;
  for_each_entry(top_list(root, path, "categories"), path, "category", options.skip_bad, gt.skipped,
                 [&](const json& e, size_t) {
                   const int64_t id = integer(field(e, "id"), "id");
                   if (!categories.insert(id).second) bad("duplicate category id ", id);
                   if (e.contains("keypoints")) {
                     const int k = int(array_field(e, "keypoints").size());
                     if (gt.keypoint_count != 0 && gt.keypoint_count != k)
                       bad("has ", k, " keypoints but an earlier category has ", gt.keypoint_count);
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
  for_each_entry(annotations, path, "annotation", options.skip_bad, gt.skipped, [&](const json& e, size_t) {
    CocoGtPerson p;
    p.id = integer(field(e, "id"), "id");
    p.image_id = integer(field(e, "image_id"), "image_id");
    if (!images.count(p.image_id)) bad("image_id ", p.image_id, " is not in 'images'");
    p.category_id = integer(field(e, "category_id"), "category_id");
    p.keypoints = numbers(array_field(e, "keypoints"), "keypoints");
    if (p.keypoints.size() != size_t(3 * gt.keypoint_count))
      bad("'keypoints' holds ", p.keypoints.size(), " numbers, expected 3 x ", gt.keypoint_count, " (x, y, v)");
    p.num_keypoints = integer(field(e, "num_keypoints"), "num_keypoints");
    p.area = number(field(e, "area"), "area");
    if (p.area < 0) bad("area ", p.area, " is negative");
    const json& crowd = field(e, "iscrowd");
    p.iscrowd = crowd.is_boolean() ? crowd.get<bool>() : integer(crowd, "iscrowd") != 0;
    const std::vector<double> box = numbers(array_field(e, "bbox"), "bbox");
    if (box.size() != 4) bad("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
    std::copy(box.begin(), box.end(), p.bbox.begin());
    if (!ids.insert(p.id).second) bad("duplicate annotation id ", p.id);
    gt.persons.push_back(std::move(p));
  });
  return gt;
}

CocoPersonBoxes read_coco_person_boxes(const std::filesystem::path& path, const CocoGroundTruth& gt,
                                       double score_threshold, const CocoLoadOptions& options) {
  const json root = read_json(path, "person detection file");
  if (!root.is_array())
    throw InputError(detail::concat(path.string(), ": a COCO detection results file must be a list of {image_id, "
                                                   "category_id, bbox, score}, got ", root.type_name()));
  CocoPersonBoxes out;
  out.path = path.string();
  const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
  for_each_entry(root, path, "entry", options.skip_bad, out.skipped, [&](const json& e, size_t) {
    CocoPersonBox b;
    b.image_id = integer(field(e, "image_id"), "image_id");
    if (!images.count(b.image_id)) bad("image_id ", b.image_id, " is not an image of ", gt.path);
    const int64_t category = integer(field(e, "category_id"), "category_id");
    const std::vector<double> box = numbers(array_field(e, "bbox"), "bbox");
    if (box.size() != 4) bad("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
    if (!(box[2] > 0 && box[3] > 0)) bad("'bbox' has no area (", box[2], " x ", box[3], ")");
    b.bbox = {box[0], box[1], box[2], box[3]};
    b.score = number(field(e, "score"), "score");
    if (category == 1 && b.score >= score_threshold) out.boxes.push_back(b);
  });
  return out;
}

CocoResults read_coco_results(const std::filesystem::path& path, const CocoGroundTruth& gt,
                              const CocoLoadOptions& options) {
  const json root = read_json(path, "results file");
  if (!root.is_array())
    throw InputError(detail::concat(path.string(), ": a COCO keypoint results file must be a list of {image_id, "
                                                   "category_id, keypoints, score}, got ", root.type_name()));
  CocoResults res;
  res.path = path.string();
  // As the official loader: the first entry decides how areas are taken.
  const bool area_from_box = !root.empty() && root[0].is_object() && root[0].contains("bbox") &&
                             !(root[0]["bbox"].is_array() && root[0]["bbox"].empty());
  if (!area_from_box && !root.empty() && root[0].is_object() && root[0].contains("segmentation"))
    throw InputError(detail::concat(path.string(), ": holds segmentation results, not keypoint results"));
  const size_t k = size_t(gt.keypoint_count);
  const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
  for_each_entry(root, path, "entry", options.skip_bad, res.skipped, [&](const json& e, size_t) {
    CocoDetection d;
    d.image_id = integer(field(e, "image_id"), "image_id");
    if (!images.count(d.image_id)) bad("image_id ", d.image_id, " is not an image of ", gt.path);
    d.category_id = integer(field(e, "category_id"), "category_id");
    d.keypoints = numbers(array_field(e, "keypoints"), "keypoints");
    if (d.keypoints.size() != 3 * k) {
      if (d.keypoints.size() % 3 == 0)
        bad("'keypoints' holds ", d.keypoints.size() / 3, " keypoints (", d.keypoints.size(),
            " numbers) but the ground truth's keypoint set has ", k, " (", 3 * k,
            " numbers): results for another keypoint set?");
      bad("'keypoints' holds ", d.keypoints.size(), " numbers, expected 3 x ", k, " (x, y, score)");
    }
    d.score = number(field(e, "score"), "score");
    if (area_from_box) {
      const std::vector<double> box = numbers(array_field(e, "bbox"), "bbox");
      if (box.size() != 4) bad("'bbox' must be [x, y, width, height], got ", box.size(), " numbers");
      d.area = box[2] * box[3];
    } else {
      d.area = keypoint_box_area(d.keypoints);
    }
    res.detections.push_back(std::move(d));
  });
  return res;
}

}  // namespace posenet::eval
