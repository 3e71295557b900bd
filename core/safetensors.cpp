#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
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

namespace {

// Reads up to `size` bytes at the current offset; returns how many (fewer when the file ends first).
size_t read_fully(int fd, uint8_t* out, size_t size, const std::string& source) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(source + ": read failed: " + std::strerror(errno));
    if (n == 0) break;  // shrank while reading: validated as truncated by parse
    done += size_t(n);
  }
  return done;
}

// The size the header declares (8 + header + the end of the last entry), or
// 0 when the header is not well-formed (parse then names the problem).
uint64_t declared_file_size(const uint8_t* header, uint64_t header_len) {
  json parsed = json::parse(header, header + header_len, nullptr, false);
  if (!parsed.is_object()) return 0;
  uint64_t end = 0;
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const json& v = it.value();
    uint64_t entry_begin = 0, entry_end = 0;
    if (!v.is_object() || !v.contains("data_offsets") || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2 || !as_size(v["data_offsets"][0], &entry_begin) ||
        !as_size(v["data_offsets"][1], &entry_end) || entry_begin > entry_end)
      return 0;
    end = std::max(end, entry_end);
  }
  return 8 + header_len + end;
}

// Non-finite values by bit pattern (the data may be unaligned): all
// exponent bits set. F8_E4M3 has no infinity; its NaN is S.1111.111.
template <typename Bits>
bool bits_non_finite(const uint8_t* p, Bits exponent_mask) {
  Bits b;
  std::memcpy(&b, p, sizeof(Bits));
  return (b & exponent_mask) == exponent_mask;
}

// Index of the first NaN or infinity in a float entry, or -1.
int64_t first_non_finite(const Entry& e) {
  const int64_t n = e.numel();
  auto scan = [&](size_t width, auto&& bad) -> int64_t {
    for (int64_t i = 0; i < n; ++i)
      if (bad(e.data + size_t(i) * width)) return i;
    return -1;
  };
  if (e.dtype == "F32") return scan(4, [](const uint8_t* p) { return bits_non_finite<uint32_t>(p, 0x7F800000u); });
  if (e.dtype == "F64")
    return scan(8, [](const uint8_t* p) { return bits_non_finite<uint64_t>(p, 0x7FF0000000000000ull); });
  if (e.dtype == "F16") return scan(2, [](const uint8_t* p) { return bits_non_finite<uint16_t>(p, 0x7C00u); });
  if (e.dtype == "BF16") return scan(2, [](const uint8_t* p) { return bits_non_finite<uint16_t>(p, 0x7F80u); });
  if (e.dtype == "F8_E5M2") return scan(1, [](const uint8_t* p) { return (*p & 0x7C) == 0x7C; });
  if (e.dtype == "F8_E4M3") return scan(1, [](const uint8_t* p) { return (*p & 0x7F) == 0x7F; });
  return -1;
}

// What the non-finite value is, for the message.
std::string non_finite_kind(const Entry& e, int64_t i) {
  double v = std::numeric_limits<double>::quiet_NaN();
  if (e.dtype == "F32") {
    float f;
    std::memcpy(&f, e.data + size_t(i) * 4, 4);
    v = f;
  } else if (e.dtype == "F64") {
    std::memcpy(&v, e.data + size_t(i) * 8, 8);
  }
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "inf" : "-inf";
}

}  // namespace

File File::read(const std::filesystem::path& path) {
  const std::string source = path.string();
  // O_NONBLOCK: a FIFO must be refused, not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw InputError(source + ": cannot open: " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(source + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(source + ": cannot read: is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode))
    throw InputError(source + ": cannot read: not a regular file (a FIFO, socket or device)");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);

  // The length and the header first: a file longer than its header declares
  // is refused before its data is read (it could be any size).
  const uint64_t file_size = uint64_t(st.st_size);
  std::vector<uint8_t> bytes(size_t(std::min<uint64_t>(file_size, 8)));
  size_t done = read_fully(fd, bytes.data(), bytes.size(), source);
  if (done == 8) {
    const uint64_t header_len = read_u64_le(bytes.data());
    if (header_len <= kMaxHeaderBytes && header_len <= file_size - 8) {
      bytes.resize(size_t(8 + header_len));
      done += read_fully(fd, bytes.data() + 8, size_t(header_len), source);
      const uint64_t declared = done == bytes.size() ? declared_file_size(bytes.data() + 8, header_len) : 0;
      if (declared > 0 && file_size > declared)
        malformed(source, "file is " + std::to_string(file_size) + " bytes but its header declares " +
                              std::to_string(declared) + " (" + std::to_string(file_size - declared) +
                              " trailing bytes that belong to no entry); not read");
    }
  }
  if (done == bytes.size()) {
    bytes.resize(size_t(file_size));
    done += read_fully(fd, bytes.data() + done, bytes.size() - done, source);
  }
  bytes.resize(done);
  File file = parse(std::move(bytes), source);
  // A NaN or infinite weight or statistic would compute NaN silently: refused
  // at load, parameters and buffers alike (parse itself stays format-only).
  for (const Entry& e : file.entries_) {
    const int64_t i = first_non_finite(e);
    if (i >= 0)
      throw InputError(detail::concat(source, ": tensor '", e.name, "' holds a non-finite value (",
                                      non_finite_kind(e, i), " at element ", i, " of ", e.numel(),
                                      "); refusing to load it"));
  }
  return file;
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
