#include "train/output_dir.h"

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace posenet::train {

namespace fs = std::filesystem;

void check_writable_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create the output directory: " + ec.message());
  const fs::path probe = dir / ".posenet-write-test";
  {
    std::ofstream f(probe);
    f << "ok";
    f.flush();
    if (!f.good()) {
      fs::remove(probe, ec);
      throw InputError(dir.string() + ": the output directory is not writable");
    }
  }
  fs::remove(probe, ec);
}

void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    bool stale = name.rfind("pred_valid.mat.tmp", 0) == 0;  // the naming of older versions
    for (const char* target : {"last.safetensors", "best.safetensors", "pred_valid.mat", "config.json"})
      stale = stale || is_atomic_write_temporary(name, target);
    if (stale) fs::remove(entry.path(), ec);
  }
}

}  // namespace posenet::train
