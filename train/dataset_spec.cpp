#include "train/dataset_spec.h"

#include <sstream>

#include "core/error.h"

namespace posenet::train {

namespace {
std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) parts.push_back(item);
  return parts;
}
}  // namespace

std::vector<DatasetSpec> parse_dataset_specs(const std::string& specs, const std::string& default_split) {
  std::vector<DatasetSpec> out;
  for (const std::string& one : split_on(specs, ',')) {
    const std::vector<std::string> parts = split_on(one, ':');
    PN_CHECK(parts.size() >= 2, "dataset spec '", one,
             "': expected kind:path (mpii:DIR[:split], coco:JSON:IMAGES, aic:JSON:IMAGES)");
    DatasetSpec spec;
    spec.kind = parts[0];
    spec.text = one;
    if (spec.kind == "mpii") {
      PN_CHECK(parts.size() <= 3, "dataset spec '", one, "': expected mpii:DIR[:split]");
      spec.path = parts[1];
      spec.split = parts.size() == 3 ? parts[2] : default_split;
    } else if (spec.kind == "coco" || spec.kind == "aic") {
      PN_CHECK(parts.size() == 3, "dataset spec '", one, "': expected ", spec.kind, ":JSON:IMAGES");
      spec.path = parts[1];
      spec.images = parts[2];
    } else {
      PN_FAIL("dataset spec '", one, "': unknown kind '", spec.kind, "' (mpii, coco or aic)");
    }
    out.push_back(std::move(spec));
  }
  return out;
}

std::optional<DatasetSpec> first_mpii_spec(const std::string& specs, const std::string& default_split) {
  const std::string first = specs.substr(0, specs.find(','));
  if (first.rfind("mpii:", 0) != 0) return std::nullopt;
  return parse_dataset_specs(first, default_split).front();
}

std::string mpii_spec(const std::filesystem::path& dir, const std::string& split) {
  return "mpii:" + dir.string() + ":" + split;
}

}  // namespace posenet::train
