#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "test_util.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;
using testing::random_tensor;

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void append_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// A file image: the header text (its length written in front) then `buffer`
// bytes of data.
std::vector<uint8_t> image(const std::string& header, size_t buffer, uint8_t fill = 0xab) {
  std::vector<uint8_t> out;
  append_u64(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), buffer, fill);
  return out;
}

TEST(Safetensors, RoundTripsEveryFloatDtypeAndMetadata) {
  auto dir = testing::temp_dir("st_roundtrip");
  Generator gen(3);
  std::map<std::string, Tensor> tensors;
  for (DType dt : {DType::F32, DType::F64, DType::BF16, DType::F16})
    tensors["t." + std::string(dtype_safetensors_name(dt))] = random_tensor({2, 3, 5}, gen, dt);
  tensors["scalar"] = Tensor::scalar(4.25);
  tensors["empty"] = Tensor::zeros({0, 7});
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode ✓"}};
  fs::path path = dir / "a.safetensors";
  safetensors::save(path, tensors, meta);

  auto bytes = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header is padded to a multiple of 8";

  std::map<std::string, std::string> meta_back;
  auto back = safetensors::load(path, &meta_back);
  EXPECT_EQ(meta_back, meta);
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_EQ(back[name].dtype(), t.dtype()) << name;
    EXPECT_EQ(back[name].shape(), t.shape()) << name;
    EXPECT_EQ(back[name].to_vector(), t.to_vector()) << name;  // bit-exact
  }
  // Deterministic bytes; the buffer holds the tensors in name order.
  EXPECT_EQ(safetensors::serialize(tensors, meta), bytes);
  auto file = safetensors::File::read(path);
  const uint8_t* previous = nullptr;
  for (const auto& e : file.entries()) {
    if (previous) {
      EXPECT_GE(e.data, previous) << e.name;
    }
    previous = e.data;
  }
}

TEST(Safetensors, ReadsEveryDtypeAsRawEntries) {
  auto dir = testing::temp_dir("st_raw");
  std::map<std::string, safetensors::RawTensor> raw;
  const char* dtypes[] = {"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64",
                          "F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"};
  for (const char* dt : dtypes) {
    size_t size = safetensors::element_size(dt);
    ASSERT_GT(size, 0u) << dt;
    safetensors::RawTensor r{dt, {3}, std::vector<uint8_t>(3 * size)};
    for (size_t i = 0; i < r.bytes.size(); ++i) r.bytes[i] = uint8_t(i * 7 + size);
    raw[std::string("x.") + dt] = r;
  }
  fs::path path = dir / "raw.safetensors";
  safetensors::save(path, {}, {}, raw);
  auto file = safetensors::File::read(path);
  ASSERT_EQ(file.entries().size(), raw.size());
  for (const auto& [name, r] : raw) {
    const auto& e = file.entry(name);
    EXPECT_EQ(e.dtype, r.dtype);
    EXPECT_EQ(e.shape, r.shape);
    ASSERT_EQ(e.nbytes, r.bytes.size());
    EXPECT_EQ(std::vector<uint8_t>(e.data, e.data + e.nbytes), r.bytes) << name;
  }
  // Asking a non-float entry for a Tensor is a clear error.
  try {
    file.tensor("x.I64");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("I64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(file.entry("nope"), InputError);
  EXPECT_FALSE(file.contains("nope"));
  EXPECT_TRUE(file.contains("x.U8"));
}

TEST(Safetensors, ReadsTheSpecificationExampleBytes) {
  // The example of the format's README: one I32 [2, 2] tensor and metadata,
  // here with the header padded by spaces as writers may do.
  std::string header = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}})";
  header.append(5, ' ');
  std::vector<uint8_t> bytes;
  append_u64(bytes, header.size());
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (int32_t v : {1, -2, 300, 70000})
    for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(uint32_t(v) >> (8 * i)));
  auto file = safetensors::File::parse(bytes, "example");
  EXPECT_EQ(file.metadata().at("foo"), "bar");
  const auto& e = file.entry("test");
  EXPECT_EQ(e.dtype, "I32");
  EXPECT_EQ(e.shape, (Shape{2, 2}));
  ASSERT_EQ(e.nbytes, 16u);
  int32_t values[4];
  std::memcpy(values, e.data, 16);
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[1], -2);
  EXPECT_EQ(values[2], 300);
  EXPECT_EQ(values[3], 70000);

  // And a float one converted to a Tensor: F32 [2] = {1.5, -2}.
  std::string h2 = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::vector<uint8_t> b2;
  append_u64(b2, h2.size());
  b2.insert(b2.end(), h2.begin(), h2.end());
  for (uint8_t byte : {0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0}) b2.push_back(byte);
  auto t = safetensors::File::parse(b2, "example2").tensor("w");
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1.5, -2.0}));
}

struct Malformed {
  std::string label;
  std::vector<uint8_t> bytes;
  std::string phrase;  // part of the expected message
};

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

TEST(Safetensors, RefusesEveryMalformedFileNamingIt) {
  auto dir = testing::temp_dir("st_malformed");
  std::vector<Malformed> cases;
  cases.push_back({"short", {1, 2, 3}, "shorter than the 8-byte"});
  {
    std::vector<uint8_t> b;
    append_u64(b, 1000);
    for (char c : std::string("{}")) b.push_back(uint8_t(c));
    cases.push_back({"header_longer_than_file", b, "exceeds"});
  }
  {
    std::vector<uint8_t> b;
    append_u64(b, 200'000'000);
    b.insert(b.end(), 64, ' ');
    cases.push_back({"absurd_header", b, "absurd"});
  }
  cases.push_back({"invalid_json", image(R"({"a": )", 0), "not valid JSON"});
  cases.push_back({"invalid_utf8", image("{\"a\xff\": 1}", 0), "not valid JSON"});
  cases.push_back({"not_object", image("[1, 2]", 0), "not a JSON object"});
  cases.push_back({"entry_not_object", image(R"({"a": 3})", 0), "is not an object"});
  cases.push_back({"missing_dtype", image(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), "'dtype'"});
  cases.push_back({"missing_shape", image(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4), "'shape'"});
  cases.push_back({"missing_offsets", image(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "'data_offsets'"});
  cases.push_back({"dtype_not_string", image(R"({"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4), "'dtype'"});
  cases.push_back({"shape_not_array", image(R"({"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4), "'shape'"});
  cases.push_back({"offsets_not_array", image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":{"b":0}}})", 4),
                   "'data_offsets'"});
  cases.push_back({"unknown_dtype", image(R"({"a":)" + entry("F33", "[1]", "[0,4]") + "}", 4), "unknown dtype 'F33'"});
  cases.push_back({"negative_shape", image(R"({"a":)" + entry("F32", "[-1]", "[0,4]") + "}", 4), "non-negative integer"});
  cases.push_back({"fractional_shape", image(R"({"a":)" + entry("F32", "[1.5]", "[0,4]") + "}", 4), "non-negative integer"});
  cases.push_back({"string_shape", image(R"({"a":)" + entry("F32", R"(["1"])", "[0,4]") + "}", 4), "non-negative integer"});
  cases.push_back({"offsets_one", image(R"({"a":)" + entry("F32", "[1]", "[0]") + "}", 4), "not [begin, end]"});
  cases.push_back({"offsets_three", image(R"({"a":)" + entry("F32", "[1]", "[0,4,4]") + "}", 4), "not [begin, end]"});
  cases.push_back({"offsets_negative", image(R"({"a":)" + entry("F32", "[1]", "[-4,0]") + "}", 4), "not [begin, end]"});
  cases.push_back({"offsets_strings", image(R"({"a":)" + entry("F32", "[1]", R"(["0","4"])") + "}", 4),
                   "not [begin, end]"});
  cases.push_back({"begin_after_end", image(R"({"a":)" + entry("F32", "[1]", "[4,0]") + "}", 4), "begin > end"});
  cases.push_back({"size_mismatch", image(R"({"a":)" + entry("F32", "[2]", "[0,4]") + "}", 4), "needs 8"});
  cases.push_back({"out_of_range", image(R"({"a":)" + entry("F32", "[2]", "[4,12]") + "}", 8), "past the end"});
  cases.push_back({"overlap",
                   image(R"({"a":)" + entry("F32", "[2]", "[0,8]") + R"(,"b":)" + entry("F32", "[2]", "[4,12]") + "}", 12),
                   "overlaps"});
  cases.push_back({"gap",
                   image(R"({"a":)" + entry("F32", "[1]", "[0,4]") + R"(,"b":)" + entry("F32", "[1]", "[8,12]") + "}", 12),
                   "gap"});
  cases.push_back({"leading_gap", image(R"({"a":)" + entry("F32", "[1]", "[4,8]") + "}", 8), "gap"});
  cases.push_back({"trailing_bytes", image(R"({"a":)" + entry("F32", "[1]", "[0,4]") + "}", 8), "trailing bytes"});
  cases.push_back({"duplicate_key",
                   image(R"({"a":)" + entry("F32", "[1]", "[0,4]") + R"(,"a":)" + entry("F32", "[1]", "[4,8]") + "}", 8),
                   "'a' twice"});
  cases.push_back({"metadata_not_string", image(R"({"__metadata__":{"k":1}})", 0), "not a string"});
  cases.push_back({"metadata_not_object", image(R"({"__metadata__":[1]})", 0), "__metadata__ is not an object"});
  {
    auto good = safetensors::serialize({{"w", Tensor::zeros({4})}});
    ASSERT_GT(good.size(), 3u);
    good.erase(good.end() - 3, good.end());
    cases.push_back({"truncated_data", good, "past the end"});
  }

  for (const auto& c : cases) {
    fs::path path = dir / (c.label + ".safetensors");
    write_bytes(path, c.bytes);
    try {
      safetensors::File::read(path);
      ADD_FAILURE() << c.label << ": accepted";
    } catch (const InputError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path.string()), std::string::npos) << c.label << ": " << msg;
      EXPECT_NE(msg.find(c.phrase), std::string::npos) << c.label << ": " << msg;
    }
  }
  // A missing file is an InputError naming it too.
  try {
    safetensors::File::read(dir / "missing.safetensors");
    ADD_FAILURE() << "missing file accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, ZeroSizedEntriesAndEmptyFileAreValid) {
  auto f = safetensors::File::parse(image("{}", 0), "empty");
  EXPECT_TRUE(f.entries().empty());
  auto g = safetensors::File::parse(
      image(R"({"a":)" + entry("F32", "[0,3]", "[0,0]") + R"(,"b":)" + entry("F32", "[1]", "[0,4]") + "}", 4), "zero");
  EXPECT_EQ(g.tensor("a").shape(), (Shape{0, 3}));
  EXPECT_EQ(g.entry("b").nbytes, 4u);
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Safetensors, FailedWriteLeavesExistingFileIntact) {
  auto dir = testing::temp_dir("st_atomic");
  fs::path path = dir / "ckpt.safetensors";
  safetensors::save(path, {{"w", Tensor::full({4}, 1.0)}});
  const auto original = read_bytes(path);

  // 1. The parent directory does not exist.
  fs::path orphan = dir / "no_such_dir" / "x.safetensors";
  try {
    safetensors::save(orphan, {{"w", Tensor::zeros({4})}});
    ADD_FAILURE() << "write into a missing directory succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(orphan.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }

  // 2. The disk "fills up" mid-write: a file size limit makes write() fail
  //    with EFBIG (works as root too, unlike a read-only directory).
  {
    struct rlimit old_limit {};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    auto old_handler = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    bool threw = false;
    std::string msg;
    try {
      safetensors::save(path, {{"w", Tensor::zeros({100000})}});
    } catch (const Error& e) {
      threw = true;
      msg = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(threw) << "write past the file size limit succeeded";
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("file size limit"), std::string::npos) << msg;
  }
  EXPECT_EQ(read_bytes(path), original);
  EXPECT_EQ(leftovers(dir), std::vector<std::string>{"ckpt.safetensors"}) << "temporary file left behind";

  // 3. A read-only directory (root ignores permissions: checked for others).
  if (geteuid() != 0) {
    ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
    EXPECT_THROW(safetensors::save(path, {{"w", Tensor::zeros({4})}}), Error);
    chmod(dir.c_str(), 0755);
    EXPECT_EQ(read_bytes(path), original);
  }

  // 4. The target is a directory.
  fs::create_directory(dir / "sub");
  EXPECT_THROW(safetensors::save(dir / "sub", {{"w", Tensor::zeros({4})}}), Error);
  EXPECT_EQ(leftovers(dir), (std::vector<std::string>{"ckpt.safetensors", "sub"}));

  // A successful write replaces the file.
  safetensors::save(path, {{"w", Tensor::full({4}, 2.0)}});
  EXPECT_EQ(safetensors::load(path).at("w").to_vector(), (std::vector<double>{2, 2, 2, 2}));
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRefusesBadNames) {
  EXPECT_THROW(safetensors::serialize({{"__metadata__", Tensor::zeros({1})}}), Error);
  EXPECT_THROW(safetensors::serialize({{"", Tensor::zeros({1})}}), Error);
  EXPECT_THROW(safetensors::serialize({{"a", Tensor::zeros({1})}}, {}, {{"a", {"F32", {1}, std::vector<uint8_t>(4)}}}),
               Error);
  EXPECT_THROW(safetensors::serialize({}, {}, {{"a", {"F32", {2}, std::vector<uint8_t>(4)}}}), Error);
}

}  // namespace
}  // namespace posenet
