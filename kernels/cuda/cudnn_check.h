// Checked cuDNN calls: a failure throws posenet::Error naming the status, the
// call, the file and the line, plus cuDNN's own last error message.
#pragma once
#include <cudnn.h>

#include "core/error.h"

#define PN_CUDNN_CHECK(call)                                                                              \
  do {                                                                                                    \
    cudnnStatus_t pn_status_ = (call);                                                                    \
    if (pn_status_ != CUDNN_STATUS_SUCCESS) {                                                             \
      char pn_detail_[512] = {0};                                                                         \
      cudnnGetLastErrorString(pn_detail_, sizeof(pn_detail_));                                            \
      throw ::posenet::Error(::posenet::detail::concat("cuDNN error ", cudnnGetErrorString(pn_status_), " in ", \
                                                       #call, " at ", __FILE__, ":", __LINE__,            \
                                                       pn_detail_[0] ? ": " : "", pn_detail_));           \
    }                                                                                                     \
  } while (0)
