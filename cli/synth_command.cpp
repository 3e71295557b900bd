// posenet synth: writes the built-in synthetic pose dataset (MPII layout).
#include <chrono>
#include <iostream>

#include "cli/command.h"
#include "train/synthetic.h"

namespace posenet::cli {
namespace {

struct SynthOptions {
  std::string out;
  train::SyntheticConfig config;
};

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
  cmd->callback([opts] {
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
