#include "layers/fold_batch_norm.h"

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"

namespace posenet {

namespace {

// w' = w * s along the output-channel axis (0 for KRSC, 3 for the
// transposed [Cin, R, S, Cout]), computed in float64 on the host, returned
// on w's device in w's dtype.
Tensor scaled_weight(const Tensor& w, const std::vector<double>& s, bool out_channels_last) {
  std::vector<double> v = w.to_vector();
  const size_t out = s.size(), inner = v.size() / out;
  for (size_t i = 0; i < v.size(); ++i) v[i] *= s[out_channels_last ? i % out : i / inner];
  return Tensor::from_data(w.shape(), v, DType::F64).to(w.dtype()).to(w.device());
}

// s = gamma / sqrt(var + eps); sets the convolution's folded weight and the
// batch norm's folded bias beta - mu * s + conv_bias * s.
void fold_pair(const Tensor& weight, const Tensor& conv_bias, bool out_channels_last, BatchNorm2d& bn,
               const std::function<void(Tensor)>& set_weight) {
  const std::vector<double> gamma = bn.weight().to_vector(), beta = bn.bias().to_vector();
  const std::vector<double> mean = bn.running_mean().to_vector(), var = bn.running_var().to_vector();
  const std::vector<double> b = conv_bias.defined() ? conv_bias.to_vector() : std::vector<double>(gamma.size(), 0.0);
  std::vector<double> s(gamma.size()), folded_bias(gamma.size());
  for (size_t c = 0; c < gamma.size(); ++c) {
    s[c] = gamma[c] / std::sqrt(var[c] + bn.eps());
    folded_bias[c] = beta[c] - mean[c] * s[c] + b[c] * s[c];
  }
  set_weight(scaled_weight(weight, s, out_channels_last));
  const Tensor& like = bn.bias();
  bn.set_folded_bias(
      Tensor::from_data({int64_t(s.size())}, folded_bias, DType::F64).to(like.dtype()).to(like.device()));
}

// Folds bn into conv when conv is a convolution with bn's channel count as
// outputs; false (nothing changed) otherwise.
bool try_fold(Module& conv, BatchNorm2d& bn) {
  if (auto* c = dynamic_cast<Conv2d*>(&conv)) {
    if (c->options().out_channels != bn.channels()) return false;
    fold_pair(c->weight(), c->bias(), false, bn, [c](Tensor w) { c->set_folded_weight(std::move(w)); });
    return true;
  }
  if (auto* t = dynamic_cast<ConvTranspose2d*>(&conv)) {
    if (t->options().out_channels != bn.channels()) return false;
    fold_pair(t->weight(), t->bias(), true, bn, [t](Tensor w) { t->set_folded_weight(std::move(w)); });
    return true;
  }
  return false;
}

int fold_children(Module& module) {
  int folded = 0;
  const auto children = module.named_children();
  for (size_t i = 0; i < children.size(); ++i) {
    if (i + 1 < children.size())
      if (auto* bn = dynamic_cast<BatchNorm2d*>(children[i + 1].second.get()))
        if (try_fold(*children[i].second, *bn)) {
          ++folded;
          ++i;  // the batch norm is taken
          continue;
        }
    folded += fold_children(*children[i].second);
  }
  return folded;
}

}  // namespace

int fold_batch_norm(Module& model) {
  PN_CHECK(!model.is_training(), "fold_batch_norm: the model (", model.type_name(),
           ") is in training mode; batch norm folds into the convolutions only for inference (call eval() first)");
  return fold_children(model);
}

const Tensor& folded_for(const Tensor& folded, const Tensor& x, const char* layer) {
  PN_CHECK(folded.device() == x.device() && folded.dtype() == x.dtype(), layer, ": its batch norm was folded for ",
           dtype_name(folded.dtype()), " on ", folded.device().str(), " but the input is ", dtype_name(x.dtype()),
           " on ", x.device().str(), "; fold the model again after moving or converting it");
  return folded;
}

}  // namespace posenet
