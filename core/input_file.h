// Checks an input path before it is opened: a directory, a FIFO (which
// would block the open), a device such as /dev/zero (endless), or a file far
// larger than its kind can be, is refused naming the file, before any byte is
// read.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace posenet {

// Upper bounds on what a real input of each kind can hold.
constexpr uint64_t kMaxImageFileBytes = 256ull << 20;       // 256 MiB: far beyond any photo
constexpr uint64_t kMaxAnnotationFileBytes = 4ull << 30;    // 4 GiB: COCO's largest is under 1 GiB

// Returns the file's size. Throws InputError "<path>: <kind> file not found",
// "<path>: is a directory; expected a regular <kind> file", "<path>: is not a
// regular file (a FIFO, socket or device); expected a regular <kind> file" or
// "<path>: <kind> file is N bytes, more than the limit of M" (max_bytes = 0:
// no limit).
uint64_t check_input_file(const std::filesystem::path& path, std::string_view kind, uint64_t max_bytes = 0);

}  // namespace posenet
