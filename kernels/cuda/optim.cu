// Multi-tensor optimizer kernels. The parameters of one dtype are described
// by a table of pointers and sizes passed by value as the kernel parameter
// (no upload, no host synchronisation, so a step can be queued
// asynchronously); each parameter is split into fixed-size chunks and block
// b finds its chunk by binary search over the table's block offsets. One
// launch covers up to kMaxSlots parameters (a whole ResNet-50 in one).
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/optim_kernels.h"
#include "kernels/optim_math.h"

namespace posenet::kernels::cuda {
namespace {

constexpr int64_t kChunk = 8192;  // elements per block
constexpr int kMaxSlots = 320;    // the table stays well under the 32 KiB parameter limit

template <typename T>
struct SlotTable {
  T* param[kMaxSlots];
  const T* grad[kMaxSlots];
  T* a[kMaxSlots];  // momentum buffer or exp_avg (nullptr: none)
  T* b[kMaxSlots];  // exp_avg_sq
  int64_t n[kMaxSlots];
  int32_t block_start[kMaxSlots + 1];  // first block of each slot; [count] = total blocks
  uint8_t first[kMaxSlots];
  int32_t count;
};
static_assert(sizeof(SlotTable<double>) < 32000, "kernel parameter too large");

// The slot whose blocks contain `block` (block_start is increasing).
template <typename T>
__device__ int find_slot(const SlotTable<T>& t, int32_t block) {
  int lo = 0, hi = t.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (t.block_start[mid] <= block) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

template <typename T>
__global__ void sgd_multi_kernel(const __grid_constant__ SlotTable<T> t, SgdScalars<T> s, const double* scalars,
                                 const float* skip) {
  if (skip && *skip != 0.0f) return;
  s.lr = T(scalars[0]);  // this step's, from device memory
  const int k = find_slot(t, int32_t(blockIdx.x));
  const int64_t start = int64_t(blockIdx.x - t.block_start[k]) * kChunk;
  const int64_t end = min(t.n[k], start + kChunk);
  T* p = t.param[k];
  const T* g = t.grad[k];
  T* buf = t.a[k];
  const bool first = t.first[k] != 0;
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x)
    sgd_update_element(p[i], g[i], buf ? buf + i : nullptr, first, s);
}

// Adam's hyper-parameters that do not change between steps.
struct AdamHyper {
  double beta1, beta2, eps, weight_decay;
};

template <typename T>
__global__ void adam_multi_kernel(const __grid_constant__ SlotTable<T> t, AdamHyper h, const double* scalars,
                                  const float* skip) {
  if (skip && *skip != 0.0f) return;
  // This step's lr and step count, from device memory.
  const AdamScalars<T> s = adam_scalars<T>(scalars[0], h.beta1, h.beta2, h.eps, h.weight_decay, scalars[1]);
  const int k = find_slot(t, int32_t(blockIdx.x));
  const int64_t start = int64_t(blockIdx.x - t.block_start[k]) * kChunk;
  const int64_t end = min(t.n[k], start + kChunk);
  T* p = t.param[k];
  const T* g = t.grad[k];
  T* m = t.a[k];
  T* v = t.b[k];
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) adam_update_element(p[i], g[i], m[i], v[i], s);
}

// The step's {lr, step} the kernels read (optim_slots.h).
const double* scalars_of(const Tensor& t) {
  PN_CHECK(t.defined() && t.numel() == kOptimizerScalars && t.dtype() == DType::F64 && t.device().is_cuda(),
           "optimizer: the step's scalars must be ", kOptimizerScalars, " float64 values on the device");
  return static_cast<const double*>(t.raw_data());
}

// The skip condition the kernels read (nullptr: never skip).
const float* skip_flag(const Tensor& flag) {
  if (!flag.defined()) return nullptr;
  PN_CHECK(flag.numel() == 1 && flag.dtype() == DType::F32 && flag.device().is_cuda(),
           "optimizer: the skip flag must be one float32 element on the device, got ", flag.str());
  return static_cast<const float*>(flag.raw_data());
}

template <typename T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// Calls launch(table) for each batch of up to kMaxSlots parameters of dtype T.
template <typename T, typename Slot, typename Fill, typename Launch>
void for_each_table(const std::vector<const Slot*>& slots, Fill&& fill, Launch&& launch) {
  for (size_t begin = 0; begin < slots.size(); begin += kMaxSlots) {
    const size_t end = std::min(slots.size(), begin + size_t(kMaxSlots));
    SlotTable<T> table{};
    int64_t blocks = 0;
    for (size_t k = begin; k < end; ++k) {
      const int j = int(k - begin);
      fill(table, j, *slots[k]);
      table.n[j] = slots[k]->param.numel();
      table.block_start[j] = int32_t(blocks);
      blocks += (table.n[j] + kChunk - 1) / kChunk;
    }
    table.count = int32_t(end - begin);
    table.block_start[table.count] = int32_t(blocks);
    PN_CHECK(blocks < (int64_t(1) << 31), "optimizer: too many elements for one launch");
    launch(table, unsigned(blocks));
  }
}

template <typename Slot, typename Fn>
void for_each_dtype(const std::vector<Slot>& slots, Fn&& fn) {
  for (const Slot& s : slots)
    PN_CHECK(s.param.dtype() == DType::F32 || s.param.dtype() == DType::F64, "optimizer: parameter dtype ",
             dtype_name(s.param.dtype()), " is not supported (keep float32 master weights)");
  for (DType dtype : {DType::F32, DType::F64}) {
    std::vector<const Slot*> group;
    for (const Slot& s : slots)
      if (s.param.dtype() == dtype && s.param.numel() > 0) group.push_back(&s);
    if (!group.empty()) fn(dtype, group);
  }
}

}  // namespace

void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args) {
  for_each_dtype(slots, [&](DType dtype, const std::vector<const SgdSlot*>& group) {
    dispatch_float(dtype, "SGD", [&](auto tag) {
      using T = decltype(tag);
      const SgdScalars<T> sc{T(0), T(args.momentum), T(args.weight_decay), args.nesterov};  // lr: on the device
      for_each_table<T>(
          group,
          [](SlotTable<T>& t, int j, const SgdSlot& s) {
            t.param[j] = ptr<T>(s.param);
            t.grad[j] = ptr<T>(s.grad);
            t.a[j] = ptr<T>(s.momentum);
            t.b[j] = nullptr;
            t.first[j] = s.first ? 1 : 0;
          },
          [&](const SlotTable<T>& t, unsigned blocks) {
            sgd_multi_kernel<T><<<blocks, kThreads, 0, current_stream()>>>(t, sc, scalars_of(args.scalars),
                                                                            skip_flag(args.skip));
            PN_CUDA_CHECK_LAUNCH();
          });
    });
  });
}

void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args) {
  for_each_dtype(slots, [&](DType dtype, const std::vector<const AdamSlot*>& group) {
    dispatch_float(dtype, "Adam", [&](auto tag) {
      using T = decltype(tag);
      const AdamHyper h{args.beta1, args.beta2, args.eps, args.weight_decay};
      for_each_table<T>(
          group,
          [](SlotTable<T>& t, int j, const AdamSlot& s) {
            t.param[j] = ptr<T>(s.param);
            t.grad[j] = ptr<T>(s.grad);
            t.a[j] = ptr<T>(s.exp_avg);
            t.b[j] = ptr<T>(s.exp_avg_sq);
            t.first[j] = 0;
          },
          [&](const SlotTable<T>& t, unsigned blocks) {
            adam_multi_kernel<T><<<blocks, kThreads, 0, current_stream()>>>(t, h, scalars_of(args.scalars),
                                                                             skip_flag(args.skip));
            PN_CUDA_CHECK_LAUNCH();
          });
    });
  });
}

}  // namespace posenet::kernels::cuda
