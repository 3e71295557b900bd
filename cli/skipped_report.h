// What --skip-bad skipped, as a command reports it: a count and the first
// few reasons on stderr, not one line per entry (a large file can have
// thousands).
#pragma once
#include <string>
#include <vector>

namespace posenet::cli {

// Prints nothing when `reasons` is empty; `what` names the input ("entries",
// "detection boxes").
void report_skipped(const std::vector<std::string>& reasons, const std::string& what = "entries");

}  // namespace posenet::cli
