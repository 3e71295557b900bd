#include "train/progress.h"

#include <cmath>
#include <iostream>

#include "core/error.h"

namespace posenet {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = long(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

ProgressBar::ProgressBar(std::string label, long total, int batch, bool interactive, long first)
    : label_(std::move(label)), total_(total), batch_(batch), interactive_(interactive), first_(first) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(long done, double loss, double lr) {
  auto now = std::chrono::steady_clock::now();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  // A terminal gets at most ~10 redraws a second; a log file one line every
  // 10 s (and the last step), so logs stay readable.
  if (done < total_ && since_print < (interactive_ ? 0.1 : 10.0)) return;
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double its = elapsed > 0 ? double(done - first_) / elapsed : 0.0;
  double eta = its > 0 ? double(total_ - done) / its : NAN;
  const int width = 24;
  int filled = total_ > 0 ? int(double(width) * double(done) / double(total_)) : width;
  std::string bar(size_t(filled), '#');
  bar.resize(size_t(width), '.');
  char line[256];
  std::snprintf(line, sizeof line, "%s [%s] %ld/%ld  %.2f it/s  %.1f img/s  loss %.6f  lr %.2e  ETA %s",
                label_.c_str(), bar.c_str(), done, total_, its, its * batch_, loss, lr, format_duration(eta).c_str());
  if (interactive_) {
    std::cerr << "\r" << line << "\033[K" << std::flush;
  } else {
    std::cerr << line << "\n";
  }
  last_done_ = done;
}

void ProgressBar::finish() {
  if (interactive_) std::cerr << "\n";
}

void RunLog::open(const std::string& path, bool append) {
  path_ = path;
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  PN_CHECK(out_.is_open(), "cannot open the training log ", path, " for writing");
}

void RunLog::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  out_ << record.dump() << "\n";
  out_.flush();
  PN_CHECK(out_.good(), "writing the training log ", path_, " failed (disk full?)");
}

}  // namespace posenet
