// Runs the posenet command line as a user would, for the tests that check a
// command's exit code and what it prints.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace posenet::testing {

struct CliRun {
  int code = -1;    // the exit status; -1 when the command did not exit normally
  std::string out;  // stdout and stderr together
};

// `posenet ARGS`, with stderr folded into stdout. timeout_s > 0 runs it under
// timeout(1): a command that blocks (on a FIFO, say) then fails the test with
// status 124 instead of hanging it.
// launcher, when given, goes before the command (mpirun -np 2, say).
inline CliRun cli(const std::string& args, int timeout_s = 0, const std::string& launcher = "") {
  std::string prefix = timeout_s > 0 ? "timeout " + std::to_string(timeout_s) + " " : std::string();
  if (!launcher.empty()) prefix = launcher + " " + prefix;
  CliRun r;
  FILE* p = popen((prefix + POSENET_CLI_PATH + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace posenet::testing
