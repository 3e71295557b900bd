// safetensors reader: any byte string is either refused with an InputError
// naming the source, or yields entries that lie inside the buffer; float
// entries then survive a write/read round trip unchanged.
#include <cstdlib>
#include <cstring>

#include "core/safetensors.h"
#include "fuzz/fuzz_util.h"

using namespace posenet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kSource = "fuzz-input.safetensors";
  std::vector<uint8_t> bytes(data, data + size);
  safetensors::File file;
  try {
    file = safetensors::File::parse(std::move(bytes), kSource);
  } catch (const InputError& e) {
    fuzz::check_error_names(e, kSource);
    return 0;
  }

  std::map<std::string, Tensor> floats;
  for (const auto& entry : file.entries()) {
    // Each entry's bytes must be addressable (ASan checks the read).
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < entry.nbytes; ++i) sink = sink ^ entry.data[i];
    if (!file.contains(entry.name) || &file.entry(entry.name) != &entry) std::abort();
    try {
      Tensor t = file.tensor(entry.name);
      if (t.nbytes() != entry.nbytes || t.numel() != entry.numel()) std::abort();
      if (std::memcmp(t.raw_data(), entry.data, entry.nbytes) != 0) std::abort();
      floats.emplace(entry.name, t);
    } catch (const InputError& e) {
      fuzz::check_error_names(e, kSource);
    }
  }

  // Round trip of what was readable: same names, shapes, dtypes and bytes.
  const auto image = safetensors::serialize(floats, file.metadata());
  const auto again = safetensors::File::parse(image, "round trip");
  if (again.entries().size() != floats.size() || again.metadata() != file.metadata()) std::abort();
  for (const auto& [name, t] : floats) {
    const Tensor u = again.tensor(name);
    if (u.shape() != t.shape() || u.dtype() != t.dtype()) std::abort();
    if (u.nbytes() != t.nbytes() || std::memcmp(u.raw_data(), t.raw_data(), t.nbytes()) != 0) std::abort();
  }
  return 0;
}
