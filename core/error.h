// Errors: every failure in posenet is a posenet::Error (a std::runtime_error)
// whose message says what went wrong and, where there is one, which file.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace posenet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Bad input from the user's files (annotations, images, checkpoints, configs).
class InputError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

}  // namespace posenet

// PN_CHECK(cond, "message", values...) throws posenet::Error with the
// message (and, for internal invariants, the source location).
#define PN_CHECK(cond, ...)                                                             \
  do {                                                                                  \
    if (!(cond)) throw ::posenet::Error(::posenet::detail::concat(__VA_ARGS__));        \
  } while (0)

#define PN_FAIL(...) throw ::posenet::Error(::posenet::detail::concat(__VA_ARGS__))

#define PN_ASSERT(cond)                                                                 \
  do {                                                                                  \
    if (!(cond))                                                                        \
      throw ::posenet::Error(::posenet::detail::concat("internal error: ", #cond,       \
                                                       " failed at ", __FILE__, ":", __LINE__)); \
  } while (0)
