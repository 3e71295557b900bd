#include "kernels/cuda/cudnn_reference.h"

#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cudnn_check.h"

namespace posenet::kernels::cuda {

namespace {

struct Desc {
  cudnnTensorDescriptor_t d = nullptr;
  Desc() { PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~Desc() { cudnnDestroyTensorDescriptor(d); }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
};

void set_nhwc(Desc& desc, const Tensor& t) {
  PN_CHECK(t.ndim() == 4 && t.dtype() == DType::F32, "cuDNN reference: expected float32 NHWC, got ",
           shape_str(t.shape()), " ", dtype_name(t.dtype()));
  for (int i = 0; i < 4; ++i) PN_CHECK(t.dim(i) <= INT_MAX, "cuDNN reference: extent too large");
  PN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc.d, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, int(t.dim(0)), int(t.dim(3)),
                                            int(t.dim(1)), int(t.dim(2))));
}

Tensor scratch(size_t bytes, Device device) {
  return Tensor::empty({int64_t((bytes + sizeof(float) - 1) / sizeof(float)) + 1}, DType::F32, device);
}

}  // namespace

void cudnn_bn_add_relu_forward_training(const Tensor& x, const Tensor& z, const Tensor& weight, const Tensor& bias,
                                        Tensor& running_mean, Tensor& running_var, double eps, double momentum,
                                        Tensor& y, Tensor& save_mean, Tensor& save_invstd) {
  cudnnHandle_t h = cudnn_handle();
  Desc xd, bn;
  set_nhwc(xd, x);
  const cudnnBatchNormMode_t mode = CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
  const cudnnBatchNormOps_t ops = CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION;
  PN_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(bn.d, xd.d, mode));
  cudnnActivationDescriptor_t act = nullptr;
  PN_CUDNN_CHECK(cudnnCreateActivationDescriptor(&act));
  struct ActGuard {
    cudnnActivationDescriptor_t a;
    ~ActGuard() { cudnnDestroyActivationDescriptor(a); }
  } guard{act};
  PN_CUDNN_CHECK(cudnnSetActivationDescriptor(act, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  size_t ws_bytes = 0, reserve_bytes = 0;
  PN_CUDNN_CHECK(cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(h, mode, ops, xd.d, xd.d, xd.d, bn.d, act,
                                                                          &ws_bytes));
  PN_CUDNN_CHECK(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(h, mode, ops, act, xd.d, &reserve_bytes));
  Tensor ws = scratch(ws_bytes, x.device()), reserve = scratch(reserve_bytes, x.device());
  const float one = 1.0f, zero = 0.0f;
  PN_CUDNN_CHECK(cudnnBatchNormalizationForwardTrainingEx(
      h, mode, ops, &one, &zero, xd.d, x.raw_data(), xd.d, z.raw_data(), xd.d, y.raw_data(), bn.d, weight.raw_data(),
      bias.raw_data(), momentum, running_mean.raw_data(), running_var.raw_data(), eps, save_mean.raw_data(),
      save_invstd.raw_data(), act, ws.raw_data(), ws_bytes, reserve.raw_data(), reserve_bytes));
}

void cudnn_add_tensor(const Tensor& a, Tensor& c) {
  PN_CHECK(a.shape() == c.shape(), "cudnn_add_tensor: shapes differ");
  cudnnHandle_t h = cudnn_handle();
  Desc d;
  set_nhwc(d, a);
  const float one = 1.0f;
  PN_CUDNN_CHECK(cudnnAddTensor(h, &one, d.d, a.raw_data(), &one, d.d, c.raw_data()));
}

}  // namespace posenet::kernels::cuda
