// posenet: the command-line tool. Subcommands live one per file in cli/.
#include <iostream>

#include "cli/app.h"
#include "cli/command.h"
#include "core/error.h"
#include "dist/communicator.h"

int main(int argc, char** argv) {
  CLI::App app{"posenet: multi-stage ResNet-hourglass human pose estimation"};
  posenet::cli::configure_app(app);
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
  } catch (const posenet::cli::ExitStatus& s) {
    return s.code;
  } catch (const posenet::Error& e) {
    // With several processes, one rank's error ends them all (naming the rank).
    posenet::dist::abort_run_if_distributed(e.what());
    std::cerr << "posenet: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    posenet::dist::abort_run_if_distributed(e.what());
    std::cerr << "posenet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
