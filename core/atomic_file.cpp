#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace posenet {

namespace fs = std::filesystem;

namespace {

fs::path directory_of(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

void check_target(const fs::path& path) {
  std::error_code ec;
  const fs::path dir = directory_of(path);
  if (!fs::is_directory(dir, ec)) PN_FAIL("cannot write ", path.string(), ": directory ", dir.string(), " does not exist");
  if (fs::is_directory(path, ec)) PN_FAIL("cannot write ", path.string(), ": it is a directory");
}

fs::path temporary_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return directory_of(path) / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)));
}

std::string describe_errno(int err) {
  std::string why = std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return "disk full (" + why + ")";
  if (err == EFBIG) return "file too large for the disk or the file size limit (" + why + ")";
  return why;
}

[[noreturn]] void fail_and_remove(const fs::path& path, const fs::path& temp, const char* step, int err) {
  ::unlink(temp.c_str());
  PN_FAIL("cannot write ", path.string(), ": ", step, " failed: ", describe_errno(err),
          "; any existing file was left unchanged");
}

// fsync of the finished temporary, rename over the target, fsync of the
// directory so the rename itself survives a crash (best effort: some
// filesystems refuse to fsync a directory).
void commit_temporary(const fs::path& path, const fs::path& temp) {
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_and_remove(path, temp, "reopen", errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail_and_remove(path, temp, "fsync", err);
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail_and_remove(path, temp, "rename", errno);
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::vector<uint8_t>& bytes) {
  check_target(path);
  const fs::path temp = temporary_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    const std::string dir = directory_of(path).string();
    if (err == EACCES || err == EROFS || err == EPERM)
      PN_FAIL("cannot write ", path.string(), ": directory ", dir, " is not writable (", std::strerror(err), ")");
    PN_FAIL("cannot write ", path.string(), ": cannot create a temporary file in ", dir, ": ", std::strerror(err));
  }
  auto fail = [&](const char* step, int err) {
    ::close(fd);
    fail_and_remove(path, temp, step, err);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno);
    if (n == 0) fail("write", ENOSPC);
    done += size_t(n);
  }
  if (::fsync(fd) != 0) fail("fsync", errno);
  if (::close(fd) != 0) fail_and_remove(path, temp, "close", errno);
  commit_temporary(path, temp);
}

void write_text_file_atomically(const fs::path& path, const std::string& text) {
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()));
}

void write_file_atomically(const fs::path& path, const std::function<void(const fs::path& temporary)>& fill) {
  check_target(path);
  const fs::path temp = temporary_for(path);
  try {
    fill(temp);
  } catch (...) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw;
  }
  commit_temporary(path, temp);
}

bool is_atomic_write_temporary(const std::string& file_name, const std::string& target_name) {
  return file_name.rfind("." + target_name + ".tmp-", 0) == 0;
}

}  // namespace posenet
