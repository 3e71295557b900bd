// posenet: the command-line tool. Subcommands live one per file in cli/.
#include <algorithm>
#include <iostream>

#include "cli/command.h"
#include "core/error.h"

namespace posenet::cli {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace posenet::cli

int main(int argc, char** argv) {
  CLI::App app{"posenet: multi-stage ResNet-hourglass human pose estimation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "posenet 0.1.0");
  // One config file for every subcommand: a TOML section per subcommand
  // ([train], ...) holds its options by long name; the command line overrides
  // it. Subcommands that take it call fallthrough() so `posenet train
  // --config FILE` works.
  app.set_config("--config", "", "TOML config file; section [train] holds posenet train's options by long name");
  // An unknown key in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  auto& registry = posenet::cli::command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A bad value may come from the config file: say which file was read.
    auto config = app.get_config_ptr();
    if (e.get_exit_code() != 0 && config && config->count() > 0 && e.get_name() != "CallForHelp" &&
        e.get_name() != "CallForAllHelp" && e.get_name() != "CallForVersion") {
      std::cerr << "posenet: error: " << e.what() << " (options come from the command line and the config file "
                << config->as<std::string>() << ")\n";
      return e.get_exit_code();
    }
    return app.exit(e);
  } catch (const posenet::Error& e) {
    std::cerr << "posenet: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "posenet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
