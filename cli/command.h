// Subcommand registration: each cli/<command>.cpp defines one subcommand and
// registers it with a static CommandRegistrar, so adding a command touches
// no other file.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace posenet::cli {

// Adds the subcommand to app; the callback it sets runs the command and may
// throw posenet::Error (reported by main as "posenet: error: ...", exit 1).
using CommandSetup = std::function<void(CLI::App& app)>;

// Thrown by a command that ends with a status other than 0 or 1 without an
// error message (a run stopped by a signal: 128 + the signal); main returns it.
struct ExitStatus {
  int code = 0;
};

struct CommandEntry {
  std::string name;  // for ordering only
  CommandSetup setup;
};
std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

}  // namespace posenet::cli
