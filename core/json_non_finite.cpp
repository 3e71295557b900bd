#include "core/json_non_finite.h"

namespace posenet {

namespace {
// A control character no real annotation string starts with.
constexpr std::string_view kMarker = "\x01non-finite:";
}  // namespace

std::string quote_non_finite_literals(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view word : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, word.size(), word) == 0) {
        out += "\"\\u0001non-finite:" + std::string(word) + "\"";
        i += word.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

std::optional<std::string> non_finite_literal(const std::string& parsed) {
  if (parsed.rfind(kMarker, 0) != 0) return std::nullopt;
  return parsed.substr(kMarker.size());
}

}  // namespace posenet
