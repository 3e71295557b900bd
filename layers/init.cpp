#include "layers/init.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"

namespace posenet::init {

void normal_(Tensor w, TorchLayout layout, double stddev, Generator& gen) {
  const Shape torch = torch_shape(w.shape(), layout);
  std::vector<double> values(size_t(shape_numel(torch)));
  for (auto& v : values) v = gen.normal(0.0, stddev);
  NoGradGuard no_grad;
  w.copy_(from_torch_layout(Tensor::from_data(torch, values, DType::F64), layout));
}

void kaiming_normal_fan_out_(Tensor w, TorchLayout layout, Generator& gen) {
  const Shape torch = torch_shape(w.shape(), layout);
  PN_CHECK(torch.size() >= 2, "kaiming_normal_: needs a weight of rank >= 2, got ", shape_str(torch));
  int64_t receptive = 1;
  for (size_t i = 2; i < torch.size(); ++i) receptive *= torch[i];
  const int64_t fan_out = torch[0] * receptive;
  PN_CHECK(fan_out > 0, "kaiming_normal_: zero fan_out for ", shape_str(torch));
  normal_(w, layout, std::sqrt(2.0 / double(fan_out)), gen);
}

}  // namespace posenet::init
