#include "train/synthetic_cache.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "train/synthetic.h"

namespace posenet::train {

namespace fs = std::filesystem;

namespace {

// The record of the data in dir, or null when there is none (never
// completed, or written by a version that kept a text line there).
nlohmann::json read_record(const fs::path& complete) {
  std::ifstream f(complete);
  if (!f) return nullptr;
  std::stringstream text;
  text << f.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace

nlohmann::json synthetic_record(const TrainConfig& config) {
  return {{"count", config.synthetic_count},
          {"seed", config.seed},
          {"size", config.synthetic_size},
          {"renderer", kSyntheticRendererVersion}};
}

void ensure_synthetic_data(const fs::path& dir, const TrainConfig& config) {
  // The record is written last: a run killed while rendering renders again.
  const fs::path complete = dir / ".complete";
  const nlohmann::json wanted = synthetic_record(config);
  if (fs::exists(complete)) {
    const nlohmann::json found = read_record(complete);
    if (found == wanted) return;
    std::cerr << "posenet: " << dir.string() << " was rendered with "
              << (found.is_object() ? found.dump() : std::string("unknown settings")) << ", this run needs "
              << wanted.dump() << ": rendering it again\n";
  }
  std::error_code ec;
  fs::remove(complete, ec);
  for (const char* sub : {"images", "annot"}) fs::remove_all(dir / sub, ec);
  SyntheticConfig sc;
  sc.count = config.synthetic_count;
  sc.seed = config.seed;
  sc.size = config.synthetic_size;
  std::cerr << "posenet: rendering " << sc.count << " synthetic images into " << dir.string() << "\n";
  write_synthetic_dataset(dir, sc);
  write_text_file_atomically(complete, wanted.dump() + "\n");
}

}  // namespace posenet::train
