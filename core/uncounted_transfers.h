// A scope in which copies leave the step counters host_syncs and h2d_bytes
// (core/device.h) as they are. For an EMU build's stand-ins for cuDNN and
// cuBLAS only: they copy operands to the host and back, traffic that the
// library calls they stand in for do not have on a GPU.
#pragma once

namespace posenet {

class UncountedTransfers {
 public:
  UncountedTransfers();
  ~UncountedTransfers();
  UncountedTransfers(const UncountedTransfers&) = delete;
  UncountedTransfers& operator=(const UncountedTransfers&) = delete;
  // True while a scope is alive on the calling thread.
  static bool active();
};

}  // namespace posenet
