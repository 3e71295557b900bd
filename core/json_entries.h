// Reading JSON data files made of entries (annotation lists, COCO files,
// detections, results): one error convention for all of them. A problem with
// one entry throws EntryError from inside the entry's parser; for_each_entry
// turns it into an InputError naming the file and the entry, or, when bad
// entries are to be skipped, into a skip reason.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace posenet {

struct EntryError {
  std::string what;
};

template <typename... Args>
[[noreturn]] void bad_entry(Args&&... args) {
  throw EntryError{detail::concat(std::forward<Args>(args)...)};
}

// The parsed file; `kind` names it in errors ("annotation": "annotation
// file not found"). Refuses
// what is not a regular file of a sane size before opening it, and accepts
// Python's NaN/Infinity literals (core/json_non_finite.h) so that the entry
// holding one can be named.
nlohmann::json read_json_file(const std::filesystem::path& path, const char* kind);

// Field readers: each throws EntryError naming `what` or the key.
double json_number(const nlohmann::json& v, std::string_view what);   // finite
int64_t json_integer(const nlohmann::json& v, std::string_view what);  // integral, |x| <= 9e15
const nlohmann::json& json_field(const nlohmann::json& obj, const char* key);
const nlohmann::json& json_list_field(const nlohmann::json& obj, const char* key);

struct EntrySkipping {
  bool skip_bad = false;             // false: the first bad entry is an InputError
  bool log = false;                  // print each skip reason to stderr
  std::vector<std::string>* reasons = nullptr;  // where skip reasons go
};

// Runs parse(entry, index) over a JSON list. An EntryError (or a type
// mismatch nlohmann found first) becomes "<file>: <entry_word> <index>:
// <problem>", thrown or skipped as `skipping` says.
template <typename Parse>
void for_each_entry(const nlohmann::json& list, const std::filesystem::path& path, const char* entry_word,
                    const EntrySkipping& skipping, Parse parse);

namespace detail {
void entry_failed(const std::filesystem::path& path, const char* entry_word, size_t index, const std::string& problem,
                  const EntrySkipping& skipping);
}  // namespace detail

template <typename Parse>
void for_each_entry(const nlohmann::json& list, const std::filesystem::path& path, const char* entry_word,
                    const EntrySkipping& skipping, Parse parse) {
  for (size_t i = 0; i < list.size(); ++i) {
    try {
      parse(list[i], i);
    } catch (const EntryError& e) {
      detail::entry_failed(path, entry_word, i, e.what, skipping);
    } catch (const nlohmann::json::exception& e) {
      detail::entry_failed(path, entry_word, i, e.what(), skipping);
    }
  }
}

}  // namespace posenet
