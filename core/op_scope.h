// The name of the op being dispatched on this thread, so that an error
// raised deep inside a backend (a host sync refused while a CUDA graph is
// being captured) can say which op caused it.
#pragma once

namespace posenet {

// Sets the current op for its lifetime (ops nest; the innermost one wins).
class OpScope {
 public:
  explicit OpScope(const char* name);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* previous_;
};

// The innermost op being dispatched on this thread, or null outside any op.
const char* current_op();

}  // namespace posenet
