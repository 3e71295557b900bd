#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace posenet::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using nlohmann::json;

// Refuse headers above this size: no real checkpoint comes close, and a
// corrupt length must not make us allocate gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

[[noreturn]] void malformed(const std::string& source, const std::string& problem) {
  throw InputError(source + ": not a valid safetensors file: " + problem);
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A non-negative integer that fits in int64 (JSON floats, negatives and
// huge values are refused).
bool as_size(const json& v, uint64_t* out) {
  if (!v.is_number_unsigned()) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0) {
      *out = uint64_t(v.get<int64_t>());
      return true;
    }
    return false;
  }
  uint64_t u = v.get<uint64_t>();
  if (u > uint64_t(INT64_MAX)) return false;
  *out = u;
  return true;
}

// The JSON header, parsed with a check for keys that occur twice in one
// object (nlohmann keeps the last one silently).
json parse_header(const uint8_t* begin, const uint8_t* end, const std::string& source) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default: break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, callback);
  } catch (const json::exception& e) {
    malformed(source, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicate.empty()) malformed(source, "header has the key '" + duplicate + "' twice");
  return header;
}

std::string dims_str(const Shape& s) { return shape_str(s); }

}  // namespace

size_t element_size(std::string_view dtype) {
  static const std::map<std::string_view, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2},
      {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4},     {"F32", 4},     {"I64", 8}, {"U64", 8},
      {"F64", 8}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

File File::read(const std::filesystem::path& path) {
  const std::string source = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(source + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(source + ": cannot read: not a regular file");
  }
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw InputError(source + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;  // shrank while reading: validated as truncated below
    done += size_t(n);
  }
  ::close(fd);
  bytes.resize(done);
  return parse(std::move(bytes), source);
}

File File::parse(std::vector<uint8_t> bytes, const std::string& source) {
  File file;
  file.source_ = source;
  if (bytes.size() < 8)
    malformed(source, "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  const uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes)
    malformed(source, "header length " + std::to_string(header_len) + " is absurd (limit " +
                          std::to_string(kMaxHeaderBytes) + " bytes)");
  if (header_len > bytes.size() - 8)
    malformed(source, "header length " + std::to_string(header_len) + " exceeds the " +
                          std::to_string(bytes.size() - 8) + " bytes that follow it (truncated file?)");
  const uint8_t* header_begin = bytes.data() + 8;
  json header = parse_header(header_begin, header_begin + header_len, source);
  if (!header.is_object()) malformed(source, "header is not a JSON object");

  const size_t buffer_begin = 8 + size_t(header_len);
  const uint64_t buffer_size = bytes.size() - buffer_begin;

  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object()) malformed(source, "__metadata__ is not an object");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          malformed(source, "__metadata__ value of '" + m.key() + "' is not a string");
        file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "entry '" + name + "'";
    if (!value.is_object()) malformed(source, where + " is not an object");
    if (!value.contains("dtype") || !value["dtype"].is_string())
      malformed(source, where + " has no string field 'dtype'");
    if (!value.contains("shape") || !value["shape"].is_array())
      malformed(source, where + " has no array field 'shape'");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array())
      malformed(source, where + " has no array field 'data_offsets'");

    Entry entry;
    entry.name = name;
    entry.dtype = value["dtype"].get<std::string>();
    const size_t esize = element_size(entry.dtype);
    if (esize == 0) malformed(source, where + " has unknown dtype '" + entry.dtype + "'");

    uint64_t numel = 1;
    for (const json& d : value["shape"]) {
      uint64_t n;
      if (!as_size(d, &n)) malformed(source, where + " has a shape dimension that is not a non-negative integer: " + d.dump());
      entry.shape.push_back(int64_t(n));
      if (__builtin_mul_overflow(numel, n, &numel) || numel > uint64_t(INT64_MAX))
        malformed(source, where + " has a shape whose element count overflows");
    }

    const json& offsets = value["data_offsets"];
    uint64_t begin, end;
    if (offsets.size() != 2 || !as_size(offsets[0], &begin) || !as_size(offsets[1], &end))
      malformed(source, where + " has data_offsets " + offsets.dump() + ", not [begin, end] of non-negative integers");
    if (begin > end) malformed(source, where + " has data_offsets " + offsets.dump() + " with begin > end");
    uint64_t expected;
    if (__builtin_mul_overflow(numel, uint64_t(esize), &expected))
      malformed(source, where + " has a byte size that overflows");
    if (end - begin != expected)
      malformed(source, where + " holds " + std::to_string(end - begin) + " bytes but " + entry.dtype +
                            dims_str(entry.shape) + " needs " + std::to_string(expected));
    if (end > buffer_size)
      malformed(source, where + " has data_offsets " + offsets.dump() + " past the end of the " +
                            std::to_string(buffer_size) + "-byte data buffer (offsets out of range or file truncated)");
    entry.nbytes = size_t(expected);
    spans.push_back({begin, end, file.entries_.size()});
    file.entries_.push_back(std::move(entry));
  }

  // The entries must tile the buffer: sorted by offset, each starts where
  // the previous one ended, and the last ends at the end of the file.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Span* previous = nullptr;
  for (const Span& s : spans) {
    const std::string& name = file.entries_[s.index].name;
    if (s.begin < covered)
      malformed(source, "entry '" + name + "' overlaps entry '" + file.entries_[previous->index].name + "'");
    if (s.begin > covered)
      malformed(source, "data buffer has a gap of " + std::to_string(s.begin - covered) + " unused bytes before entry '" +
                            name + "'");
    covered = s.end;
    previous = &s;
  }
  if (covered != buffer_size)
    malformed(source, "data buffer has " + std::to_string(buffer_size - covered) +
                          " trailing bytes that belong to no entry");

  file.bytes_ = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  const uint8_t* buffer = file.bytes_->data() + buffer_begin;
  for (const Span& s : spans) file.entries_[s.index].data = buffer + s.begin;
  std::sort(file.entries_.begin(), file.entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return file;
}

bool File::contains(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const Entry& e, const std::string& n) { return e.name < n; });
  return it != entries_.end() && it->name == name;
}

const Entry& File::entry(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const Entry& e, const std::string& n) { return e.name < n; });
  if (it == entries_.end() || it->name != name) throw InputError(source_ + ": no tensor named '" + name + "'");
  return *it;
}

Tensor File::tensor(const std::string& name) const {
  const Entry& e = entry(name);
  DType dtype;
  if (!dtype_from_safetensors_name(e.dtype, &dtype))
    throw InputError(source_ + ": tensor '" + name + "' has dtype " + e.dtype +
                     ", which cannot be loaded as a float tensor (F16, BF16, F32, F64)");
  Tensor t = Tensor::empty(e.shape, dtype);
  if (e.nbytes > 0) std::memcpy(t.raw_data(), e.data, e.nbytes);
  return t;
}

std::map<std::string, Tensor> File::tensors() const {
  std::map<std::string, Tensor> out;
  for (const Entry& e : entries_) out.emplace(e.name, tensor(e.name));
  return out;
}

std::vector<uint8_t> serialize(const std::map<std::string, Tensor>& tensors,
                               const std::map<std::string, std::string>& metadata,
                               const std::map<std::string, RawTensor>& raw) {
  struct Piece {
    std::string dtype;
    Shape shape;
    const uint8_t* data;
    size_t nbytes;
  };
  std::map<std::string, Piece> pieces;  // sorted by name: the buffer order
  std::vector<Tensor> host_copies;
  for (const auto& [name, t] : tensors) {
    PN_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '", name, "'");
    PN_CHECK(t.defined(), "safetensors: tensor '", name, "' is undefined");
    Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    host_copies.push_back(host);
    pieces[name] = {std::string(dtype_safetensors_name(host.dtype())), host.shape(),
                    static_cast<const uint8_t*>(host.raw_data()), host.nbytes()};
  }
  for (const auto& [name, r] : raw) {
    PN_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '", name, "'");
    PN_CHECK(!pieces.count(name), "safetensors: tensor '", name, "' given twice");
    const size_t esize = element_size(r.dtype);
    PN_CHECK(esize != 0, "safetensors: tensor '", name, "' has unknown dtype '", r.dtype, "'");
    PN_CHECK(r.bytes.size() == size_t(shape_numel(r.shape)) * esize, "safetensors: tensor '", name, "' has ",
             r.bytes.size(), " bytes for ", r.dtype, shape_str(r.shape));
    pieces[name] = {r.dtype, r.shape, r.bytes.data(), r.bytes.size()};
  }

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, p] : pieces) {
    header[name] = {{"dtype", p.dtype}, {"shape", p.shape}, {"data_offsets", {offset, offset + p.nbytes}}};
    offset += p.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* dst = out.data() + 8 + text.size();
  for (const auto& [name, p] : pieces) {
    if (p.nbytes) std::memcpy(dst, p.data, p.nbytes);
    dst += p.nbytes;
  }
  return out;
}

void save(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
          const std::map<std::string, std::string>& metadata, const std::map<std::string, RawTensor>& raw) {
  posenet::write_file_atomically(path, serialize(tensors, metadata, raw));
}

std::map<std::string, Tensor> load(const std::filesystem::path& path, std::map<std::string, std::string>* metadata) {
  File file = File::read(path);
  if (metadata) *metadata = file.metadata();
  return file.tensors();
}

}  // namespace posenet::safetensors
