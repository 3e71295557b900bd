// EMU builds only (CMake compiles emu_*.cpp there alone): the CUDA ops that
// call cuDNN or cuBLAS (conv.cu, pointwise_conv.cu) are not emulated; these
// run the CPU kernels on the tensors' data instead. Device memory is host
// memory, so the copies below are plain memcpys; 16-bit storage computes in
// float32, as cuDNN and cuBLAS do.
//
// Under stream capture (a CUDA graph) a stand-in cannot run at capture: it
// would read its inputs before the captured work that writes them. It records
// itself instead, as a host node of the graph (posenet::emu::record_if_capturing),
// holding its tensors and arguments, and runs when the graph is launched.
#include <atomic>

#include "core/cuda_check.h"
#include "posenet_emu/launch.h"

#include "core/tensor.h"
#include "core/uncounted_transfers.h"
#include "kernels/cpu/conv.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/pointwise_conv.h"

namespace posenet::kernels::cuda {

namespace {

std::atomic<bool> g_allow_tf32{true};
std::atomic<Conv1x1Backend> g_conv1x1_backend{Conv1x1Backend::CuDNN};

DType compute_type(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

// A host (CPU-device) copy of a device operand in the compute type.
Tensor host_operand(const Tensor& t) { return t.detach().to(Device::cpu()).to(compute_type(t.dtype())); }

// Runs fn(a, b, out) on host copies and writes out back into the device
// tensor; on a capturing stream, when the graph runs (fn is kept by value).
template <typename Fn>
void on_host(const Tensor& a, const Tensor& b, Tensor& out, Fn fn) {
  auto run = [a = a.detach(), b = b.detach(), out = out.detach(), fn]() mutable {
    const UncountedTransfers not_a_gpu_transfer;  // cuDNN/cuBLAS would not leave the device
    const Tensor ha = host_operand(a), hb = host_operand(b);
    Tensor hout = Tensor::empty(out.shape(), compute_type(out.dtype()), Device::cpu());
    fn(ha, hb, hout);
    out.copy_(hout);
  };
  if (!emu::record_if_capturing(current_stream(), run)) run();
}

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }
void set_conv1x1_backend(Conv1x1Backend backend) { g_conv1x1_backend.store(backend); }
Conv1x1Backend conv1x1_backend() { return g_conv1x1_backend.load(); }

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  on_host(x, w, y, [g](const Tensor& hx, const Tensor& hw, Tensor& hy) { cpu::conv2d_forward(hx, hw, hy, g); });
}
void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  on_host(dy, w, dx, [g](const Tensor& hdy, const Tensor& hw, Tensor& hdx) {
    cpu::conv2d_backward_data(hdy, hw, hdx, g);
  });
}
void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  on_host(x, dy, dw, [g](const Tensor& hx, const Tensor& hdy, Tensor& hdw) {
    cpu::conv2d_backward_weight(hx, hdy, hdw, g);
  });
}

void pointwise_conv_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  conv2d_forward(x, w, y, g);
}
void pointwise_conv_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  conv2d_backward_data(dy, w, dx, g);
}
void pointwise_conv_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  conv2d_backward_weight(x, dy, dw, g);
}

}  // namespace posenet::kernels::cuda
