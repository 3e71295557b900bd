#include "train/image.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <memory>

#include "core/error.h"
#include "core/input_file.h"

#include <turbojpeg.h>

// stb's implementations live in this translation unit only.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_FAILURE_USERMSG
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace posenet::train {

namespace {

// stb_image 2.27 (Debian 12) writes past its Huffman size table when a JPEG
// DHT segment declares more than 256 codes (fixed upstream in 2.28), so
// those tables are checked here first. The walk follows stb's reader: bytes
// between segments are skipped, a segment may run past the end of the file
// (stb reads zeros there), and the segments between the scans of a
// progressive JPEG count too.
void check_jpeg_huffman_tables(const uint8_t* data, size_t size, const std::string& name) {
  // SOI: 0xFF, any further 0xFF fill bytes, 0xD8 (as stb's marker reader).
  size_t pos = 0;
  while (pos < size && data[pos] == 0xFF) ++pos;
  if (pos == 0 || pos >= size || data[pos] != 0xD8) return;  // not a JPEG
  ++pos;
  auto byte = [&](size_t at) -> size_t { return at < size ? data[at] : 0; };
  while (pos + 1 < size) {
    if (data[pos] != 0xFF) { ++pos; continue; }  // stb skips stray bytes, then fill 0xFFs
    while (pos + 1 < size && data[pos + 1] == 0xFF) ++pos;
    if (pos + 1 >= size) return;
    const uint8_t marker = data[pos + 1];
    pos += 2;
    if (marker == 0xD9) return;  // end of image
    if (marker == 0x00 || marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    const size_t length = byte(pos) << 8 | byte(pos + 1);
    if (marker == 0xC4) {  // DHT: tables of {class/id, 16 code counts, the symbols}
      size_t at = pos + 2;
      for (ptrdiff_t left = ptrdiff_t(length) - 2; left > 0;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += byte(at + i);
        if (codes > 256)
          throw InputError(detail::concat(name, ": cannot decode image (corrupt JPEG: a Huffman table declares ",
                                          codes, " codes, at most 256 exist)"));
        at += 17 + codes;
        left -= ptrdiff_t(17 + codes);
      }
    }
    pos += length;
    if (marker == 0xDA) {  // entropy-coded data up to the next marker
      while (pos + 1 < size && !(data[pos] == 0xFF && data[pos + 1] != 0 && (data[pos + 1] < 0xD0 || data[pos + 1] > 0xD7)))
        ++pos;
    }
  }
}

// A few hundred corrupt bytes can declare a huge image that a decoder then
// allocates and "decodes" (seconds and gigabytes per file): sizes no pose
// dataset comes near are refused from the header.
constexpr int64_t kMaxPixels = 50'000'000;

void check_declared_size(int w, int h, const std::string& name) {
  if (int64_t(w) * int64_t(h) > kMaxPixels)
    throw InputError(detail::concat(name, ": image header declares ", w, "x", h,
                                    " pixels, more than the limit of 50 megapixels (corrupt file?)"));
}

bool looks_like_jpeg(const uint8_t* data, size_t size) { return size >= 3 && data[0] == 0xFF && data[1] == 0xD8; }

// JPEGs go through libjpeg-turbo: its SIMD decoder takes about half of
// stb_image's time on MPII's 1280x720 photos, and decoding is what bounds
// the loader (docs/data.md). A warning is corrupt data (a truncated file
// decodes with a grey remainder, stray bytes shift the picture): an error
// naming the file, so a damaged image never trains or scores silently
// (--skip-bad skips it). Fatal errors return false with the reason, for a
// second try through stb_image.
bool decode_jpeg_turbo(const uint8_t* data, size_t size, const std::string& name, Image& image,
                       std::string& error) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) {
    error = "cannot start the JPEG decoder";
    return false;
  }
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, static_cast<unsigned long>(size), &w, &h, &subsampling, &colorspace) != 0) {
    error = tjGetErrorStr2(tj.get());
    return false;
  }
  if (w <= 0 || h <= 0) throw InputError(detail::concat(name, ": image has zero size (", w, "x", h, ")"));
  check_declared_size(w, h, name);
  std::vector<uint8_t> pixels(size_t(w) * size_t(h) * 3);
  if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), pixels.data(), w, 0, h, TJPF_RGB, 0) != 0) {
    if (tjGetErrorCode(tj.get()) == TJERR_WARNING)
      throw InputError(detail::concat(name, ": cannot decode image (corrupt JPEG data: ", tjGetErrorStr2(tj.get()),
                                      ")"));
    error = tjGetErrorStr2(tj.get());
    return false;
  }
  image.width = w;
  image.height = h;
  image.pixels = std::move(pixels);
  return true;
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& name) {
  if (size == 0) throw InputError(detail::concat(name, ": image file is empty"));
  if (size > size_t(INT_MAX)) throw InputError(detail::concat(name, ": image file is too large (", size, " bytes)"));
  // libjpeg-turbo first; what it cannot decode (a CMYK/Adobe JPEG, say)
  // gets a second try through stb_image, which decoded every JPEG before.
  std::string turbo_error;
  if (looks_like_jpeg(data, size)) {
    Image image;
    if (decode_jpeg_turbo(data, size, name, image, turbo_error)) return image;
  }
  check_jpeg_huffman_tables(data, size, name);
  int w = 0, h = 0, channels_in_file = 0;
  if (stbi_info_from_memory(data, int(size), &w, &h, &channels_in_file)) check_declared_size(w, h, name);
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, int(size), &w, &h, &channels_in_file, 3), stbi_image_free);
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    if (!turbo_error.empty())
      throw InputError(detail::concat(name, ": cannot decode image (corrupt JPEG: ", turbo_error, ")"));
    throw InputError(detail::concat(name, ": cannot decode image (", reason ? reason : "unknown reason",
                                    "); expected a JPEG or PNG file"));
  }
  if (w <= 0 || h <= 0) throw InputError(detail::concat(name, ": image has zero size (", w, "x", h, ")"));
  Image image;
  image.width = w;
  image.height = h;
  image.pixels.assign(pixels.get(), pixels.get() + size_t(w) * size_t(h) * 3);
  return image;
}

Image read_image(const std::filesystem::path& path) {
  check_input_file(path, "image", kMaxImageFileBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw InputError(detail::concat(path.string(), ": image file not found"));
    throw InputError(detail::concat(path.string(), ": cannot open image file for reading"));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(detail::concat(path.string(), ": read error"));
  return decode_image(bytes.data(), bytes.size(), path.string());
}

ImageInfo read_image_header(const std::filesystem::path& path) {
  const std::string name = path.string();
  check_input_file(path, "image", kMaxImageFileBytes);
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw InputError(name + ": image file not found");
    throw InputError(name + ": cannot open image file for reading");
  }
  if (std::fgetc(file.get()) == EOF) throw InputError(name + ": image file is empty");
  std::rewind(file.get());
  int w = 0, h = 0, channels_in_file = 0;
  if (!stbi_info_from_file(file.get(), &w, &h, &channels_in_file)) {
    const char* reason = stbi_failure_reason();
    throw InputError(detail::concat(name, ": cannot decode image header (", reason ? reason : "unknown reason",
                                    "); expected a JPEG or PNG file"));
  }
  if (w <= 0 || h <= 0) throw InputError(detail::concat(name, ": image has zero size (", w, "x", h, ")"));
  check_declared_size(w, h, name);
  return {w, h};
}

namespace {
void check_writable(const Image& image, const std::filesystem::path& path) {
  PN_CHECK(image.width > 0 && image.height > 0 && image.channels == 3 &&
               image.pixels.size() == size_t(image.width) * size_t(image.height) * 3,
           path.string(), ": cannot write an image of size ", image.width, "x", image.height, " with ",
           image.pixels.size(), " bytes");
}
}  // namespace

void write_jpeg(const std::filesystem::path& path, const Image& image, int quality) {
  check_writable(image, path);
  PN_CHECK(quality >= 1 && quality <= 100, "JPEG quality must be in [1, 100], got ", quality);
  if (!stbi_write_jpg(path.c_str(), image.width, image.height, 3, image.pixels.data(), quality))
    PN_FAIL(path.string(), ": cannot write JPEG file");
}

void write_png(const std::filesystem::path& path, const Image& image) {
  check_writable(image, path);
  if (!stbi_write_png(path.c_str(), image.width, image.height, 3, image.pixels.data(), image.width * 3))
    PN_FAIL(path.string(), ": cannot write PNG file");
}

void write_image(const std::filesystem::path& path, const Image& image) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".jpg" || ext == ".jpeg") return write_jpeg(path, image);
  if (ext == ".png") return write_png(path, image);
  PN_FAIL(path.string(), ": unknown image extension '", ext, "' (use .jpg, .jpeg or .png)");
}

}  // namespace posenet::train
