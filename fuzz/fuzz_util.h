// Helpers shared by the fuzz targets: a per-process temporary file for APIs
// that take paths, and the rule every parser must obey on bad input.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"

namespace posenet::fuzz {

// A scratch directory of this process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("posenet-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// Writes the input to scratch_dir()/name (overwriting the previous input).
inline std::filesystem::path write_input(const uint8_t* data, size_t size, const std::string& name) {
  const auto path = scratch_dir() / name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  f.close();
  if (!f) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

// Rejecting an input is fine, but only with posenet's own error that names
// the file it was given (any other exception escapes and is reported by
// libFuzzer as a crash). A message that does not name the file is a bug too.
inline void check_error_names(const posenet::Error& e, std::string_view source) {
  const std::string_view what = e.what();
  if (what.find(source) == std::string_view::npos) {
    std::fprintf(stderr, "error message does not name '%.*s': %s\n", int(source.size()), source.data(), e.what());
    std::abort();
  }
}

}  // namespace posenet::fuzz
