// One writer per output folder: an exclusive advisory lock (flock) on
// <folder>/.posenet.lock, held for the life of the object. The kernel drops
// it when the process ends in any way, kill -9 included, so a stale lock
// cannot outlive its holder (this is not a PID file: the PID written into
// the file is only there for the message of the process that is refused).
#pragma once
#include <filesystem>
#include <string>

namespace posenet {

class FolderLock {
 public:
  FolderLock() = default;
  // Creates the folder when needed and takes its lock without waiting.
  // Throws InputError naming the folder when it cannot be created or
  // written, and when another process holds the lock (with its PID):
  //   "<folder>: another posenet process (pid 123) is writing into this
  //    folder; wait for it to end or choose another <option>".
  // `option` names the option that chose the folder ("--out").
  static FolderLock acquire(const std::filesystem::path& folder, const std::string& option);

  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();

  bool held() const { return fd_ >= 0; }
  static constexpr const char* kFileName = ".posenet.lock";

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace posenet
