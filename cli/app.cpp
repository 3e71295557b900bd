#include "cli/app.h"

#include <algorithm>

#include "cli/command.h"

namespace posenet::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

void configure_app(CLI::App& app) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "posenet 0.1.0");
  // Subcommands that take the config file call fallthrough() so `posenet
  // train --config FILE` works too.
  app.set_config("--config", "", "TOML config file; section [train] holds posenet train's options by long name");
  // An unknown key in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app);
}

}  // namespace posenet::cli
