// safetensors files: reading (every dtype of the format, validated strictly)
// and writing (deterministic, atomic).
//
// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then
// the data buffer. The header maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets
// relative to the buffer) plus an optional "__metadata__": {str: str}.
//
// Reading refuses every malformed file with an InputError naming the file and
// the problem: the entries must tile the buffer exactly (no gap, no overlap,
// nothing past its end), as the format's specification requires.
// Writing sorts the names, pads the header with spaces to a multiple of 8
// bytes and writes through a temporary file in the target's directory that is
// fsynced and renamed over the target, so a failed write never damages an
// existing file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace posenet::safetensors {

// Bytes per element of a safetensors dtype name ("F32", "I64", "F8_E4M3",
// ...); 0 when the name is not a safetensors dtype.
size_t element_size(std::string_view dtype);

// One tensor of a file, as stored: the bytes are a view into the file's
// buffer (valid as long as the File lives).
struct Entry {
  std::string name;
  std::string dtype;  // safetensors name: "F32", "BF16", "I64", ...
  Shape shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const { return shape_numel(shape); }
};

class File {
 public:
  // Reads and validates a whole file (one read into memory). Refused, naming
  // the file, before the data is read: anything but a regular file (a FIFO
  // does not block) and a file longer than its header declares. Refused
  // after: a float tensor holding NaN or infinity (named with the element),
  // since weights or statistics like that compute NaN silently.
  static File read(const std::filesystem::path& path);
  // Validates bytes already in memory; `source` names them in errors.
  static File parse(std::vector<uint8_t> bytes, const std::string& source);

  const std::string& source() const { return source_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Entries sorted by name.
  const std::vector<Entry>& entries() const { return entries_; }
  bool contains(const std::string& name) const;
  const Entry& entry(const std::string& name) const;  // InputError when absent

  // A CPU Tensor with the entry's dtype (F16, BF16, F32 or F64); any other
  // dtype is an InputError naming the file, the entry and the dtype.
  Tensor tensor(const std::string& name) const;
  // Every entry as a Tensor (fails on the first non-float entry).
  std::map<std::string, Tensor> tensors() const;

 private:
  std::string source_;
  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
};

// A tensor to write given as raw little-endian bytes, for dtypes that
// posenet::Tensor does not hold (e.g. an I64 step counter).
struct RawTensor {
  std::string dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};

// The complete file image (header + buffer) for these tensors. Tensors on a
// GPU are copied to the host. Names must be non-empty and not "__metadata__".
std::vector<uint8_t> serialize(const std::map<std::string, Tensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {},
                               const std::map<std::string, RawTensor>& raw = {});

// Writes atomically (see above). Throws posenet::Error naming the file when
// the directory is missing or not writable, the disk is full, etc.
void save(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata = {}, const std::map<std::string, RawTensor>& raw = {});

// Reads a file whose entries are all float tensors.
std::map<std::string, Tensor> load(const std::filesystem::path& path,
                                   std::map<std::string, std::string>* metadata = nullptr);

}  // namespace posenet::safetensors
