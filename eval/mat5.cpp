#include "eval/mat5.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/input_file.h"

namespace posenet::eval::mat5 {

namespace {

// matio reports problems through a log callback (by default to stderr). We
// keep the last message of this thread and put it into our own error.
thread_local std::string g_last_matio_message;

void capture_matio_log(int /*level*/, char* message) {
  if (message != nullptr) g_last_matio_message = message;
}

void install_matio_log() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("posenet", &capture_matio_log); });
}

// matio allocates an array for its declared element count before reading
// its data, so a corrupt file of a few KB that declares 1x1700000000 cells
// costs gigabytes and minutes. The count must fit in the bytes the array
// holds: a cell or field value is an element of at least 8 bytes, a char or
// numeric value a stored value of its type's width. Nested cells and structs
// are checked the same way, and an array whose header (flags, dimensions,
// name, field names) does not fit in it is refused. `p` holds the payload of
// one miMATRIX element (n bytes, starting at file offset at).
void check_v5_array(const std::filesystem::path& path, const unsigned char* p, uint64_t n, uint64_t at,
                    bool little, int depth) {
  auto word = [&](const unsigned char* q) {
    return little ? uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24
                  : uint32_t(q[3]) | uint32_t(q[2]) << 8 | uint32_t(q[1]) << 16 | uint32_t(q[0]) << 24;
  };
  auto corrupt = [&](const std::string& problem) {
    throw InputError(detail::concat(path.string(), ": corrupt .mat file (the array at byte ", at, " ", problem, ")"));
  };
  struct Sub {
    uint32_t type = 0;
    const unsigned char* data = nullptr;
    uint64_t bytes = 0, offset = 0;
    bool small = false;  // the 4-byte tag format
  };
  uint64_t pos = 0;
  // The next sub-element; false when the payload ends before it does.
  auto next = [&](Sub* e) {
    if (n - pos < 8) return false;
    const uint32_t tag = word(p + pos);
    e->offset = pos;
    if ((tag >> 16) != 0) {  // small format: type and size in 4 bytes, data in the next 4
      e->type = tag & 0xffff;
      e->small = true;
      e->bytes = std::min<uint64_t>(tag >> 16, 4);
      e->data = p + pos + 4;
      pos += 8;
      return true;
    }
    e->type = tag;
    e->small = false;
    e->bytes = word(p + pos + 4);
    if (e->bytes > n - pos - 8) return false;
    e->data = p + pos + 8;
    pos += std::min<uint64_t>(n - pos, 8 + (e->bytes + 7) / 8 * 8);
    return true;
  };
  if (n == 0) return;  // an empty element: [] in a cell
  if (depth > 32) corrupt("is nested more than 32 deep");
  Sub flags, dims, name;
  if (!next(&flags) || flags.bytes < 4 || !next(&dims) || !next(&name))
    corrupt("has a header that does not fit in its " + std::to_string(n) + " bytes");
  // matio reads the flags and the dimensions' tag as six fixed words, so
  // they must be laid out that way for it to see what is checked here.
  if (flags.small || flags.type != 6 /* miUINT32 */ || flags.bytes != 8)
    corrupt("has array flags that are not one 8-byte miUINT32 element");
  if (dims.small || dims.type != 5 /* miINT32 */) corrupt("has dimensions that are not an miINT32 element");
  const uint32_t cls = word(flags.data) & 0xff;
  // Element count, saturated just above what the payload could hold.
  uint64_t elements = 1;
  for (uint64_t d = 0; d + 4 <= dims.bytes; d += 4) {
    const int32_t extent = int32_t(word(dims.data + d));
    if (extent < 0) corrupt("has a negative dimension");
    elements = std::min<uint64_t>(elements * std::min<uint64_t>(uint64_t(extent), n), n + 1);
  }
  if (cls == 4 || (cls >= 6 && cls <= 15)) {
    // Char and numeric arrays: matio allocates the dimensions' element count
    // before reading the data element, which must hold that many values.
    Sub data;
    if (elements == 0) return;
    if (!next(&data)) corrupt("has no data");
    uint64_t width = 1;  // bytes per value of the stored type
    switch (data.type) {
      case 3: case 4: case 17: width = 2; break;           // (u)int16, UTF-16
      case 5: case 6: case 7: case 18: width = 4; break;   // (u)int32, single, UTF-32
      case 9: case 12: case 13: width = 8; break;          // double, (u)int64
      default: break;
    }
    if (data.bytes / width < elements) corrupt("holds fewer values than its dimensions declare");
    return;
  }
  if (cls != 1 /* cell */ && cls != 2 /* struct */ && cls != 3 /* object */) {
    // Sparse and unknown classes: no more values than bytes either.
    if (elements > n) corrupt("declares more elements than its " + std::to_string(n) + " bytes can hold");
    return;
  }
  uint64_t per_element = 1;
  if (cls == 3 && !next(&name)) corrupt("has no class name");  // an object's class name comes first
  if (cls != 1) {
    Sub field_length, field_names;
    if (!next(&field_length) || field_length.bytes < 4 || !next(&field_names)) corrupt("has no field names");
    const uint32_t length = word(field_length.data);
    per_element = length == 0 ? 0 : field_names.bytes / length;
  }
  const uint64_t room = (n - pos) / 8;  // most values the remaining bytes can hold
  const uint64_t count = std::min<uint64_t>(elements, room + 1) * std::min<uint64_t>(per_element, room + 1);
  if (count > room) corrupt("declares more elements than its " + std::to_string(n) + " bytes can hold");
  for (uint64_t i = 0; i < count; ++i) {
    Sub value;
    if (!next(&value)) return;
    if (value.type == 14 /* miMATRIX */)
      check_v5_array(path, value.data, value.bytes, at + 8 + value.offset, little, depth + 1);
  }
}

// matio reads a truncated v5 file without complaint (the missing bytes are
// left as they were), so we walk the top-level data elements ourselves: each
// must end within the file.
void check_v5_complete(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  char header[128];
  if (!f.read(header, sizeof header)) return;  // not v5: matio has decided already
  const auto u16 = [&](int off) { return uint16_t(uint8_t(header[off]) | (uint8_t(header[off + 1]) << 8)); };
  const bool little = header[126] == 'I' && header[127] == 'M';
  const bool big = header[126] == 'M' && header[127] == 'I';
  if (!little && !big) return;
  const uint16_t version = little ? u16(124) : uint16_t((u16(124) >> 8) | (u16(124) << 8));
  if (version != 0x0100) return;  // v7.3 (HDF5) files are checked by the HDF5 library
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return;
  uint64_t offset = 128;
  while (offset < size) {
    unsigned char tag[8];
    f.seekg(std::streamoff(offset));
    if (!f.read(reinterpret_cast<char*>(tag), 8))
      throw InputError(detail::concat(path.string(), ": truncated .mat file (incomplete element tag at byte ", offset,
                                      " of ", size, ")"));
    auto word = [&](int at) {
      return little ? uint32_t(tag[at]) | uint32_t(tag[at + 1]) << 8 | uint32_t(tag[at + 2]) << 16 |
                          uint32_t(tag[at + 3]) << 24
                    : uint32_t(tag[at + 3]) | uint32_t(tag[at + 2]) << 8 | uint32_t(tag[at + 1]) << 16 |
                          uint32_t(tag[at]) << 24;
    };
    const uint32_t type = word(0);
    uint64_t length = 8;
    if ((type >> 16) == 0) {  // long format; small-format elements fit in their 8-byte tag
      const uint64_t bytes = word(4);
      length = 8 + (type == 15 /* miCOMPRESSED */ ? bytes : (bytes + 7) / 8 * 8);
    }
    if (offset + length > size)
      throw InputError(detail::concat(path.string(), ": truncated .mat file (the element at byte ", offset, " needs ",
                                      length, " bytes, the file ends at byte ", size, ")"));
    if (type == 14 /* miMATRIX */) {
      std::vector<unsigned char> payload(length - 8);
      if (!f.read(reinterpret_cast<char*>(payload.data()), std::streamsize(payload.size()))) return;
      check_v5_array(path, payload.data(), payload.size(), offset, little, 0);
    }
    offset += length;
  }
}

// Only MAT v5 and v7.3 files (what MATLAB, scipy and the MPII toolkit write)
// are handed to matio: its v4 reader, tried for any other file, allocates
// whatever name length the first bytes declare (gigabytes for a corrupt
// file). Both formats start with a 128-byte header ending in a version and
// the "IM"/"MI" byte-order mark.
void check_mat_header(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char header[128];
  const bool complete = bool(f.read(reinterpret_cast<char*>(header), sizeof header));
  const bool little = complete && header[126] == 'I' && header[127] == 'M';
  const bool big = complete && header[126] == 'M' && header[127] == 'I';
  const unsigned version = little ? header[125] : header[124];
  if (!(little || big) || (version != 1 && version != 2))
    throw InputError(detail::concat(path.string(),
                                    ": not a MATLAB v5 or v7.3 .mat file (no MAT-file header; MAT v4 files "
                                    "are not supported)"));
}

}  // namespace

std::string matio_detail() {
  if (g_last_matio_message.empty()) return "";
  return " (matio: " + g_last_matio_message + ")";
}



MatFile open_for_reading(const std::filesystem::path& path) {
  install_matio_log();
  g_last_matio_message.clear();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw InputError(detail::concat(path.string(), ": no such file"));
  if (std::filesystem::is_directory(path, ec))
    throw InputError(detail::concat(path.string(), ": is a directory, not a .mat file"));
  check_input_file(path, ".mat", kMaxAnnotationFileBytes);  // a FIFO or device would block or never end
  check_mat_header(path);
  MatFile mat(Mat_Open(path.string().c_str(), MAT_ACC_RDONLY));
  if (!mat)
    throw InputError(detail::concat(path.string(), ": not a readable MATLAB .mat file", matio_detail()));
  check_v5_complete(path);
  return mat;
}

std::string dims_str(const matvar_t* v) {
  std::ostringstream os;
  for (int i = 0; i < v->rank; ++i) os << (i ? "x" : "") << v->dims[i];
  return os.str();
}

std::string class_name(matio_classes c) {
  switch (c) {
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_CHAR: return "char";
    case MAT_C_SPARSE: return "sparse";
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    default: return "unknown class";
  }
}

// Reads a variable; a missing or unreadable one is an InputError that lists
// what the file does hold.
MatVar read_variable(mat_t* mat, const std::filesystem::path& path, const char* name) {
  g_last_matio_message.clear();
  MatVar var(Mat_VarRead(mat, name));
  if (var) return var;
  const std::string read_detail = matio_detail();
  std::vector<std::string> names;
  Mat_Rewind(mat);
  while (matvar_t* info = Mat_VarReadNextInfo(mat)) {
    if (info->name != nullptr) names.emplace_back(info->name);
    Mat_VarFree(info);
  }
  bool present = false;
  std::string listing;
  for (const auto& n : names) {
    present = present || n == name;
    listing += (listing.empty() ? "" : ", ") + n;
  }
  if (present)
    throw InputError(detail::concat(path.string(), ": variable '", name,
                                    "' could not be read (truncated or corrupt file)", read_detail));
  throw InputError(detail::concat(path.string(), ": missing variable '", name, "' (variables found: ",
                                  listing.empty() ? "none" : listing, ")", read_detail));
}

// The elements of a real numeric array as doubles, in MATLAB (column-major) order.
std::vector<double> numeric_values(const matvar_t* v, const std::filesystem::path& path, const char* name) {
  if (v->isComplex)
    throw InputError(detail::concat(path.string(), ": variable '", name, "' is complex, expected a real array"));
  size_t count = 1;
  for (int i = 0; i < v->rank; ++i) count *= v->dims[i];
  std::vector<double> out(count);
  if (count > 0 && v->data == nullptr)
    throw InputError(detail::concat(path.string(), ": variable '", name, "' has no data"));
  auto copy = [&](auto* p) {
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<double>(p[i]);
  };
  switch (v->class_type) {
    case MAT_C_DOUBLE: copy(static_cast<const double*>(v->data)); break;
    case MAT_C_SINGLE: copy(static_cast<const float*>(v->data)); break;
    case MAT_C_INT8: copy(static_cast<const int8_t*>(v->data)); break;
    case MAT_C_UINT8: copy(static_cast<const uint8_t*>(v->data)); break;
    case MAT_C_INT16: copy(static_cast<const int16_t*>(v->data)); break;
    case MAT_C_UINT16: copy(static_cast<const uint16_t*>(v->data)); break;
    case MAT_C_INT32: copy(static_cast<const int32_t*>(v->data)); break;
    case MAT_C_UINT32: copy(static_cast<const uint32_t*>(v->data)); break;
    case MAT_C_INT64: copy(static_cast<const int64_t*>(v->data)); break;
    case MAT_C_UINT64: copy(static_cast<const uint64_t*>(v->data)); break;
    default:
      throw InputError(detail::concat(path.string(), ": variable '", name, "' is a ", class_name(v->class_type),
                                      " array, expected a numeric array"));
  }
  return out;
}

// Checks the variable's dimensions: expected[i] < 0 accepts any size there
// (the person count N). Trailing singleton dimensions are ignored, so a
// 16x2x1 array (one person, as MATLAB stores it) matches 16x2xN.
void check_dims(const matvar_t* v, const std::filesystem::path& path, const char* name,
                const std::vector<long>& expected, const char* expected_str) {
  bool ok = v->rank >= 2;
  for (int i = 0; ok && i < v->rank; ++i) {
    if (i < int(expected.size())) {
      ok = expected[i] < 0 || size_t(expected[i]) == v->dims[i];
    } else {
      ok = v->dims[i] == 1;
    }
  }
  if (!ok)
    throw InputError(detail::concat(path.string(), ": variable '", name, "' has shape ", dims_str(v),
                                    ", expected ", expected_str));
}

size_t dim_or_one(const matvar_t* v, int i) { return i < v->rank ? v->dims[i] : 1; }

std::string char_array_string(const matvar_t* v) {
  if (v->class_type != MAT_C_CHAR || v->data == nullptr) return {};
  size_t count = 1;
  for (int i = 0; i < v->rank; ++i) count *= v->dims[i];
  // matio sizes a UTF-8 char array's buffer by its data element, not by its
  // dimensions: a corrupt file can hold fewer characters than it declares.
  if (v->data_size > 0) count = std::min(count, v->nbytes / size_t(v->data_size));
  std::string s;
  if (v->data_size == 2) {
    const auto* p = static_cast<const uint16_t*>(v->data);
    for (size_t i = 0; i < count; ++i) s.push_back(p[i] < 128 ? char(p[i]) : '?');
  } else {
    const auto* p = static_cast<const char*>(v->data);
    s.assign(p, p + count);
  }
  return s;
}

MatFile create_for_writing(const std::filesystem::path& path) {
  install_matio_log();
  g_last_matio_message.clear();
  MatFile mat(Mat_CreateVer(path.string().c_str(), nullptr, MAT_FT_MAT5));
  if (!mat) throw Error(detail::concat(path.string(), ": cannot create .mat file", matio_detail()));
  return mat;
}

void write_array(mat_t* mat, const std::filesystem::path& path, const char* name, matio_classes cls,
                 matio_types type, std::vector<size_t> dims, void* data) {
  MatVar var(Mat_VarCreate(name, cls, type, int(dims.size()), dims.data(), data, MAT_F_DONT_COPY_DATA));
  if (!var || Mat_VarWrite(mat, var.get(), MAT_COMPRESSION_NONE) != 0)
    throw Error(detail::concat(path.string(), ": cannot write variable '", name, "'", matio_detail()));
}

}  // namespace posenet::eval::mat5
