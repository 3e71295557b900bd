// 8-bit RGB images: decoding (JPEG/PNG through stb_image) and encoding.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace posenet::train {

// Interleaved RGB, row-major, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;

  Image() = default;
  Image(int w, int h, uint8_t fill = 0) : width(w), height(h), pixels(size_t(w) * size_t(h) * 3, fill) {}
  bool empty() const { return width == 0 || height == 0; }
  uint8_t* at(int x, int y) { return pixels.data() + (size_t(y) * size_t(width) + size_t(x)) * 3; }
  const uint8_t* at(int x, int y) const { return pixels.data() + (size_t(y) * size_t(width) + size_t(x)) * 3; }
};

// Decodes a JPEG or PNG (any channel count, converted to RGB). Throws
// InputError naming the file when it is missing, unreadable, empty, corrupt
// or has zero size.
Image read_image(const std::filesystem::path& path);
// The same from bytes already in memory; name is used in error messages.
Image decode_image(const uint8_t* data, size_t size, const std::string& name);

// What an image's header declares, read without decoding the pixels.
struct ImageInfo {
  int width = 0;
  int height = 0;
};
// Reads only the header (stb_image's stbi_info): throws InputError naming the
// file when it is missing, unreadable, empty, not a JPEG/PNG, or declares a
// zero or absurd size, as read_image would. A corrupt body behind a valid
// header passes here and fails in read_image.
ImageInfo read_image_header(const std::filesystem::path& path);

// Encoders; throw Error naming the file when it cannot be written.
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);
void write_png(const std::filesystem::path& path, const Image& image);
// Picks the encoder from the extension (.jpg/.jpeg or .png).
void write_image(const std::filesystem::path& path, const Image& image);

}  // namespace posenet::train
