#include "cli/app.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/input_file.h"

namespace posenet::cli {

namespace {

// A config is a page of settings; 16 MiB is far beyond any.
constexpr uint64_t kMaxConfigFileBytes = 16ull << 20;

// TOML config files, and the JSON a run writes as config.json: a flat object
// of train's settings by config key ("batch_size"), or an object of sections
// ({"train": {...}}). So `posenet train --config run/config.json` starts a
// run with the settings of that one.
class TomlOrJsonConfig : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{') {
      std::istringstream toml(text);
      return CLI::ConfigTOML::from_config(toml);
    }
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) throw CLI::ConversionError("the config file is not valid JSON (nor TOML)");
    std::vector<CLI::ConfigItem> items;
    const bool sectioned = !j.empty() && std::all_of(j.begin(), j.end(), [](const auto& v) { return v.is_object(); });
    if (sectioned) {
      for (const auto& [section, values] : j.items()) add_items(items, section, values);
    } else {
      add_items(items, "train", j);
    }
    return items;
  }

 private:
  static void add_items(std::vector<CLI::ConfigItem>& items, const std::string& section, const nlohmann::json& values) {
    for (const auto& [key, value] : values.items()) {
      // How a run was started, and the keypoint set its data gave: not settings.
      if (key == "resume" || key == "keypoints") continue;
      CLI::ConfigItem item;
      item.parents = {section};
      item.name = key;
      std::replace(item.name.begin(), item.name.end(), '_', '-');
      if (value.is_array()) {
        for (const auto& v : value) item.inputs.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      } else if (value.is_string()) {
        item.inputs.push_back(value.get<std::string>());
      } else {
        item.inputs.push_back(value.dump());
      }
      // Empty lists and strings are the defaults: nothing to set.
      if (item.inputs.empty() || (item.inputs.size() == 1 && item.inputs[0].empty())) continue;
      items.push_back(std::move(item));
    }
  }
};

}  // namespace

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

void configure_app(CLI::App& app) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "posenet 0.1.0");
  // Subcommands that take the config file call fallthrough() so `posenet
  // train --config FILE` works too.
  app.set_config("--config", "",
                 "TOML config file; section [train] holds posenet train's options by long name, [eval] eval's; a "
                 "run's config.json is accepted too")
      ->check(CLI::Validator(
          [](std::string& path) {
            // Before CLI11 opens it: a FIFO would block, a device never end.
            check_input_file(path, "config", kMaxConfigFileBytes);
            return std::string();
          },
          "FILE", "ConfigFile"));
  // An unknown key in the config file is an error, not silently ignored.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.config_formatter(std::make_shared<TomlOrJsonConfig>());
  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app);
}

}  // namespace posenet::cli
