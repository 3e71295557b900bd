// posenet-emu-rewrite IN OUT: copies a CUDA source for the emulator,
// rewriting what host C++ cannot express:
//   kernel<<<grid, block[, smem[, stream]]>>>(args)
//     -> ::posenet::emu::launch("kernel", grid, block, smem, stream, kernel, args)
//   extern __shared__ T name[];
//     -> T* const name = static_cast<T*>(::posenet::emu::dynamic_shared_memory());
// The output starts with #include <cuda_runtime.h> (nvcc includes it
// implicitly) and #line 1 "IN", and every rewrite keeps the newlines it
// replaces, so diagnostics and sanitizer reports point at the .cu line.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Marks, for every character, whether it is code (not a comment or a
// string/char literal), so that searches skip those.
std::vector<bool> code_mask(const std::string& s) {
  std::vector<bool> code(s.size(), true);
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') code[i++] = false;
    } else if (s.compare(i, 2, "/*") == 0) {
      const size_t end = s.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? s.size() : end + 2;
      while (i < stop) code[i++] = false;
    } else if (s[i] == '"' || s[i] == '\'') {
      // A raw string R"d(...)d" only needs its delimiter.
      if (s[i] == '"' && i > 0 && s[i - 1] == 'R') {
        const size_t open = s.find('(', i);
        if (open == std::string::npos) break;
        std::string close(1, ')');
        close.append(s, i + 1, open - i - 1);
        close.push_back('"');
        const size_t end = s.find(close, open);
        const size_t stop = end == std::string::npos ? s.size() : end + close.size();
        while (i < stop) code[i++] = false;
        continue;
      }
      const char q = s[i];
      code[i++] = false;
      while (i < s.size() && s[i] != q) {
        if (s[i] == '\\') code[i++] = false;
        if (i < s.size()) code[i++] = false;
      }
      if (i < s.size()) code[i++] = false;
    } else {
      ++i;
    }
  }
  return code;
}

[[noreturn]] void fail(const std::string& file, const std::string& text, size_t pos, const std::string& what) {
  size_t line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) line += text[i] == '\n';
  throw std::runtime_error(file + ":" + std::to_string(line) + ": " + what);
}

// Start of the kernel expression that ends just before `end` (e.g.
// ns::kernel<T, 4>): identifiers, ::, and balanced template arguments.
size_t kernel_start(const std::string& s, size_t end) {
  size_t i = end;
  while (i > 0 && std::isspace(static_cast<unsigned char>(s[i - 1]))) --i;
  for (;;) {
    if (i > 0 && s[i - 1] == '>') {
      int depth = 0;
      do {
        --i;
        if (s[i] == '>') ++depth;
        else if (s[i] == '<') --depth;
      } while (i > 0 && depth > 0);
      while (i > 0 && std::isspace(static_cast<unsigned char>(s[i - 1]))) --i;
    }
    while (i > 0 && is_ident(s[i - 1])) --i;
    if (i >= 2 && s[i - 1] == ':' && s[i - 2] == ':') {
      i -= 2;
      continue;
    }
    return i;
  }
}

// Index of the bracket closing the one at `open`, counting (), [] and {}.
size_t matching(const std::string& s, const std::vector<bool>& code, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (!code[i]) continue;
    if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++depth;
    else if (s[i] == ')' || s[i] == ']' || s[i] == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string::npos;
}

// Splits at top-level commas.
std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : s) {
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (c == ',' && depth == 0) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

bool blank(const std::string& s) {
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    else if (!out.empty() && out.back() != ' ') out += ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string newlines_of(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c == '\n') out += '\n';
  return out;
}

// Names of the __global__ functions declared here that are not templates.
std::set<std::string> plain_kernels_of(const std::string& s, const std::vector<bool>& code) {
  std::set<std::string> names;
  size_t pos = 0;
  while ((pos = s.find("__global__", pos)) != std::string::npos) {
    const size_t at = pos;
    pos += 10;
    if (!code[at]) continue;
    size_t before = at;
    while (before > 0 && std::isspace(static_cast<unsigned char>(s[before - 1]))) --before;
    if (before > 0 && s[before - 1] == '>') continue;  // template <...> __global__
    const size_t paren = s.find('(', pos);
    if (paren == std::string::npos) break;
    size_t end = paren;
    while (end > pos && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
    size_t begin = end;
    while (begin > pos && is_ident(s[begin - 1])) --begin;
    if (begin < end) names.insert(s.substr(begin, end - begin));
  }
  return names;
}

std::string rewrite_launches(const std::string& file, const std::string& s) {
  const std::vector<bool> code = code_mask(s);
  const std::set<std::string> plain_kernels = plain_kernels_of(s, code);
  std::string out;
  size_t copied = 0, pos = 0;
  while ((pos = s.find("<<<", pos)) != std::string::npos) {
    if (!code[pos]) {
      pos += 3;
      continue;
    }
    const size_t start = kernel_start(s, pos);
    const std::string kernel = s.substr(start, pos - start);
    if (blank(kernel)) fail(file, s, pos, "a <<< launch without a kernel name");
    size_t close = pos + 3;
    int depth = 0;
    for (; close < s.size(); ++close) {
      if (!code[close]) continue;
      const char c = s[close];
      if (c == '(' || c == '[' || c == '{') ++depth;
      else if (c == ')' || c == ']' || c == '}') --depth;
      else if (depth == 0 && s.compare(close, 3, ">>>") == 0) break;
    }
    if (close >= s.size()) fail(file, s, pos, "a <<< launch without >>>");
    std::vector<std::string> config = split_args(s.substr(pos + 3, close - pos - 3));
    if (config.size() < 2 || config.size() > 4) fail(file, s, pos, "a launch needs <<<grid, block[, smem[, stream]]>>>");
    size_t open = close + 3;
    while (open < s.size() && std::isspace(static_cast<unsigned char>(s[open]))) ++open;
    if (open >= s.size() || s[open] != '(') fail(file, s, close, "a launch without its argument list");
    const size_t end = matching(s, code, open);
    if (end == std::string::npos) fail(file, s, open, "unbalanced parentheses in a launch");
    const std::string args = s.substr(open + 1, end - open - 1);
    out += s.substr(copied, start - copied);
    const std::string name = one_line(kernel);
    // The address only where it can be taken without the call's argument
    // types: an explicit template-id, or a kernel declared in this file
    // as a non-template.
    const bool addressable = name.back() == '>' || plain_kernels.count(name) > 0;
    out += "::posenet::emu::launch(\"" + name + "\", " + config[0] + ", " + config[1] + ", " +
           (config.size() > 2 ? config[2] : std::string("0")) + ", " +
           (config.size() > 3 ? config[3] : std::string("nullptr")) + ", " +
           (addressable ? "reinterpret_cast<const void*>(&" + name + ")" : std::string("nullptr")) +
           ", [](auto... pn_emu_arg) { " + name + "(pn_emu_arg...); }" + newlines_of(kernel) +
           newlines_of(s.substr(close, open - close)) + (blank(args) ? args : ", " + args) + ")";
    copied = end + 1;
    pos = copied;
  }
  out += s.substr(copied);
  return out;
}

std::string rewrite_extern_shared(const std::string& file, const std::string& s) {
  const std::vector<bool> code = code_mask(s);
  std::string out;
  size_t copied = 0, pos = 0;
  while ((pos = s.find("extern", pos)) != std::string::npos) {
    size_t q = pos + 6;
    if (!code[pos] || (pos > 0 && is_ident(s[pos - 1])) || (q < s.size() && is_ident(s[q]))) {
      pos = q;
      continue;
    }
    while (q < s.size() && std::isspace(static_cast<unsigned char>(s[q]))) ++q;
    if (s.compare(q, 10, "__shared__") != 0) {
      pos = q;
      continue;
    }
    const size_t semi = s.find(';', q);
    if (semi == std::string::npos) fail(file, s, pos, "extern __shared__ without ';'");
    std::string decl = s.substr(q + 10, semi - q - 10);
    const size_t bracket = decl.rfind('[');
    if (bracket == std::string::npos) fail(file, s, pos, "extern __shared__ must declare an unsized array");
    size_t name_end = bracket;
    while (name_end > 0 && std::isspace(static_cast<unsigned char>(decl[name_end - 1]))) --name_end;
    size_t name_start = name_end;
    while (name_start > 0 && is_ident(decl[name_start - 1])) --name_start;
    const std::string name = decl.substr(name_start, name_end - name_start);
    std::string type = decl.substr(0, name_start);
    // __align__(n) belongs to the array, not to the pointer's type.
    const size_t align = type.find("__align__");
    if (align != std::string::npos) {
      const size_t close = type.find(')', align);
      type.erase(align, close == std::string::npos ? std::string::npos : close - align + 1);
    }
    type = one_line(type);
    if (name.empty() || type.empty()) fail(file, s, pos, "cannot read this extern __shared__ declaration");
    out += s.substr(copied, pos - copied);
    out += type + "* const " + name + " = static_cast<" + type + "*>(::posenet::emu::dynamic_shared_memory())" +
           newlines_of(s.substr(pos, semi - pos));
    copied = semi;  // keeps the ';'
    pos = semi;
  }
  out += s.substr(copied);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: posenet-emu-rewrite IN.cu OUT.cpp\n";
    return 2;
  }
  const std::string in_path = argv[1], out_path = argv[2];
  std::ifstream in(in_path, std::ios::binary);
  if (!in) {
    std::cerr << "posenet-emu-rewrite: cannot read " << in_path << "\n";
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    const std::string text = rewrite_launches(in_path, rewrite_extern_shared(in_path, buf.str()));
    std::ofstream out(out_path, std::ios::binary);
    out << "#include <cuda_runtime.h>\n#line 1 \"" << in_path << "\"\n" << text;
    if (!out.flush()) {
      std::cerr << "posenet-emu-rewrite: cannot write " << out_path << "\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
