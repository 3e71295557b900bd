// Python's json module writes NaN, Infinity and -Infinity for non-finite
// floats; strict JSON (and so nlohmann::json) has no such literals. Before
// parsing, they become marker strings, so that the reader can name the entry
// and field holding one instead of failing on the whole file.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace posenet {

// `text` with every NaN, Infinity and -Infinity outside strings replaced by
// a marker string.
std::string quote_non_finite_literals(const std::string& text);

// The literal ("NaN", "Infinity", "-Infinity") a parsed string stands for,
// when it is such a marker.
std::optional<std::string> non_finite_literal(const std::string& parsed);

}  // namespace posenet
