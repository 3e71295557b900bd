#include "core/tensor.h"

#include <cstring>
#include <sstream>

#include "core/autograd.h"

namespace posenet {

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    PN_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    n *= d;
  }
  return n;
}

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  data_ = backend_for(device).allocate(bytes);
}

Storage::~Storage() {
  if (data_) backend_for(device_).deallocate(data_, bytes_);
}

static std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  return impl;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return Tensor(make_impl(shape, dtype, device)); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::from_data(const Shape& shape, const std::vector<float>& values, DType dtype, Device device) {
  PN_CHECK(int64_t(values.size()) == shape_numel(shape), "from_data: ", values.size(), " values for shape ",
           shape_str(shape));
  Tensor host = empty(shape, DType::F32, Device::cpu());
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(float));
  if (dtype != DType::F32) host = host.to(dtype);
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::from_data(const Shape& shape, const std::vector<double>& values, DType dtype, Device device) {
  PN_CHECK(int64_t(values.size()) == shape_numel(shape), "from_data: ", values.size(), " values for shape ",
           shape_str(shape));
  Tensor host = empty(shape, DType::F64, Device::cpu());
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(double));
  if (dtype != DType::F64) host = host.to(dtype);
  return device.is_cpu() ? host : host.to(device);
}

const Shape& Tensor::shape() const {
  PN_CHECK(impl_, "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  int j = i < 0 ? i + n : i;
  PN_CHECK(j >= 0 && j < n, "dimension ", i, " out of range for a tensor of shape ", shape_str(shape()));
  return impl_->shape[size_t(j)];
}

int64_t Tensor::numel() const { return shape_numel(shape()); }
size_t Tensor::nbytes() const { return size_t(numel()) * dtype_size(dtype()); }

DType Tensor::dtype() const {
  PN_CHECK(impl_, "use of an undefined tensor");
  return impl_->dtype;
}

Device Tensor::device() const {
  PN_CHECK(impl_, "use of an undefined tensor");
  return impl_->storage->device();
}

void* Tensor::raw_data() const {
  PN_CHECK(impl_, "use of an undefined tensor");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset_bytes;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return clone();
  Tensor out = empty(shape(), dtype(), target);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType target) const {
  Tensor out = empty(shape(), target, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::view(const Shape& new_shape) const {
  PN_CHECK(shape_numel(new_shape) == numel(), "cannot view a tensor of shape ", shape_str(shape()), " as ",
           shape_str(new_shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = new_shape;
  impl->dtype = dtype();
  impl->storage = impl_->storage;
  impl->offset_bytes = impl_->offset_bytes;
  return Tensor(impl);
}

Tensor Tensor::detach() const { return view(shape()); }

void Tensor::copy_(const Tensor& src) {
  PN_CHECK(src.numel() == numel(), "copy_: source shape ", shape_str(src.shape()), " does not match ",
           shape_str(shape()));
  const size_t n = size_t(numel());
  if (n == 0) return;
  Device dd = device(), sd = src.device();
  if (dd == sd) {
    backend_for(dd).convert(raw_data(), dtype(), src.raw_data(), src.dtype(), n);
    return;
  }
  // Cross-device: move the raw bytes first, then convert on the destination.
  Tensor staged = src;
  if (src.dtype() != dtype()) staged = src.to(dtype());
  if (sd.is_cpu()) {
    backend_for(dd).copy_host_to_device(raw_data(), staged.raw_data(), nbytes());
  } else if (dd.is_cpu()) {
    backend_for(sd).copy_device_to_host(raw_data(), staged.raw_data(), nbytes());
  } else {
    Tensor host = staged.to(Device::cpu());
    backend_for(dd).copy_host_to_device(raw_data(), host.raw_data(), nbytes());
  }
}

void Tensor::fill_(double value) { backend_for(device()).fill(raw_data(), dtype(), size_t(numel()), value); }

void Tensor::add_(const Tensor& other) {
  PN_CHECK(other.shape() == shape(), "add_: shape ", shape_str(other.shape()), " does not match ", shape_str(shape()));
  check_same_device_dtype(*this, other, "add_");
  backend_for(device()).add_inplace(raw_data(), other.raw_data(), dtype(), size_t(numel()));
}

double Tensor::item() const {
  PN_CHECK(numel() == 1, "item() on a tensor of shape ", shape_str(shape()), " (needs exactly one element)");
  return to_vector()[0];
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = (is_cpu() ? *this : to(Device::cpu())).to(DType::F64);
  const double* p = host.data<double>();
  return std::vector<double>(p, p + host.numel());
}

std::vector<float> Tensor::to_float_vector() const {
  Tensor host = (is_cpu() ? *this : to(Device::cpu()));
  if (host.dtype() != DType::F32) host = host.to(DType::F32);
  const float* p = host.data<float>();
  return std::vector<float>(p, p + host.numel());
}

std::string Tensor::str() const {
  if (!impl_) return "undefined";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + "@" + device().str();
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool value) {
  PN_CHECK(impl_, "set_requires_grad on an undefined tensor");
  PN_CHECK(!value || impl_->grad_fn == nullptr || impl_->requires_grad,
           "set_requires_grad on a tensor computed by an op");
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return impl_ ? impl_->grad : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  PN_CHECK(impl_, "set_grad on an undefined tensor");
  PN_CHECK(!g.defined() || g.shape() == shape(), "gradient of shape ", g.defined() ? shape_str(g.shape()) : "",
           " for a tensor of shape ", shape_str(shape()));
  impl_->grad = g;
}

void Tensor::drop_grad_keeping_buffer() {
  PN_CHECK(impl_, "drop_grad_keeping_buffer on an undefined tensor");
  if (impl_->grad.defined()) impl_->spare_grad = std::move(impl_->grad);
  impl_->grad = Tensor();
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return impl_ ? impl_->grad_fn : none;
}

void Tensor::set_grad_fn(std::shared_ptr<Node> fn) {
  PN_CHECK(impl_, "set_grad_fn on an undefined tensor");
  impl_->grad_fn = std::move(fn);
  impl_->requires_grad = impl_->grad_fn != nullptr;
}

void Tensor::backward() const { run_backward(*this); }

void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op) {
  PN_CHECK(a.device() == b.device(), op, ": tensors on different devices (", a.device().str(), " and ",
           b.device().str(), ")");
  PN_CHECK(a.dtype() == b.dtype(), op, ": tensors of different dtypes (", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()), ")");
}

void check_rank(const Tensor& t, int rank, const char* op, const char* what) {
  PN_CHECK(t.defined(), op, ": ", what, " is undefined");
  PN_CHECK(t.ndim() == rank, op, ": ", what, " must have ", rank, " dimensions, got shape ", shape_str(t.shape()));
}

}  // namespace posenet
