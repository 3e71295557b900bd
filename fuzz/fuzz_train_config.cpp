// The training configuration. (1) The bytes as a config file (TOML, section
// [train]) read the way `posenet --config FILE train` reads it: the real
// command-line definition of every subcommand; parsing stops once every
// value is converted, before the train command's action would run. CLI11 may
// refuse the file with its parse error; anything else escaping is a bug. (2) The bytes as the JSON config stored in
// checkpoints: TrainConfig::from_json refuses it with an InputError naming
// the source, or returns a config that to_json/from_json reproduce exactly.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "fuzz/fuzz_util.h"
#include "train/config.h"

using namespace posenet;

namespace {

void parse_config_file(const std::filesystem::path& path) {
  CLI::App app{"posenet"};
  cli::configure_app(app);  // as cli/main.cpp does
  // The main app's parse-complete callback runs after the config file and
  // every option are converted and before any subcommand's action.
  struct Parsed {};
  app.parse_complete_callback([] { throw Parsed{}; });
  std::string args[] = {"posenet", "--config", path.string(), "train"};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data()};
  try {
    app.parse(4, argv);
    std::abort();  // the train action must not have run
  } catch (const Parsed&) {
  } catch (const CLI::Error&) {
    // A refused file: CLI11 names the option or line (printed by main).
  }
}

void parse_stored_config(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  static const std::string kSource = "stored config";
  train::TrainConfig config;
  try {
    config = train::TrainConfig::from_json(j, kSource);
  } catch (const InputError& e) {
    fuzz::check_error_names(e, kSource);
    return;
  }
  try {
    config.validate();
  } catch (const InputError&) {
    // Refused settings are named by the setting, not by a file.
  }
  const auto again = train::TrainConfig::from_json(config.to_json(), "round trip");
  if (again.to_json().dump() != config.to_json().dump()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse_config_file(fuzz::write_input(data, size, "train.toml"));
  parse_stored_config(data, size);
  return 0;
}
