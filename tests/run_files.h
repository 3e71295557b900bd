// Helpers of the command-line and run-folder tests: a one-step tiny run to
// take checkpoints from, a run's files read back, and a failed command's
// message checked for the parts it must name.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "test_util.h"
#include "train/trainer.h"

namespace posenet::testing {

// The command failed (any non-zero status) and its output names every part.
inline void expect_failure_mentioning(const CliRun& r, std::initializer_list<std::string> parts) {
  EXPECT_NE(r.code, 0) << r.out;
  for (const auto& part : parts) EXPECT_NE(r.out.find(part), std::string::npos) << "'" << part << "' not in: " << r.out;
}

// The command stopped with posenet's error (status 1, "posenet: error: ")
// and its output names every part.
inline void expect_error_mentioning(const CliRun& r, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("posenet: error: "), std::string::npos) << r.out;
  for (const auto& part : parts) EXPECT_NE(r.out.find(part), std::string::npos) << "'" << part << "' not in: " << r.out;
}

inline std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The records of a run's log.jsonl, in order.
inline std::vector<nlohmann::json> log_records(const std::filesystem::path& log) {
  std::vector<nlohmann::json> out;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A run folder of `model` trained for one step on 20 synthetic 48-pixel
// images (32-pixel input, width 0.125), to take checkpoints from.
inline std::filesystem::path tiny_run(const std::string& name, const std::string& model = "tiny") {
  const std::filesystem::path dir = temp_dir(name);
  train::TrainConfig c;
  c.model = model;
  c.width = 0.125;
  c.decoder_channels = 16;
  c.input_size = 32;
  c.synthetic_count = 20;
  c.synthetic_size = 48;
  c.epochs = 1;
  c.batch_size = 4;
  c.max_steps = 1;
  c.val_every = 0;
  c.workers = 0;
  c.progress = false;
  c.out = dir.string();
  train::Trainer(c).run();
  return dir;
}

}  // namespace posenet::testing
