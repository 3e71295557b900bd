#include "core/json_entries.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/input_file.h"
#include "core/json_non_finite.h"

namespace posenet {

using nlohmann::json;

json read_json_file(const std::filesystem::path& path, const char* kind) {
  // A missing file, a FIFO (it would block), a device (it never ends) or a
  // directory are refused before anything is opened.
  check_input_file(path, kind, kMaxAnnotationFileBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(detail::concat(path.string(), ": cannot open ", kind, " file"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(detail::concat(path.string(), ": read error"));
  try {
    return json::parse(quote_non_finite_literals(text));
  } catch (const json::exception& e) {
    throw InputError(detail::concat(path.string(), ": not valid JSON: ", e.what()));
  }
}

double json_number(const json& v, std::string_view what) {
  if (v.is_string())
    if (const auto literal = non_finite_literal(v.get<std::string>())) bad_entry(what, " is not finite (", *literal, ")");
  if (!v.is_number()) bad_entry(what, " must be a number, got ", v.type_name());
  const double x = v.get<double>();
  if (!std::isfinite(x)) bad_entry(what, " is not finite (", v.dump(), ")");
  return x;
}

int64_t json_integer(const json& v, std::string_view what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  const double x = json_number(v, what);
  if (x != std::floor(x) || std::abs(x) > 9e15) bad_entry(what, " must be an integer, got ", v.dump());
  return int64_t(x);
}

const json& json_field(const json& obj, const char* key) {
  if (!obj.is_object()) bad_entry("must be an object, got ", obj.type_name());
  auto it = obj.find(key);
  if (it == obj.end()) bad_entry("missing field '", key, "'");
  return *it;
}

const json& json_list_field(const json& obj, const char* key) {
  const json& v = json_field(obj, key);
  if (!v.is_array()) bad_entry("'", key, "' must be a list, got ", v.type_name());
  return v;
}

void detail::entry_failed(const std::filesystem::path& path, const char* entry_word, size_t index,
                          const std::string& problem, const EntrySkipping& skipping) {
  std::string reason = concat(path.string(), ": ", entry_word, " ", index, ": ", problem);
  if (!skipping.skip_bad) throw InputError(reason + " (--skip-bad drops such entries)");
  if (skipping.log) std::cerr << "posenet: warning: skipping " << reason << "\n";
  if (skipping.reasons) skipping.reasons->push_back(std::move(reason));
}

}  // namespace posenet
