#include "core/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace posenet {

namespace fs = std::filesystem;

namespace {

// The holder's PID as it wrote it, or "" when unreadable (a holder between
// taking the lock and writing its PID).
std::string read_holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string pid(buf, size_t(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

FolderLock FolderLock::acquire(const fs::path& folder, const std::string& option) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw InputError(folder.string() + ": cannot create the output directory: " + ec.message());
  const fs::path path = folder / kFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw InputError(detail::concat(folder.string(), ": the output directory is not writable (cannot create ",
                                    kFileName, ": ", std::strerror(err), ")"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = read_holder_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK)
      throw InputError(detail::concat(folder.string(), ": another posenet process",
                                      pid.empty() ? std::string() : " (pid " + pid + ")",
                                      " is writing into this folder; wait for it to end or choose another ", option));
    throw InputError(detail::concat(folder.string(), ": cannot lock ", kFileName, ": ", std::strerror(err)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    const int err = errno;
    ::close(fd);
    throw InputError(detail::concat(folder.string(), ": cannot write ", kFileName, ": ", std::strerror(err)));
  }
  return FolderLock(fd);
}

FolderLock::FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays for the next holder
}

}  // namespace posenet
