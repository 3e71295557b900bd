// Sequential: children named "0", "1", ... applied in order, as
// torch.nn.Sequential (so checkpoint names read "downsample.0.weight").
#pragma once
#include <memory>
#include <vector>

#include "layers/module.h"

namespace posenet {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> layer) {
    layers_.push_back(register_module(std::to_string(layers_.size()), layer));
    return layer;
  }
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace posenet
