// Module: the base of every layer and model. It owns named parameters
// (trained) and buffers (state such as BN running statistics) and named child
// modules, and builds PyTorch-style dotted names from them
// ("layer1.0.conv1.weight", "bn1.running_mean"), so checkpoints share
// torchvision's naming.
//
// Layouts: convolution weights live as KRSC [K, R, S, C] (conv-transpose as
// [Cin, R, S, Cout]); PyTorch stores them as OIHW [K, C, R, S] ([Cin, Cout,
// R, S]). A parameter registered with TorchLayout::ChannelsLastToSecond is
// exported by moving dim 3 to position 1 (and imported by the inverse), at
// the state_dict boundary only.
//
// Modules are neither copyable nor movable (parameters are shared handles an
// optimizer may hold): children are held by shared_ptr.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace posenet {

enum class TorchLayout {
  Same,                  // exported as stored
  ChannelsLastToSecond,  // 4-D: stored [a, b, c, d], exported [a, d, b, c]
};

// Stored <-> PyTorch layout conversion (host computation; the result is on
// the input's device).
Tensor to_torch_layout(const Tensor& t, TorchLayout layout);
Tensor from_torch_layout(const Tensor& t, TorchLayout layout);
Shape torch_shape(const Shape& stored, TorchLayout layout);

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What load_state_dict found; in strict mode any problem is an InputError
// listing every one of them by name.
struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the state
  std::vector<std::string> unexpected;  // in the state, not in the module
  std::vector<std::string> mismatched;  // "name: expected [..], got [..]"
  std::vector<std::string> loaded;
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const;  // one line per problem
};

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }

  // The single-input forward of sequential layers; modules with another
  // signature throw here.
  virtual Tensor forward(const Tensor& x);

  // Registration. Names are unique per module and contain no '.'.
  Tensor register_parameter(const std::string& name, Tensor value, TorchLayout layout = TorchLayout::Same);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // Recursive views, in registration order (own entries first, then each
  // child's, as PyTorch).
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  // Integer counters (BatchNorm's num_batches_tracked): not tensors, not in
  // state_dict(), but written by save() as I64 scalars (so PyTorch's strict
  // load_state_dict accepts posenet checkpoints) and restored by load().
  std::vector<std::pair<std::string, int64_t*>> named_counters() const;
  // The layout of a parameter or buffer given by its dotted name.
  TorchLayout layout_of(const std::string& dotted_name) const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad

  // Moves (or converts) every parameter and buffer in place: the Tensor
  // handles stay the same, so optimizers and layers keep valid references.
  void to(Device device);
  void to(DType dtype);

  // name -> tensor in PyTorch layouts (aliases for Same-layout entries,
  // permuted copies for conv weights).
  std::map<std::string, Tensor> state_dict() const;
  // Copies matching entries in (any float dtype/device; PyTorch layouts).
  // "*.num_batches_tracked" keys are accepted and ignored. strict: any
  // missing, unexpected or mis-shaped key is an InputError naming them all
  // (and nothing is modified); lenient: loads what matches and reports the
  // rest. `source` names the origin (a file) in messages.
  LoadReport load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                             const std::string& source = "state dict");
  // What load_state_dict(state) would report, modifying nothing (`loaded`
  // stays empty): callers that load several modules check them all first.
  LoadReport check_state_dict(const std::map<std::string, Tensor>& state) const;

  // safetensors checkpoints holding state_dict() and the counters.
  void save(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata = {}) const;
  LoadReport load(const std::filesystem::path& path, bool strict = true);

 protected:
  virtual void on_train(bool) {}
  // `value` lives in the registering module (modules never move).
  void register_counter(const std::string& name, int64_t* value);

 private:
  struct Slot {
    std::string name;
    Tensor tensor;
    TorchLayout layout;
  };
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, const Slot*>>& out) const;
  std::vector<std::pair<std::string, const Slot*>> all_slots() const;

  std::string type_name_;
  bool training_ = true;
  std::vector<Slot> params_, buffers_;
  std::vector<std::pair<std::string, int64_t*>> counters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace posenet
