#include "train/person_boxes.h"

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/person_box.h"

namespace posenet::train {

namespace {
// image id -> file name, from the annotations' "images" list (the rest of
// the file has been checked by eval::read_coco_ground_truth).
std::map<int64_t, std::string> image_files(const std::filesystem::path& annotations) {
  std::ifstream in(annotations, std::ios::binary);
  if (!in) throw InputError(annotations.string() + ": cannot open the annotations");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(detail::concat(annotations.string(), ": not valid JSON: ", e.what()));
  }
  std::map<int64_t, std::string> files;
  const auto images = root.find("images");
  if (images == root.end() || !images->is_array()) throw InputError(annotations.string() + ": no 'images' list");
  for (size_t i = 0; i < images->size(); ++i) {
    const nlohmann::json& im = (*images)[i];
    if (!im.is_object() || !im.contains("id") || !im["id"].is_number_integer() || !im.contains("file_name") ||
        !im["file_name"].is_string())
      throw InputError(detail::concat(annotations.string(), ": image record ", i, ": needs an integer 'id' and a 'file_name'"));
    files[im["id"].get<int64_t>()] = im["file_name"].get<std::string>();
  }
  return files;
}
}  // namespace

Dataset load_person_box_samples(const eval::CocoPersonBoxes& boxes, const std::filesystem::path& annotations,
                                const std::filesystem::path& image_dir, const LoadOptions& options) {
  const std::map<int64_t, std::string> files = image_files(annotations);
  Dataset out;
  out.keypoints = &eval::coco_keypoint_set();
  for (size_t i = 0; i < boxes.boxes.size(); ++i) {
    const eval::CocoPersonBox& b = boxes.boxes[i];
    const auto file = files.find(b.image_id);
    if (file == files.end())
      throw InputError(detail::concat(boxes.path, ": box ", i, ": image_id ", b.image_id, " has no file in ",
                                      annotations.string()));
    Sample s;
    s.image = image_dir / file->second;
    s.source = boxes.path;
    s.source_index = int64_t(i);
    s.image_id = b.image_id;
    const eval::PersonCrop crop =
        eval::crop_of_person_box(b.bbox[0], b.bbox[1], b.bbox[2], b.bbox[3], options.input_aspect_ratio);
    s.center = crop.center;
    s.scale = crop.scale;
    s.box_area = b.bbox[2] * b.bbox[3];
    s.box_score = b.score;
    out.samples.push_back(std::move(s));
  }
  if (options.check_images) check_sample_images(out, options);
  return out;
}

}  // namespace posenet::train
