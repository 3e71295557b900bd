#include "cli/skipped_report.h"

#include <iostream>

namespace posenet::cli {

void report_skipped(const std::vector<std::string>& reasons, const std::string& what) {
  if (reasons.empty()) return;
  constexpr size_t kShown = 5;
  std::cerr << "posenet: warning: skipped " << reasons.size() << " bad " << what << " (--skip-bad)"
            << (reasons.size() > kShown ? ", the first " + std::to_string(kShown) : std::string()) << ":\n";
  for (size_t i = 0; i < reasons.size() && i < kShown; ++i) std::cerr << "  " << reasons[i] << "\n";
}

}  // namespace posenet::cli
