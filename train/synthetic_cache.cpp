#include "train/synthetic_cache.h"

#include <fstream>
#include <iostream>

#include "core/error.h"
#include "train/synthetic.h"

namespace posenet::train {

namespace fs = std::filesystem;

void ensure_synthetic_data(const fs::path& dir, const TrainConfig& config) {
  // The marker is written last: a run killed while rendering renders again.
  const fs::path complete = dir / ".complete";
  if (fs::exists(complete)) return;
  SyntheticConfig sc;
  sc.count = config.synthetic_count;
  sc.seed = config.seed;
  sc.size = config.synthetic_size;
  std::cerr << "posenet: rendering " << sc.count << " synthetic images into " << dir.string() << "\n";
  write_synthetic_dataset(dir, sc);
  std::ofstream marker(complete);
  marker << "rendered " << sc.count << " images, seed " << sc.seed << ", size " << sc.size << "\n";
  if (!marker.good()) throw InputError(complete.string() + ": cannot write (disk full?)");
}

}  // namespace posenet::train
