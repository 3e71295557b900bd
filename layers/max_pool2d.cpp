#include "layers/max_pool2d.h"

namespace posenet {

MaxPool2d::MaxPool2d(int kernel_size, int stride, int padding)
    : Module("MaxPool2d"), params_(ops::MaxPool2dParams::square(kernel_size, stride, padding)) {
  PN_CHECK(kernel_size > 0 && stride > 0 && padding >= 0, "MaxPool2d: invalid kernel ", kernel_size, ", stride ",
           stride, " or padding ", padding);
  // PyTorch's rule: the padding is at most half the window.
  PN_CHECK(2 * padding <= kernel_size, "MaxPool2d: padding ", padding, " exceeds half the kernel ", kernel_size);
}

}  // namespace posenet
