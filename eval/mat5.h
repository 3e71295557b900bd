// The byte-level side of MATLAB .mat files, apart from what the MPII files
// mean (eval/mat_io.h): opening a file safely (the header, the completeness
// and the declared sizes of a v5 file are checked before matio allocates
// anything), reading a variable as doubles, checking its shape, and writing
// arrays through the atomic-write helper. Errors name the file and the
// variable. Used only inside eval/.
#pragma once
#include <matio.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/atomic_file.h"

namespace posenet::eval::mat5 {

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

// " (matio: <its last message>)" or "" when matio said nothing.
std::string matio_detail();

// Opens a MAT v5 or v7.3 file for reading; InputError naming the file when it
// is absent, a directory, of another format, truncated or declares more
// than it holds.
MatFile open_for_reading(const std::filesystem::path& path);
MatFile create_for_writing(const std::filesystem::path& path);

std::string dims_str(const matvar_t* v);       // "16x2x5"
std::string class_name(matio_classes c);       // "double", "cell", ...

// Reads a variable; a missing or unreadable one is an InputError that lists
// what the file does hold.
MatVar read_variable(mat_t* mat, const std::filesystem::path& path, const char* name);

// The elements of a real numeric array as doubles, in MATLAB (column-major) order.
std::vector<double> numeric_values(const matvar_t* v, const std::filesystem::path& path, const char* name);

// Checks the variable's dimensions: expected[i] < 0 accepts any size there.
// Trailing singleton dimensions are ignored.
void check_dims(const matvar_t* v, const std::filesystem::path& path, const char* name,
                const std::vector<long>& expected, const char* expected_str);
size_t dim_or_one(const matvar_t* v, int i);
std::string char_array_string(const matvar_t* v);  // "" unless a char array

void write_array(mat_t* mat, const std::filesystem::path& path, const char* name, matio_classes cls,
                 matio_types type, std::vector<size_t> dims, void* data);

// matio writes the temporary file of the atomic-write helper, which is then
// fsynced and renamed into place; fill(mat, temporary) writes the variables.
template <typename Fn>
void write_atomically(const std::filesystem::path& path, Fn&& fill) {
  write_file_atomically(path, [&](const std::filesystem::path& tmp) {
    MatFile mat = create_for_writing(tmp);
    fill(mat.get(), tmp);
  });
}

}  // namespace posenet::eval::mat5
