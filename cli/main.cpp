// posenet: the command-line tool.
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"posenet: multi-stage ResNet-hourglass human pose estimation"};
  app.require_subcommand(1);
  app.add_subcommand("version", "print the version")->callback([] { std::cout << "posenet 0.1.0\n"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const posenet::Error& e) {
    std::cerr << "posenet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
