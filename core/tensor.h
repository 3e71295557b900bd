// Tensor: a shape, a dtype, a device and contiguous row-major storage.
//
// Activations are NHWC ([N, H, W, C], channels last) on every device;
// convolution weights are KRSC ([out, kh, kw, in]) and are converted to and
// from PyTorch's OIHW only at the safetensors boundary (layers/module.cpp).
//
// A Tensor is a cheap handle (shared_ptr); copies alias the same storage.
// It also carries the autograd state: requires_grad, the accumulated .grad,
// and grad_fn, the tape node that produced it (core/autograd.h).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace posenet {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);

class Node;
struct TensorImpl;

// Storage: one allocation on one device, freed through its backend.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Contents of empty() are uninitialised.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::cpu());
  // Copies host values in (converted to dtype) onto device.
  static Tensor from_data(const Shape& shape, const std::vector<float>& values, DType dtype = DType::F32,
                          Device device = Device::cpu());
  static Tensor from_data(const Shape& shape, const std::vector<double>& values, DType dtype = DType::F64,
                          Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return int(shape().size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const;
  size_t nbytes() const;
  DType dtype() const;
  Device device() const;
  bool is_cpu() const { return device().is_cpu(); }

  // Raw data. data<T>() checks that T matches the dtype; host access to a
  // CUDA tensor is refused (move it with to(Device::cpu()) first).
  void* raw_data() const;
  template <typename T>
  T* data() const {
    PN_CHECK(DTypeOf<T>::value == dtype(), "tensor of dtype ", dtype_name(dtype()), " accessed as ",
             dtype_name(DTypeOf<T>::value));
    PN_CHECK(is_cpu(), "host access to a tensor on ", device().str());
    return static_cast<T*>(raw_data());
  }

  // Copies to another device or dtype (always a new tensor, no autograd).
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;
  // Same storage, new shape (element count must match). Not recorded on the
  // tape: use ops::reshape inside a differentiable computation.
  Tensor view(const Shape& shape) const;
  // Same storage, no autograd history.
  Tensor detach() const;

  void copy_(const Tensor& src);  // same shape; any device or dtype
  void fill_(double value);
  void zero_() { fill_(0.0); }
  void add_(const Tensor& other);  // same shape, dtype and device; no autograd

  double item() const;                     // a one-element tensor's value
  std::vector<double> to_vector() const;   // every element, as double, on the host
  std::vector<float> to_float_vector() const;
  std::string str() const;                 // "float32[2, 3]@cpu"

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool value);
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  // Drops .grad as set_grad(Tensor()) does, keeping its buffer: the next
  // backward pass writes this tensor's gradient there (same address every
  // training step, nothing allocated). Whoever still holds the old .grad
  // sees it overwritten then.
  void drop_grad_keeping_buffer();
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> fn);
  // Reverse-mode pass from this one-element tensor (core/autograd.cpp).
  void backward() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  Shape shape;
  DType dtype = DType::F32;
  std::shared_ptr<Storage> storage;
  size_t offset_bytes = 0;
  // autograd
  bool requires_grad = false;
  Tensor grad;
  Tensor spare_grad;  // a dropped .grad's buffer, for the next accumulation
  std::shared_ptr<Node> grad_fn;
  std::weak_ptr<Node> grad_accumulator;  // leaves: the node that adds into .grad
};

// Checks used by ops: same device/dtype, expected rank.
void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_rank(const Tensor& t, int rank, const char* op, const char* what);

}  // namespace posenet
