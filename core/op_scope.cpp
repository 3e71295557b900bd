#include "core/op_scope.h"

namespace posenet {

namespace {
thread_local const char* t_current_op = nullptr;
}

OpScope::OpScope(const char* name) : previous_(t_current_op) { t_current_op = name; }
OpScope::~OpScope() { t_current_op = previous_; }

const char* current_op() { return t_current_op; }

}  // namespace posenet
