#include "core/input_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace posenet {

namespace {
std::string human_bytes(uint64_t n) {
  if (n >= (1ull << 30) && n % (1ull << 30) == 0) return detail::concat(n >> 30, " GiB");
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return detail::concat(n >> 20, " MiB");
  return detail::concat(n, " bytes");
}
}  // namespace

uint64_t check_input_file(const std::filesystem::path& path, std::string_view kind, uint64_t max_bytes) {
  const std::string name = path.string();
  // stat, not open: opening a FIFO blocks until a writer appears.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw InputError(detail::concat(name, ": ", kind, " file not found"));
    throw InputError(detail::concat(name, ": cannot read ", kind, " file: ", std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode))
    throw InputError(detail::concat(name, ": is a directory; expected a regular ", kind, " file"));
  if (!S_ISREG(st.st_mode))
    throw InputError(detail::concat(name, ": is not a regular file (a FIFO, socket or device); expected a regular ",
                                    kind, " file"));
  const uint64_t size = uint64_t(st.st_size);
  if (max_bytes > 0 && size > max_bytes)
    throw InputError(detail::concat(name, ": ", kind, " file is ", size, " bytes, more than the limit of ",
                                    human_bytes(max_bytes), " (a wrong file?)"));
  return size;
}

}  // namespace posenet
