// The "kind:path" dataset specs of the command line, parsed in one place:
// mpii:DIR[:split] (DIR has annot/<split>.json and images/), coco:JSON:IMAGES,
// aic:JSON:IMAGES; several joined with ','.
//
// An mpii spec without a split takes the split of its role: training data
// defaults to "train", evaluation and validation data to "valid" (the split
// that has the PCKh ground truth, annot/gt_valid.mat).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace posenet::train {

inline constexpr const char* kTrainSplit = "train";
inline constexpr const char* kValidSplit = "valid";

struct DatasetSpec {
  std::string kind;             // mpii, coco or aic
  std::filesystem::path path;   // mpii: the dataset folder; coco/aic: the JSON file
  std::string split;            // mpii only
  std::filesystem::path images; // coco/aic only
  std::string text;             // the spec as given, for messages

  bool is_mpii() const { return kind == "mpii"; }
  std::filesystem::path mpii_annotations() const { return path / "annot" / (split + ".json"); }
  std::filesystem::path mpii_ground_truth() const { return path / "annot" / "gt_valid.mat"; }
};

// Parses specs joined with ','; an mpii spec without a split gets
// default_split. Throws posenet::Error naming the spec on a malformed one or
// an unknown kind.
std::vector<DatasetSpec> parse_dataset_specs(const std::string& specs, const std::string& default_split);

// The first spec of the list when it is an mpii one (the dataset whose
// valid split and ground truth serve as defaults), else nothing.
std::optional<DatasetSpec> first_mpii_spec(const std::string& specs, const std::string& default_split);

// "mpii:DIR:split"
std::string mpii_spec(const std::filesystem::path& dir, const std::string& split);

}  // namespace posenet::train
