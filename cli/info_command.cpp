// posenet info: parameters, multiply-accumulates and training activation
// memory of a model, per stage, from its layer shapes.
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/error.h"
#include "models/info.h"
#include "models/spec.h"

namespace posenet::cli {
namespace {

struct InfoArgs {
  std::string model;
  std::vector<int> input;
  double width = 0;
  int joints = 0;
  int64_t decoder_channels = -1;
  bool no_tick = false, no_tock = false;
  bool json = false;
};

void run_info(const InfoArgs& a) {
  models::ModelOptions options;
  if (!a.input.empty()) {
    options.input_h = a.input[0];
    options.input_w = a.input.size() > 1 ? a.input[1] : a.input[0];
  }
  if (a.width != 0) options.width = a.width;
  if (a.joints != 0) options.joints = a.joints;
  if (a.decoder_channels >= 0) options.decoder_channels = a.decoder_channels;
  if (a.no_tick) options.tick = false;
  if (a.no_tock) options.tock = false;
  const models::ModelSpec spec = models::parse_model_spec(a.model, options);
  const models::ModelInfo info = models::model_info(spec);
  if (a.json) std::cout << info.json() << "\n";
  else std::cout << info.table();
}

const CommandRegistrar registrar("info", [](CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Parameters, MACs and training activation memory of a model");
  cmd->add_option("--model", args->model,
                  "simplebaseline:r50, hourglass:r101, multistage:r101,r50,r50, tiny, tiny-multistage")
      ->required();
  // --input-size as in posenet train (one side for a square input, or
  // height and width); --input is its old spelling, kept hidden.
  CLI::Option* input = cmd->add_option("--input-size", args->input,
                                       "input side, or height and width (default 256; tiny: 64), as in train")
                           ->expected(1, 2);
  cmd->add_option("--input", args->input, "deprecated spelling of --input-size")
      ->expected(1, 2)
      ->group("")
      ->excludes(input);
  cmd->add_option("--width", args->width, "channel width multiplier (default 1; tiny: 0.25)");
  cmd->add_option("--joints", args->joints, "heatmaps (joints), default 16");
  cmd->add_option("--decoder-channels", args->decoder_channels, "decoder channels (default 256 * width)");
  cmd->add_flag("--no-tick", args->no_tick, "multi-stage: switch the tick connection off");
  cmd->add_flag("--no-tock", args->no_tock, "multi-stage: switch the tock connection off");
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->callback([args] { run_info(*args); });
});

}  // namespace
}  // namespace posenet::cli
