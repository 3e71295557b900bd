// Crash safety of `posenet train`: SIGKILL at random moments (often in the
// middle of writing a checkpoint, which happens every step here), then
// --resume, until the run completes. The checkpoint on disk must always
// load, no more than the step in flight may be lost, and the losses of the
// resumed run must equal an uninterrupted run's. SIGTERM must save and exit
// cleanly.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train/checkpoint.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> run_args(const fs::path& out) {
  return {"train", "--model", "tiny", "--width", "0.125", "--decoder-channels", "16", "--input-size", "32",
          "--synthetic-count", "60", "--synthetic-size", "48", "--epochs", "4", "--batch-size", "4",
          "--max-steps", "8", "--lr", "0.001", "--lr-steps", "2", "--sigmas", "1", "--workers", "2", "--seed", "3",
          "--val-every", "1", "--save-every", "1", "--progress", "false", "--out", out.string()};
}

pid_t spawn(std::vector<std::string> args) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> argv;
    std::string exe = POSENET_CLI_PATH;
    argv.push_back(exe.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

// Loss of every global step in log.jsonl; a step logged twice (replayed
// after a crash) keeps its last value, and replays must agree.
std::map<int64_t, double> step_losses(const fs::path& log, int* disagreements) {
  std::map<int64_t, double> out;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (...) {
      continue;  // a line cut by SIGKILL
    }
    if (j.value("type", "") != "step") continue;
    const int64_t step = j["global_step"];
    const double loss = j["loss"];
    auto it = out.find(step);
    if (it != out.end() && it->second != loss && disagreements) ++*disagreements;
    out[step] = loss;
  }
  return out;
}

// Step records in the log so far (a fresh run truncates the log).
size_t step_lines(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find("\"type\":\"step\"") != std::string::npos;
  return n;
}

TEST(CrashSafety, SigkillAtRandomMomentsThenResumeEqualsUninterruptedRun) {
  const fs::path straight = testing::temp_dir("crash_straight"), killed = testing::temp_dir("crash_killed");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_exit(spawn(run_args(straight))), 0);
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto reference = step_losses(straight / "log.jsonl", nullptr);
  ASSERT_EQ(reference.size(), 32u);

  Generator gen(2024);
  int kills = 0, launches = 0;
  bool finished = false;
  while (!finished && launches < 80) {
    std::vector<std::string> args = run_args(killed);
    if (fs::exists(killed / "last.safetensors")) args.push_back("--resume");
    pid_t pid = spawn(args);
    ++launches;
    if (kills < 25) {
      // Kill either during start-up, or after a random number of further
      // steps plus a random fraction of a step (a checkpoint is being
      // written at the end of every step).
      const size_t logged_before = step_lines(killed / "log.jsonl");
      const int64_t more_steps = gen.randint(-1, 4);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(run_ms));
      if (more_steps >= 0) {
        while (waitpid(pid, nullptr, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline &&
               step_lines(killed / "log.jsonl") < logged_before + size_t(more_steps))
          std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(gen.randint(0, more_steps < 0 ? 300000 : 40000)));
      if (waitpid(pid, nullptr, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        ++kills;
      }
    }
    const int code = wait_exit(pid);
    finished = code == 0;
    ASSERT_TRUE(code == 0 || code == -SIGKILL) << "posenet train exited with " << code;
    // Whatever moment it died at, the checkpoint on disk loads...
    if (fs::exists(killed / "last.safetensors")) {
      train::Checkpoint ck;
      ASSERT_NO_THROW(ck = train::read_checkpoint(killed / "last.safetensors")) << "after kill " << kills;
      // ... and holds all but at most the step that was in flight.
      const auto logged = step_losses(killed / "log.jsonl", nullptr);
      if (!logged.empty()) {
        EXPECT_GE(ck.state.global_step, logged.rbegin()->first - 1);
      }
    }
  }
  ASSERT_TRUE(finished) << "the run never completed in " << launches << " launches";
  EXPECT_GE(kills, 5) << "too few kills to mean anything (a whole run took " << run_ms << " ms)";
  int disagreements = 0;
  const auto resumed = step_losses(killed / "log.jsonl", &disagreements);
  EXPECT_EQ(disagreements, 0) << "a replayed step gave another loss";
  ASSERT_EQ(resumed.size(), reference.size());
  for (const auto& [step, loss] : reference) EXPECT_EQ(resumed.at(step), loss) << "step " << step;
  // The last (clean) launch removed the temporaries that killed writers left.
  for (const auto& e : fs::directory_iterator(killed))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  train::Checkpoint final_ck = train::read_checkpoint(killed / "last.safetensors");
  EXPECT_EQ(final_ck.state.global_step, 32);
}

TEST(CrashSafety, SigtermSavesACheckpointAndExitsCleanly) {
  const fs::path dir = testing::temp_dir("crash_term");
  std::vector<std::string> args = run_args(dir);
  args[std::find(args.begin(), args.end(), "--epochs") - args.begin() + 1] = "1000";  // long enough to be stopped
  pid_t pid = spawn(args);
  // Wait until it has trained a little.
  for (int i = 0; i < 600 && !fs::exists(dir / "last.safetensors"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir / "last.safetensors")) << "no checkpoint after 30 s";
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  train::Checkpoint ck = train::read_checkpoint(dir / "last.safetensors");
  const auto logged = step_losses(dir / "log.jsonl", nullptr);
  ASSERT_FALSE(logged.empty());
  EXPECT_EQ(ck.state.global_step, logged.rbegin()->first) << "a clean stop loses no step";
  std::ifstream log(dir / "log.jsonl");
  std::string line, last;
  while (std::getline(log, line)) last = line;
  EXPECT_EQ(nlohmann::json::parse(last).at("type"), "stopped");
}

}  // namespace
}  // namespace posenet
