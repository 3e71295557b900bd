// What a validation pass reports: the PCKh table on stdout and the
// per-stage results for the epoch's log record.
#pragma once
#include <cstdint>
#include <ostream>

#include <nlohmann/json.hpp>

#include "train/validate.h"

namespace posenet::train {

// Prints "Validation PCKh after epoch E (N persons[, flip test]):" and the
// table of every row; returns [{"label", "pckh"}, ...] for log.jsonl.
nlohmann::json report_validation(std::ostream& os, const Evaluation& evaluation, int64_t epoch_number,
                                 size_t persons, bool flip_test);

}  // namespace posenet::train
