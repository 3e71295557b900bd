#include "train/dataset.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"
#include "core/json_entries.h"
#include "train/annotation_checks.h"
#include "eval/keypoint_set.h"
#include "eval/person_box.h"
#include "train/dataset_spec.h"
#include "train/image.h"

namespace posenet::train {

using nlohmann::json;

int flip_partner(int joint) { return eval::mpii_keypoint_set().flip_partner(joint); }

const char* joint_name(int joint) { return eval::mpii_keypoint_set().keypoint_name(joint); }

void Dataset::append(const Dataset& other) {
  eval::require_same_keypoint_set(*keypoints, *other.keypoints, "additional data");
  samples.insert(samples.end(), other.samples.begin(), other.samples.end());
  skipped.insert(skipped.end(), other.skipped.begin(), other.skipped.end());
}

namespace {

Point2 point(const json& v, const char* what) {
  if (!v.is_array() || v.size() != 2) bad_entry(what, " must be [x, y], got ", v.dump());
  return {json_number(v[0], what), json_number(v[1], what)};
}

EntrySkipping skipping(const LoadOptions& options, Dataset& out) {
  return {options.skip_bad, options.log_skipped, &out.skipped};
}

}  // namespace

void check_sample_images(Dataset& dataset, const LoadOptions& options) {
  std::vector<Sample> usable;
  usable.reserve(dataset.samples.size());
  for (Sample& sample : dataset.samples) {
    try {
      const ImageInfo info = read_image_header(sample.image);
      if (auto problem = person_box_problem(sample.center, sample.scale, info.width, info.height, sample.image.string()))
        throw InputError(*problem);
    } catch (const InputError& e) {
      std::string reason = detail::concat(sample.source, ": entry ", sample.source_index, ": ", e.what());
      if (!options.skip_bad) throw InputError(reason);
      if (options.log_skipped) std::cerr << "posenet: warning: skipping " << reason << "\n";
      dataset.skipped.push_back(std::move(reason));
      continue;
    }
    usable.push_back(std::move(sample));
  }
  dataset.samples = std::move(usable);
}

CropBox mpii_crop_box(Point2 center_one_based, double scale) {
  Point2 c = center_one_based;
  if (c.x != -1) {  // -1 marks a box without a person position: left as it is
    c.y += 15 * scale;
    scale *= 1.25;
  }
  return {{c.x - 1, c.y - 1}, scale};
}

Dataset load_mpii_json(const std::filesystem::path& path, const std::filesystem::path& image_dir,
                       const LoadOptions& options) {
  const json root = read_json_file(path, "annotation");
  if (!root.is_array())
    throw InputError(detail::concat(path.string(), ": expected a JSON list of person records, got ", root.type_name()));
  Dataset out;
  out.samples.reserve(root.size());
  for_each_entry(root, path, "entry", skipping(options, out), [&](const json& e, int64_t index) {
    if (!e.is_object()) bad_entry("expected an object, got ", e.type_name());
    const json& image = json_field(e, "image");
    if (!image.is_string() || image.get<std::string>().empty()) bad_entry("'image' must be a non-empty string");
    Sample s;
    s.image = image_dir / image.get<std::string>();
    s.source = path.string();
    s.source_index = index;
    Point2 c = point(json_field(e, "center"), "center");
    double scale = json_number(json_field(e, "scale"), "scale");
    if (!(scale > 0)) bad_entry("scale must be positive, got ", scale);
    const CropBox box = mpii_crop_box(c, scale);
    if (auto problem = person_box_problem(box.center, box.scale)) bad_entry(*problem);
    s.center = box.center;
    s.scale = box.scale;
    const bool has_joints = e.contains("joints") || e.contains("joints_vis");
    if (has_joints) {
      const json& joints = json_field(e, "joints");
      const json& vis = json_field(e, "joints_vis");
      if (!joints.is_array() || joints.size() != kNumJoints)
        bad_entry("'joints' must be a list of ", kNumJoints, " [x, y] pairs, got ",
            joints.is_array() ? std::to_string(joints.size()) + " entries" : std::string(joints.type_name()));
      if (!vis.is_array() || vis.size() != kNumJoints)
        bad_entry("'joints_vis' must be a list of ", kNumJoints, " numbers, got ",
            vis.is_array() ? std::to_string(vis.size()) + " entries" : std::string(vis.type_name()));
      for (int j = 0; j < kNumJoints; ++j) {
        const std::string what = detail::concat("joint ", j, " (", joint_name(j), ")");
        Point2 p = point(joints[size_t(j)], what.c_str());
        const double v = json_number(vis[size_t(j)], ("joints_vis of " + what).c_str());
        if (v != 0 && v != 1) bad_entry("joints_vis of ", what, " must be 0 or 1, got ", v);
        s.joints[size_t(j)] = {p.x - 1, p.y - 1};
        s.weight[size_t(j)] = float(v);
      }
    }
    if (auto hb = e.find("headbox"); hb != e.end()) {
      if (!hb->is_array() || hb->size() != 2) bad_entry("'headbox' must be [[x1, y1], [x2, y2]]");
      Point2 a = point((*hb)[0], "headbox corner"), b = point((*hb)[1], "headbox corner");
      s.headbox = HeadBox{a.x - 1, a.y - 1, b.x - 1, b.y - 1};
    }
    out.samples.push_back(std::move(s));
  });
  if (options.check_images) check_sample_images(out, options);
  return out;
}

namespace {

// A COCO-style keypoint file: annotations with keypoints [x, y, v] * K,
// mapped onto MPII joints by `map` (MPII joint -> source keypoint, or -1),
// plus midpoint joints built from two source keypoints (only when
// LoadOptions::synthesize_midpoints asks for them).
struct KeypointMapping {
  int num_keypoints;
  std::vector<int> direct;  // per target keypoint: the source keypoint, or -1
  std::vector<std::array<int, 3>> midpoints;                // {mpii joint, kp a, kp b}
};

Dataset load_coco_style(const std::filesystem::path& path, const std::filesystem::path& image_dir,
                        const LoadOptions& options, const KeypointMapping& mapping) {
  const json root = read_json_file(path, "annotation");
  if (!root.is_object())
    throw InputError(detail::concat(path.string(), ": expected a COCO-style JSON object, got ", root.type_name()));
  for (const char* key : {"images", "annotations"}) {
    if (!root.contains(key) || !root[key].is_array())
      throw InputError(detail::concat(path.string(), ": missing the '", key, "' list"));
  }
  Dataset out;
  std::map<int64_t, std::string> files;
  for_each_entry(root["images"], path, "image record", skipping(options, out), [&](const json& im, int64_t) {
    if (!im.is_object()) bad_entry("expected an object, got ", im.type_name());
    const json& id = json_field(im, "id");
    const json& name = json_field(im, "file_name");
    if (!id.is_number_integer()) bad_entry("'id' must be an integer");
    if (!name.is_string() || name.get<std::string>().empty()) bad_entry("'file_name' must be a non-empty string");
    files[id.get<int64_t>()] = name.get<std::string>();
  });
  for_each_entry(root["annotations"], path, "annotation", skipping(options, out), [&](const json& a, int64_t index) {
    if (!a.is_object()) bad_entry("expected an object, got ", a.type_name());
    if (auto crowd = a.find("iscrowd"); crowd != a.end() && crowd->is_number() && crowd->get<double>() != 0) return;
    if (auto cat = a.find("category_id"); cat != a.end() && cat->is_number() && cat->get<double>() != 1) return;
    const json& kps = json_field(a, "keypoints");
    if (!kps.is_array() || kps.size() != size_t(3 * mapping.num_keypoints))
      bad_entry("'keypoints' must hold ", mapping.num_keypoints, " x [x, y, v] = ", 3 * mapping.num_keypoints,
          " numbers, got ", kps.is_array() ? std::to_string(kps.size()) : std::string(kps.type_name()));
    std::vector<Point2> p(size_t(mapping.num_keypoints));
    std::vector<bool> labelled(size_t(mapping.num_keypoints));
    int count = 0;
    for (int k = 0; k < mapping.num_keypoints; ++k) {
      const std::string what = detail::concat("keypoint ", k);
      p[size_t(k)] = {json_number(kps[size_t(3 * k)], what.c_str()), json_number(kps[size_t(3 * k + 1)], what.c_str())};
      const double v = json_number(kps[size_t(3 * k + 2)], (what + " visibility").c_str());
      if (v != 0 && v != 1 && v != 2) bad_entry(what, " visibility must be 0, 1 or 2, got ", v);
      labelled[size_t(k)] = v > 0;
      count += v > 0;
    }
    if (count == 0) return;  // no keypoints: not a training sample
    const json& image_id = json_field(a, "image_id");
    if (!image_id.is_number_integer()) bad_entry("'image_id' must be an integer");
    auto file = files.find(image_id.get<int64_t>());
    if (file == files.end()) bad_entry("image_id ", image_id.get<int64_t>(), " has no entry in 'images'");
    const json& bbox = json_field(a, "bbox");
    if (!bbox.is_array() || bbox.size() != 4) bad_entry("'bbox' must be [x, y, w, h]");
    const double x = json_number(bbox[0], "bbox"), y = json_number(bbox[1], "bbox");
    const double w = json_number(bbox[2], "bbox"), h = json_number(bbox[3], "bbox");
    if (!(w > 0 && h > 0)) bad_entry("bbox has no area (", w, " x ", h, ")");
    Sample s;
    s.image = image_dir / file->second;
    s.source = path.string();
    s.source_index = index;
    const eval::PersonCrop crop = eval::crop_of_person_box(x, y, w, h, options.input_aspect_ratio);
    s.center = crop.center;
    s.scale = crop.scale;
    s.image_id = image_id.get<int64_t>();
    if (auto problem = person_box_problem(s.center, s.scale)) bad_entry("bbox: ", *problem);
    for (size_t j = 0; j < mapping.direct.size(); ++j) {
      const int k = mapping.direct[j];
      if (k >= 0 && labelled[size_t(k)]) {
        s.joints[size_t(j)] = p[size_t(k)];
        s.weight[size_t(j)] = 1.0f;
      }
    }
    for (const auto& [j, ka, kb] : mapping.midpoints) {
      if (options.synthesize_midpoints && labelled[size_t(ka)] && labelled[size_t(kb)]) {
        s.joints[size_t(j)] = {(p[size_t(ka)].x + p[size_t(kb)].x) * 0.5, (p[size_t(ka)].y + p[size_t(kb)].y) * 0.5};
        s.weight[size_t(j)] = 1.0f;
      }
    }
    out.samples.push_back(std::move(s));
  });
  if (options.check_images) check_sample_images(out, options);
  return out;
}

}  // namespace

Dataset load_coco_keypoints(const std::filesystem::path& json_path, const std::filesystem::path& image_dir,
                            const LoadOptions& options) {
  // COCO: 0 nose, 1 l_eye, 2 r_eye, 3 l_ear, 4 r_ear, 5 l_shoulder, 6 r_shoulder, 7 l_elbow, 8 r_elbow,
  // 9 l_wrist, 10 r_wrist, 11 l_hip, 12 r_hip, 13 l_knee, 14 r_knee, 15 l_ankle, 16 r_ankle.
  KeypointMapping m{17, {16, 14, 12, 11, 13, 15, -1, -1, -1, -1, 10, 8, 6, 5, 7, 9}, {{kPelvis, 11, 12}, {kThorax, 5, 6}}};
  return load_coco_style(json_path, image_dir, options, m);
}

Dataset load_coco_native(const std::filesystem::path& json_path, const std::filesystem::path& image_dir,
                         const LoadOptions& options) {
  const eval::KeypointSet& coco = eval::coco_keypoint_set();
  KeypointMapping m{coco.count(), {}, {}};
  for (int k = 0; k < coco.count(); ++k) m.direct.push_back(k);
  Dataset out = load_coco_style(json_path, image_dir, options, m);
  out.keypoints = &coco;
  return out;
}

const eval::KeypointSet& keypoint_set_of_specs(const std::string& specs) {
  if (specs == "synthetic") return eval::mpii_keypoint_set();
  const std::vector<DatasetSpec> all = parse_dataset_specs(specs, kTrainSplit);
  return !all.empty() && all.front().kind == "coco" ? eval::coco_keypoint_set() : eval::mpii_keypoint_set();
}

Dataset load_aic_keypoints(const std::filesystem::path& json_path, const std::filesystem::path& image_dir,
                           const LoadOptions& options) {
  // AIC: 0 r_shoulder, 1 r_elbow, 2 r_wrist, 3 l_shoulder, 4 l_elbow, 5 l_wrist, 6 r_hip, 7 r_knee,
  // 8 r_ankle, 9 l_hip, 10 l_knee, 11 l_ankle, 12 head_top, 13 neck.
  KeypointMapping m{14, {8, 7, 6, 9, 10, 11, -1, -1, 13, 12, 2, 1, 0, 3, 4, 5}, {{kPelvis, 6, 9}, {kThorax, 0, 3}}};
  return load_coco_style(json_path, image_dir, options, m);
}

Dataset load_dataset_spec(const std::string& spec, const LoadOptions& options) {
  Dataset all;
  all.keypoints = &keypoint_set_of_specs(spec);
  for (const DatasetSpec& one : parse_dataset_specs(spec, kTrainSplit)) {
    if (all.keypoints == &eval::coco_keypoint_set()) {
      if (one.kind != "coco")
        throw InputError(detail::concat(one.text, ": cannot be added to COCO keypoint data (", spec,
                                        "): only MPII's joints take other data sets; put the MPII data first"));
      all.append(load_coco_native(one.path, one.images, options));
    } else if (one.is_mpii())
      all.append(load_mpii_json(one.mpii_annotations(), one.path / "images", options));
    else
      all.append(one.kind == "coco" ? load_coco_keypoints(one.path, one.images, options)
                                    : load_aic_keypoints(one.path, one.images, options));
  }
  return all;
}

}  // namespace posenet::train
