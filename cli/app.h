// The posenet application as main() runs it: one CLI::App with every
// registered subcommand and the shared config-file option. The fuzz target
// and the tests that read config files build it through the same function,
// so they parse exactly what `posenet` parses.
#pragma once
#include <CLI/CLI.hpp>

namespace posenet::cli {

// Sets up `app`: one subcommand required, --version, --config (a TOML
// section per subcommand, [train], ..., holding its options by long name;
// the command line overrides it), unknown config keys are errors, and every
// subcommand of command_registry() in name order.
void configure_app(CLI::App& app);

}  // namespace posenet::cli
