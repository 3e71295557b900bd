// posenet synth: writes the built-in synthetic pose dataset (MPII layout).
#include <chrono>
#include <filesystem>
#include <vector>
#include <iostream>

#include "cli/command.h"
#include "core/error.h"
#include "core/folder_lock.h"
#include "train/synthetic.h"

namespace posenet::cli {
namespace {

namespace fs = std::filesystem;

struct SynthOptions {
  std::string out;
  bool force = false;
  train::SyntheticConfig config;
};

// A data set is written over only when asked: a non-empty folder (other than
// its lock file) is refused unless --force, which replaces images/ and annot/.
void prepare_output_folder(const fs::path& out, bool force) {
  std::error_code ec;
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(out, ec))
    if (e.path().filename() != FolderLock::kFileName) entries.push_back(e.path().filename().string());
  if (entries.empty()) return;
  if (!force)
    throw InputError(detail::concat(out.string(), ": the folder is not empty (it holds '", entries.front(), "'",
                                    entries.size() > 1 ? detail::concat(" and ", entries.size() - 1, " more") : "",
                                    "): pass --force to write the data set over it, or choose another --out"));
  for (const char* sub : {"images", "annot"}) fs::remove_all(out / sub, ec);
}

void setup(CLI::App& app) {
  auto opts = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write synthetic articulated figures as an MPII-layout dataset (images/, annot/{train,valid}.json, "
               "annot/gt_valid.mat)");
  cmd->add_option("--out", opts->out, "output directory")->required();
  cmd->add_option("--count", opts->config.count, "number of images in total")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->config.seed, "random seed (same seed, same dataset)")->capture_default_str();
  cmd->add_option("--size", opts->config.size, "image side in pixels")->capture_default_str()->check(CLI::Range(32, 4096));
  cmd->add_option("--split-val", opts->config.val_count,
                  "how many of the images go to the validation split (default: 10%)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--quality", opts->config.jpeg_quality, "JPEG quality")->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_flag("--force", opts->force, "write into a non-empty --out (replacing its images/ and annot/)");
  cmd->callback([opts] {
    const FolderLock lock = FolderLock::acquire(opts->out, "--out");
    prepare_output_folder(opts->out, opts->force);
    const auto t0 = std::chrono::steady_clock::now();
    const train::SyntheticSummary s = train::write_synthetic_dataset(opts->out, opts->config);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << s.train << " training and " << s.val << " validation images (" << opts->config.size << "x"
              << opts->config.size << ") to " << opts->out << " in " << secs << " s\n"
              << "  " << s.train_json.string() << "\n  " << s.valid_json.string() << "\n  " << s.gt_mat.string()
              << "\n";
  });
}

CommandRegistrar registrar("synth", setup);

}  // namespace
}  // namespace posenet::cli
