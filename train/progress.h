// Training progress: a one-line progress bar on a terminal (iterations/s,
// images/s, loss, lr, ETA) and a JSON-lines log of every step and epoch.
#pragma once
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace posenet {

class ProgressBar {
 public:
  // total: steps in the epoch; batch: images per step; first: the steps
  // already done before this process (a resumed epoch), which the rate
  // does not count.
  ProgressBar(std::string label, long total, int batch, bool interactive, long first = 0);
  void update(long done, double loss, double lr);
  void finish();

 private:
  std::string label_;
  long total_;
  int batch_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_, last_print_;
  long last_done_ = 0;
  long first_ = 0;
};

// Appends one JSON object per line and flushes it, so a killed run keeps
// every line it wrote.
class RunLog {
 public:
  RunLog() = default;
  void open(const std::string& path, bool append);
  void write(const nlohmann::json& record);
  bool is_open() const { return out_.is_open(); }

 private:
  std::string path_;
  std::ofstream out_;
};

std::string format_duration(double seconds);  // "1h02m", "3m07s", "12s"

}  // namespace posenet
