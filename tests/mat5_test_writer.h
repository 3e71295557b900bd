// A minimal MATLAB v5 writer for the tests: it builds .mat files byte by byte
// (independently of matio) so the readers can be fed hand-made and malformed
// files, and so files written by posenet can be checked at the byte level.
#pragma once
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace posenet::testing::mat5 {

// MAT v5 array classes and data types (MATLAB's "MAT-File Format").
enum Class : uint8_t { kCell = 1, kChar = 4, kDouble = 6, kSingle = 7, kUint8 = 9 };
enum Type : uint32_t { kMiInt8 = 1, kMiUint8 = 2, kMiUint16 = 4, kMiInt32 = 5, kMiUint32 = 6, kMiSingle = 7,
                       kMiDouble = 9, kMiMatrix = 14 };

struct Var {
  std::string name;
  Class cls = kDouble;
  std::vector<uint32_t> dims;
  std::vector<double> values;        // numeric classes, column-major
  std::string text;                  // kChar
  std::vector<Var> cells;            // kCell, column-major
};

inline void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
inline void pad8(std::vector<uint8_t>& b) {
  while (b.size() % 8) b.push_back(0);
}
inline void element(std::vector<uint8_t>& b, uint32_t type, const std::vector<uint8_t>& data) {
  put_u32(b, type);
  put_u32(b, uint32_t(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  pad8(b);
}

inline std::vector<uint8_t> matrix(const Var& v) {
  std::vector<uint8_t> body;
  put_u32(body, kMiUint32);
  put_u32(body, 8);
  put_u32(body, v.cls);  // flags byte 0: class
  put_u32(body, 0);
  std::vector<uint8_t> dims;
  for (uint32_t d : v.dims) put_u32(dims, d);
  element(body, kMiInt32, dims);
  element(body, kMiInt8, std::vector<uint8_t>(v.name.begin(), v.name.end()));
  std::vector<uint8_t> data;
  if (v.cls == kCell) {
    for (const Var& c : v.cells) {
      std::vector<uint8_t> m = matrix(c);
      body.insert(body.end(), m.begin(), m.end());
    }
  } else if (v.cls == kChar) {
    for (char c : v.text) data.push_back(uint8_t(c)), data.push_back(0);
    element(body, kMiUint16, data);
  } else if (v.cls == kDouble) {
    for (double x : v.values) {
      uint8_t raw[8];
      std::memcpy(raw, &x, 8);
      data.insert(data.end(), raw, raw + 8);
    }
    element(body, kMiDouble, data);
  } else if (v.cls == kSingle) {
    for (double x : v.values) {
      const float f = float(x);
      uint8_t raw[4];
      std::memcpy(raw, &f, 4);
      data.insert(data.end(), raw, raw + 4);
    }
    element(body, kMiSingle, data);
  } else {  // kUint8
    for (double x : v.values) data.push_back(uint8_t(x));
    element(body, kMiUint8, data);
  }
  std::vector<uint8_t> out;
  put_u32(out, kMiMatrix);
  put_u32(out, uint32_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline void write(const std::filesystem::path& path, const std::vector<Var>& vars) {
  std::vector<uint8_t> b(128, ' ');
  const std::string text = "MATLAB 5.0 MAT-file, written by the posenet tests";
  std::memcpy(b.data(), text.data(), text.size());
  std::memset(b.data() + 116, 0, 8);
  b[124] = 0x00;
  b[125] = 0x01;  // version 0x0100, little endian
  b[126] = 'I';
  b[127] = 'M';
  for (const Var& v : vars) {
    std::vector<uint8_t> m = matrix(v);
    b.insert(b.end(), m.begin(), m.end());
  }
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The standard ground-truth variables for n persons, every joint visible at
// (10 + j, 20 + j), head box (0,0)-(30,40).
inline std::vector<Var> ground_truth_vars(uint32_t n) {
  static const char* names[16] = {"rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
                                  "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"};
  Var joints{"dataset_joints", kCell, {1, 16}, {}, {}, {}};
  for (const char* s : names) joints.cells.push_back(Var{"", kChar, {1, uint32_t(std::strlen(s))}, {}, s, {}});
  Var missing{"jnt_missing", kUint8, {16, n}, std::vector<double>(16 * n, 0.0), {}, {}};
  Var pos{"pos_gt_src", kDouble, {16, 2, n}, std::vector<double>(32 * n), {}, {}};
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = 0; j < 16; ++j) {
      pos.values[j + 16 * (0 + 2 * i)] = 10.0 + j;
      pos.values[j + 16 * (1 + 2 * i)] = 20.0 + j;
    }
  Var boxes{"headboxes_src", kDouble, {2, 2, n}, std::vector<double>(4 * n), {}, {}};
  for (uint32_t i = 0; i < n; ++i) {
    boxes.values[1 + 2 * (0 + 2 * i)] = 30.0;
    boxes.values[1 + 2 * (1 + 2 * i)] = 40.0;
  }
  return {joints, missing, pos, boxes};
}

}  // namespace posenet::testing::mat5
