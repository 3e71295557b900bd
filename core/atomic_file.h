// Atomic file output: every file posenet writes as a result (checkpoints,
// .mat files, JSON) goes to a hidden temporary file next to the target,
// is fsynced, renamed over the target, and the directory is fsynced, so a
// crash, a full disk or a kill -9 leaves either the old file or the new one,
// never a mix. A failed write removes the temporary and names the target.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace posenet {

// Writes bytes to path atomically. Throws posenet::Error naming the file and
// the cause (missing or unwritable directory, disk full, file size limit).
void write_file_atomically(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
void write_text_file_atomically(const std::filesystem::path& path, const std::string& text);

// For writers that need a path of their own (a library that opens the file
// itself): fill writes the complete file at the temporary path it is given;
// then it is fsynced and renamed like the above. Whatever fill throws is
// passed on after the temporary is removed.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path& temporary)>& fill);

// The hidden temporary files of the above start with ".<target name>.tmp-";
// a process killed mid-write leaves one. True for such a name.
bool is_atomic_write_temporary(const std::string& file_name, const std::string& target_name);

}  // namespace posenet
