#include "train/stop.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace posenet::train {

namespace {
std::atomic<int> g_signals{0};
std::atomic<int> g_first_signal{0};

extern "C" void on_stop_signal(int sig) {
  if (g_signals.fetch_add(1) >= 1) {
    // Second signal: the user insists. Default action, right now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  int none = 0;
  g_first_signal.compare_exchange_strong(none, sig);
  const char msg[] = "\nposenet: stop requested; saving a checkpoint after this step (signal again to abort)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_signals.load() > 0; }
void request_stop() { g_signals.fetch_add(1); }
void clear_stop_request() {
  g_signals.store(0);
  g_first_signal.store(0);
}
int stop_signal() { return g_first_signal.load(); }

}  // namespace posenet::train
