#include "train/person_boxes.h"

#include <map>

#include "core/error.h"
#include "eval/person_box.h"

namespace posenet::train {

Dataset load_person_box_samples(const eval::CocoPersonBoxes& boxes, const eval::CocoGroundTruth& annotations,
                                const std::filesystem::path& image_dir, const LoadOptions& options) {
  const std::map<int64_t, std::string>& files = annotations.image_files;
  Dataset out;
  out.keypoints = &eval::coco_keypoint_set();
  for (size_t i = 0; i < boxes.boxes.size(); ++i) {
    const eval::CocoPersonBox& b = boxes.boxes[i];
    const auto file = files.find(b.image_id);
    if (file == files.end())
      throw InputError(detail::concat(boxes.path, ": box ", i, ": image_id ", b.image_id, " has no file_name in ",
                                      annotations.path));
    Sample s;
    s.image = image_dir / file->second;
    s.source = boxes.path;
    s.source_index = int64_t(i);
    s.image_id = b.image_id;
    const eval::PersonCrop crop =
        eval::crop_of_person_box(b.bbox[0], b.bbox[1], b.bbox[2], b.bbox[3], options.input_aspect_ratio);
    s.center = crop.center;
    s.scale = crop.scale;
    s.box_score = b.score;
    out.samples.push_back(std::move(s));
  }
  if (options.check_images) check_sample_images(out, options);
  return out;
}

}  // namespace posenet::train
