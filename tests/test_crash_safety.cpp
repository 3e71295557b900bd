// Crash safety of `posenet train`: SIGKILL at random moments (often in the
// middle of writing a checkpoint, which happens every step here), then
// --resume, until the run completes. The checkpoint on disk must always
// load, no more than the step in flight may be lost, and the losses of the
// resumed run must equal an uninterrupted run's. SIGTERM and SIGINT must
// save and exit cleanly, and the saved checkpoint must resume. A checkpoint
// write that fails mid-run (the file size limit lowered under the running
// trainer) must name the file and the reason and leave last.safetensors and
// log.jsonl intact.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
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

// Starts posenet with args; its stdout and stderr go to output (or nowhere).
pid_t spawn(std::vector<std::string> args, const fs::path& output = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    int sink = output.empty() ? open("/dev/null", O_WRONLY) : open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(sink, 1);
    dup2(sink, 2);
    // Over the file size limit, write() fails with EFBIG instead of the
    // process dying of SIGXFSZ (an ignored disposition survives execv).
    signal(SIGXFSZ, SIG_IGN);
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

std::vector<std::string> long_run_args(const fs::path& out) {
  std::vector<std::string> args = run_args(out);
  args[size_t(std::find(args.begin(), args.end(), "--epochs") - args.begin() + 1)] = "1000";  // long enough to be stopped
  return args;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits (up to 30 s) until the run in dir has written its first checkpoint.
bool wait_for_checkpoint(const fs::path& dir) {
  for (int i = 0; i < 600 && !fs::exists(dir / "last.safetensors"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return fs::exists(dir / "last.safetensors");
}

// The signal stops the run after the step in flight: exit status 128 + sig, the
// trainer's messages on stderr, a checkpoint that holds every logged step
// and a final "stopped" record. Returns the checkpoint's global step.
int64_t stop_with_signal(int sig, const fs::path& dir) {
  const fs::path output = dir.parent_path() / (dir.filename().string() + ".out");
  pid_t pid = spawn(long_run_args(dir), output);
  if (!wait_for_checkpoint(dir)) {
    kill(pid, SIGKILL);
    wait_exit(pid);
    ADD_FAILURE() << "no checkpoint after 30 s";
    return -1;
  }
  kill(pid, sig);
  EXPECT_EQ(wait_exit(pid), 128 + sig) << "a signal stop exits 128 + the signal (130 for SIGINT, 143 for SIGTERM)";
  const std::string text = read_text(output);
  EXPECT_NE(text.find("posenet: stop requested; saving a checkpoint after this step (signal again to abort)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("posenet: stopped; checkpoint saved to " + (dir / "last.safetensors").string() +
                      " (continue with --resume)"),
            std::string::npos)
      << text;
  train::Checkpoint ck = train::read_checkpoint(dir / "last.safetensors");
  const auto logged = step_losses(dir / "log.jsonl", nullptr);
  EXPECT_FALSE(logged.empty());
  if (!logged.empty()) {
    EXPECT_EQ(ck.state.global_step, logged.rbegin()->first) << "a clean stop loses no step";
  }
  std::ifstream log(dir / "log.jsonl");
  std::string line, last;
  while (std::getline(log, line)) last = line;
  EXPECT_EQ(nlohmann::json::parse(last).at("type"), "stopped");
  return ck.state.global_step;
}

TEST(CrashSafety, SigtermSavesACheckpointAndExitsCleanly) { stop_with_signal(SIGTERM, testing::temp_dir("crash_term")); }

// Ctrl-C: the same clean stop, and the checkpoint it saved resumes to the
// losses an uninterrupted run has at the same steps.
TEST(CrashSafety, SigintSavesACheckpointThatResumes) {
  const fs::path dir = testing::temp_dir("crash_int");
  const int64_t stopped_at = stop_with_signal(SIGINT, dir);
  ASSERT_GT(stopped_at, 0);
  const std::string until = std::to_string(stopped_at + 3);
  std::vector<std::string> resume = long_run_args(dir);
  for (const char* a : {"--resume", "--stop-after"}) resume.push_back(a);
  resume.push_back(until);
  ASSERT_EQ(wait_exit(spawn(resume)), 0);
  EXPECT_EQ(train::read_checkpoint(dir / "last.safetensors").state.global_step, stopped_at + 3);

  const fs::path straight = testing::temp_dir("crash_int_straight");
  std::vector<std::string> args = long_run_args(straight);
  args.push_back("--stop-after");
  args.push_back(until);
  ASSERT_EQ(wait_exit(spawn(args)), 0);
  int disagreements = 0;
  const auto resumed = step_losses(dir / "log.jsonl", &disagreements);
  const auto reference = step_losses(straight / "log.jsonl", nullptr);
  EXPECT_EQ(disagreements, 0);
  ASSERT_EQ(reference.size(), size_t(stopped_at + 3));
  ASSERT_EQ(resumed.size(), reference.size());
  for (const auto& [step, loss] : reference) EXPECT_EQ(resumed.at(step), loss) << "step " << step;
}

// Every line of a JSON-lines file parses; returns how many there are.
size_t parse_every_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << path << " line " << n + 1 << ": " << line;
    ++n;
  }
  return n;
}

// The file size limit of the running trainer is lowered below a
// checkpoint's size after its first checkpoint, so the next checkpoint write
// fails with EFBIG part-way. The run must stop with an error naming the file
// and the reason; the previous checkpoint and the log stay whole.
TEST(CrashSafety, FailedCheckpointWriteNamesTheFileAndKeepsTheLastOne) {
  const fs::path dir = testing::temp_dir("crash_fsize");
  const fs::path output = dir.parent_path() / "crash_fsize.out";
  pid_t pid = spawn(long_run_args(dir), output);
  ASSERT_TRUE(wait_for_checkpoint(dir)) << "no checkpoint after 30 s";
  const auto size = fs::file_size(dir / "last.safetensors");
  const rlimit limit{rlim_t(size / 2), rlim_t(size / 2)};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0) << std::strerror(errno);
  ASSERT_LT(fs::file_size(dir / "log.jsonl"), size / 4) << "the log itself would hit the limit";
  EXPECT_EQ(wait_exit(pid), 1);
  const std::string text = read_text(output);
  // The first checkpoint written after the limit fails: last.safetensors,
  // or best.safetensors when the limit landed while an epoch's validation
  // ran (last.safetensors of that step was already written).
  auto failed = [&](const char* file) {
    return text.find("posenet: error: cannot write " + (dir / file).string() + ": write failed: ") != std::string::npos;
  };
  const bool last_failed = failed("last.safetensors"), best_failed = failed("best.safetensors");
  EXPECT_TRUE(last_failed || best_failed) << text;
  EXPECT_NE(text.find("file size limit (File too large)"), std::string::npos) << text;
  EXPECT_NE(text.find("any existing file was left unchanged"), std::string::npos) << text;

  train::Checkpoint ck;
  ASSERT_NO_THROW(ck = train::read_checkpoint(dir / "last.safetensors"));
  EXPECT_EQ(fs::file_size(dir / "last.safetensors"), size);
  const auto logged = step_losses(dir / "log.jsonl", nullptr);
  ASSERT_FALSE(logged.empty());
  EXPECT_GE(ck.state.global_step, 1);
  // The step whose checkpoint failed is logged; last.safetensors is the one
  // before it (or that step's own when best.safetensors was the one to fail).
  EXPECT_EQ(ck.state.global_step, logged.rbegin()->first - (last_failed ? 1 : 0));
  EXPECT_GE(parse_every_line(dir / "log.jsonl"), logged.size());
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "temporary left behind: " << e.path();
  // And the run resumes from it (with the limit gone).
  std::vector<std::string> resume = long_run_args(dir);
  for (const char* a : {"--resume", "--stop-after"}) resume.push_back(a);
  resume.push_back(std::to_string(ck.state.global_step + 1));
  EXPECT_EQ(wait_exit(spawn(resume)), 0);
}

// Two runs into one --out: the second fails at once, naming the folder and
// the first's pid, with --resume too, and the first trains on undisturbed:
// its log is whole and its checkpoint loads. The lock goes with the process.
TEST(CrashSafety, ASecondRunIntoTheSameFolderFailsAtOnceNamingTheHolder) {
  const fs::path dir = testing::temp_dir("lock_two_runs");
  const pid_t first = spawn(long_run_args(dir), dir.parent_path() / "lock_two_runs_first.out");
  ASSERT_TRUE(wait_for_checkpoint(dir)) << "no checkpoint after 30 s";
  const std::string holder = "(pid " + std::to_string(first) + ")";
  for (const bool resume : {false, true}) {
    std::vector<std::string> args = run_args(dir);
    if (resume) args.push_back("--resume");
    const fs::path output = dir.parent_path() / "lock_two_runs_second.out";
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(wait_exit(spawn(args, output)), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "it fails at once, without waiting";
    const std::string text = read_text(output);
    EXPECT_NE(text.find("posenet: error: " + dir.string() + ": another posenet process " + holder +
                        " is writing into this folder"),
              std::string::npos)
        << text;
  }
  kill(first, SIGTERM);
  EXPECT_EQ(wait_exit(first), 128 + SIGTERM);
  const std::string log = read_text(dir / "log.jsonl");
  EXPECT_EQ(log.find('\0'), std::string::npos) << "no NUL bytes from a second writer";
  int64_t last_step = 0;
  int starts = 0;
  std::istringstream lines(log);
  std::string line, last;
  while (std::getline(lines, line)) {
    const auto record = nlohmann::json::parse(line);  // every line is whole
    if (record.at("type") == "start") ++starts;
    if (record.at("type") == "step") last_step = record.at("global_step");
    last = line;
  }
  EXPECT_EQ(starts, 1) << "only the first run started";
  EXPECT_EQ(nlohmann::json::parse(last).at("type"), "stopped");
  EXPECT_EQ(train::read_checkpoint(dir / "last.safetensors").state.global_step, last_step);
  // The holder is gone: the folder is free again.
  std::vector<std::string> resume = run_args(dir);
  for (const char* a : {"--resume", "--stop-after"}) resume.push_back(a);
  resume.push_back(std::to_string(last_step + 1));
  EXPECT_EQ(wait_exit(spawn(resume)), 0);
}

}  // namespace
}  // namespace posenet
