// Image decoding (JPEG through libjpeg-turbo, then stb_image; PNG through stb_image): any byte string is either
// refused with an InputError naming the file or decoded to a non-empty RGB
// image whose pixel buffer matches its size.
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "train/image.h"

using namespace posenet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kName = "fuzz-input.jpg";
  try {
    const train::Image image = train::decode_image(data, size, kName);
    if (image.empty() || image.channels != 3) std::abort();
    if (image.pixels.size() != size_t(image.width) * size_t(image.height) * 3) std::abort();
    // Touch the first and last pixel (ASan checks the buffer).
    volatile uint8_t sink = *image.at(0, 0);
    sink = sink ^ image.at(image.width - 1, image.height - 1)[2];
  } catch (const InputError& e) {
    fuzz::check_error_names(e, kName);
  }
  return 0;
}
