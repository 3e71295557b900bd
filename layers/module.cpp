#include "layers/module.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/autograd.h"
#include "core/safetensors.h"

namespace posenet {

namespace {

bool ignored_on_load(const std::string& key) {
  static const std::string suffix = "num_batches_tracked";
  if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return key.size() == suffix.size() || key[key.size() - suffix.size() - 1] == '.';
}

// Moves dim `from` of a 4-D tensor to position `to` (1 <-> 3), bytewise so
// every dtype works.
Tensor permute_4d(const Tensor& t, bool last_to_second) {
  PN_CHECK(t.ndim() == 4, "layout conversion needs a 4-D tensor, got ", shape_str(t.shape()));
  Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
  const Shape& s = host.shape();
  Shape out_shape = last_to_second ? Shape{s[0], s[3], s[1], s[2]} : Shape{s[0], s[2], s[3], s[1]};
  Tensor out = Tensor::empty(out_shape, host.dtype());
  const size_t es = dtype_size(host.dtype());
  const auto* src = static_cast<const uint8_t*>(host.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  // Index the stored form [a, b, c, d] and its exported form [a, d, b, c].
  const int64_t A = last_to_second ? s[0] : out_shape[0];
  const int64_t B = last_to_second ? s[1] : out_shape[1];
  const int64_t C = last_to_second ? s[2] : out_shape[2];
  const int64_t D = last_to_second ? s[3] : out_shape[3];
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t d = 0; d < D; ++d) {
          const int64_t stored = ((a * B + b) * C + c) * D + d;
          const int64_t exported = ((a * D + d) * B + b) * C + c;
          if (last_to_second)
            std::memcpy(dst + size_t(exported) * es, src + size_t(stored) * es, es);
          else
            std::memcpy(dst + size_t(stored) * es, src + size_t(exported) * es, es);
        }
  return t.is_cpu() ? out : out.to(t.device());
}

// Replaces a tensor's storage in place, keeping the handle (and so every
// alias of it) valid.
void replace_storage(const Tensor& t, const Tensor& with) {
  TensorImpl* impl = t.impl();
  impl->storage = with.impl()->storage;
  impl->offset_bytes = with.impl()->offset_bytes;
  impl->dtype = with.dtype();
}

}  // namespace

Shape torch_shape(const Shape& stored, TorchLayout layout) {
  if (layout == TorchLayout::Same) return stored;
  PN_CHECK(stored.size() == 4, "TorchLayout::ChannelsLastToSecond needs a 4-D tensor, got ", shape_str(stored));
  return {stored[0], stored[3], stored[1], stored[2]};
}

Tensor to_torch_layout(const Tensor& t, TorchLayout layout) {
  return layout == TorchLayout::Same ? t : permute_4d(t, true);
}

Tensor from_torch_layout(const Tensor& t, TorchLayout layout) {
  return layout == TorchLayout::Same ? t : permute_4d(t, false);
}

std::string LoadReport::str() const {
  std::string out;
  auto list = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += std::string(what) + " (" + std::to_string(names.size()) + "):";
    for (const auto& n : names) out += "\n  " + n;
    out += "\n";
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatches", mismatched);
  return out;
}

Tensor Module::forward(const Tensor&) {
  PN_FAIL("module ", type_name_, " has no single-input forward");
}

void Module::check_new_name(const std::string& name) const {
  PN_CHECK(!name.empty() && name.find('.') == std::string::npos, "module ", type_name_, ": invalid name '", name,
           "' (non-empty, no '.')");
  auto taken = [&](const auto& list, auto key) {
    for (const auto& item : list)
      if (key(item) == name) return true;
    return false;
  };
  PN_CHECK(!taken(params_, [](const Slot& s) { return s.name; }) &&
               !taken(buffers_, [](const Slot& s) { return s.name; }) &&
               !taken(children_, [](const auto& c) { return c.first; }) &&
               !taken(counters_, [](const auto& c) { return c.first; }),
           "module ", type_name_, ": name '", name, "' registered twice");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, TorchLayout layout) {
  check_new_name(name);
  PN_CHECK(value.defined(), "module ", type_name_, ": parameter '", name, "' is undefined");
  if (layout != TorchLayout::Same) torch_shape(value.shape(), layout);  // checks the rank
  value.set_requires_grad(true);
  params_.push_back({name, value, layout});
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  PN_CHECK(value.defined(), "module ", type_name_, ": buffer '", name, "' is undefined");
  buffers_.push_back({name, value, TorchLayout::Same});
  return value;
}

void Module::register_counter(const std::string& name, int64_t* value) {
  check_new_name(name);
  PN_CHECK(value != nullptr, "module ", type_name_, ": counter '", name, "' is null");
  counters_.emplace_back(name, value);
}

std::vector<std::pair<std::string, int64_t*>> Module::named_counters() const {
  std::vector<std::pair<std::string, int64_t*>> out(counters_);
  for (const auto& [name, child] : children_)
    for (auto& [sub, value] : child->named_counters()) out.emplace_back(name + "." + sub, value);
  return out;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name);
  PN_CHECK(child != nullptr, "module ", type_name_, ": child '", name, "' is null");
  child->train(training_);
  children_.emplace_back(name, std::move(child));
}

void Module::collect(const std::string& prefix, bool params,
                     std::vector<std::pair<std::string, const Slot*>>& out) const {
  for (const Slot& s : params ? params_ : buffers_) out.emplace_back(prefix + s.name, &s);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, out);
}

std::vector<std::pair<std::string, const Module::Slot*>> Module::all_slots() const {
  std::vector<std::pair<std::string, const Slot*>> out;
  collect("", true, out);
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_parameters() const {
  std::vector<std::pair<std::string, const Slot*>> slots;
  collect("", true, slots);
  NamedTensors out;
  for (auto& [name, s] : slots) out.emplace_back(name, s->tensor);
  return out;
}

NamedTensors Module::named_buffers() const {
  std::vector<std::pair<std::string, const Slot*>> slots;
  collect("", false, slots);
  NamedTensors out;
  for (auto& [name, s] : slots) out.emplace_back(name, s->tensor);
  return out;
}

TorchLayout Module::layout_of(const std::string& dotted_name) const {
  for (auto& [name, s] : all_slots())
    if (name == dotted_name) return s->layout;
  PN_FAIL("module ", type_name_, " has no parameter or buffer '", dotted_name, "'");
}

void Module::train(bool on) {
  training_ = on;
  on_train(on);
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, s] : all_slots()) {
    Tensor t = s->tensor;  // a handle: changes the module's tensor
    t.set_grad(Tensor());
  }
}

void Module::to(Device device) {
  for (auto& [name, s] : all_slots()) {
    Tensor t = s->tensor;
    if (t.device() == device) continue;
    replace_storage(t, t.to(device));
    if (t.grad().defined()) t.set_grad(t.grad().to(device));
  }
}

void Module::to(DType dtype) {
  for (auto& [name, s] : all_slots()) {
    Tensor t = s->tensor;
    if (t.dtype() == dtype) continue;
    replace_storage(t, t.to(dtype));
    if (t.grad().defined()) t.set_grad(t.grad().to(dtype));
  }
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, s] : all_slots()) out[name] = to_torch_layout(s->tensor.detach(), s->layout);
  return out;
}

namespace {
// A state entry fits a slot when it has the slot's PyTorch-layout shape.
bool fits_slot(const Tensor& value, const Shape& torch_layout_shape) {
  return value.defined() && value.shape() == torch_layout_shape;
}
}  // namespace

LoadReport Module::check_state_dict(const std::map<std::string, Tensor>& state) const {
  LoadReport report;
  std::set<std::string> known;
  for (auto& [name, s] : all_slots()) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      report.missing.push_back(name);
      continue;
    }
    const Shape expected = torch_shape(s->tensor.shape(), s->layout);
    if (!fits_slot(it->second, expected))
      report.mismatched.push_back(name + ": expected " + shape_str(expected) + ", got " +
                                  (it->second.defined() ? shape_str(it->second.shape()) : "undefined"));
  }
  for (auto& [name, t] : state)
    if (!known.count(name) && !ignored_on_load(name)) report.unexpected.push_back(name);
  return report;
}

LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                                   const std::string& source) {
  LoadReport report = check_state_dict(state);
  if (strict && !report.ok())
    throw InputError(source + ": does not match the parameters of " + type_name_ + "\n" + report.str());
  NoGradGuard no_grad;
  for (auto& [name, s] : all_slots()) {
    auto it = state.find(name);
    if (it == state.end() || !fits_slot(it->second, torch_shape(s->tensor.shape(), s->layout))) continue;
    Tensor target = s->tensor;  // a handle: writes into the module
    target.copy_(from_torch_layout(it->second, s->layout));
    report.loaded.push_back(name);
  }
  return report;
}

void Module::save(const std::filesystem::path& path, const std::map<std::string, std::string>& metadata) const {
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");  // what safetensors' PyTorch loader expects
  std::map<std::string, safetensors::RawTensor> counters;
  for (const auto& [name, value] : named_counters()) {
    safetensors::RawTensor raw{"I64", {}, std::vector<uint8_t>(8)};
    for (int i = 0; i < 8; ++i) raw.bytes[size_t(i)] = uint8_t(uint64_t(*value) >> (8 * i));
    counters.emplace(name, std::move(raw));
  }
  safetensors::save(path, state_dict(), meta, counters);
}

LoadReport Module::load(const std::filesystem::path& path, bool strict) {
  auto file = safetensors::File::read(path);
  std::map<std::string, Tensor> state;
  for (const auto& e : file.entries())
    if (!ignored_on_load(e.name)) state.emplace(e.name, file.tensor(e.name));
  LoadReport report = load_state_dict(state, strict, path.string());
  // Counters are restored when the file has them (an I64 or float scalar).
  for (const auto& [name, value] : named_counters()) {
    if (!file.contains(name)) continue;
    const auto& e = file.entry(name);
    if (e.numel() != 1)
      throw InputError(path.string() + ": counter '" + name + "' has shape " + shape_str(e.shape) + ", not a scalar");
    if (e.dtype == "I64") {
      uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | e.data[i];
      *value = int64_t(v);
    } else {
      *value = int64_t(file.tensor(name).item());  // InputError for other dtypes
    }
  }
  return report;
}

}  // namespace posenet
