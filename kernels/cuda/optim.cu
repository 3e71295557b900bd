// Multi-tensor optimizer kernels: the parameters of one dtype are described
// by a table (pointers and sizes) copied to the device once per step, split
// into fixed-size chunks; block b updates chunk b. One launch per dtype.
#include <cstring>
#include <memory>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/optim.h"
#include "kernels/optim_math.h"

namespace posenet::kernels::cuda {
namespace {

constexpr int64_t kChunk = 8192;  // elements per block

template <typename T>
struct DeviceSlot {
  T* param;
  const T* grad;
  T* a;  // momentum buffer or exp_avg (nullptr: none)
  T* b;  // exp_avg_sq
  int64_t n;
  int first;
};

struct DeviceChunk {
  int32_t slot;
  int64_t start;
};

template <typename T>
__global__ void sgd_multi_kernel(const DeviceSlot<T>* slots, const DeviceChunk* chunks, SgdScalars<T> s) {
  const DeviceChunk ch = chunks[blockIdx.x];
  const DeviceSlot<T> sl = slots[ch.slot];
  const int64_t end = min(sl.n, ch.start + kChunk);
  for (int64_t i = ch.start + threadIdx.x; i < end; i += blockDim.x)
    sgd_update_element(sl.param[i], sl.grad[i], sl.a ? sl.a + i : nullptr, sl.first != 0, s);
}

template <typename T>
__global__ void adam_multi_kernel(const DeviceSlot<T>* slots, const DeviceChunk* chunks, AdamScalars<T> s) {
  const DeviceChunk ch = chunks[blockIdx.x];
  const DeviceSlot<T> sl = slots[ch.slot];
  const int64_t end = min(sl.n, ch.start + kChunk);
  for (int64_t i = ch.start + threadIdx.x; i < end; i += blockDim.x)
    adam_update_element(sl.param[i], sl.grad[i], sl.a[i], sl.b[i], s);
}

template <typename T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// Copies the slot and chunk tables of one dtype to the device; the Storage
// is freed after the launch is queued (the caching allocator is stream-ordered).
template <typename T>
struct DeviceTable {
  std::shared_ptr<Storage> storage;
  const DeviceSlot<T>* slots = nullptr;
  const DeviceChunk* chunks = nullptr;
  int64_t chunk_count = 0;

  DeviceTable(const std::vector<DeviceSlot<T>>& host_slots, Device device) {
    std::vector<DeviceChunk> host_chunks;
    for (size_t k = 0; k < host_slots.size(); ++k)
      for (int64_t start = 0; start < host_slots[k].n; start += kChunk) host_chunks.push_back({int32_t(k), start});
    chunk_count = int64_t(host_chunks.size());
    const size_t slot_bytes = host_slots.size() * sizeof(DeviceSlot<T>);
    const size_t chunk_offset = (slot_bytes + 15) / 16 * 16;
    const size_t total = chunk_offset + host_chunks.size() * sizeof(DeviceChunk);
    std::vector<unsigned char> blob(total);
    std::memcpy(blob.data(), host_slots.data(), slot_bytes);
    std::memcpy(blob.data() + chunk_offset, host_chunks.data(), host_chunks.size() * sizeof(DeviceChunk));
    storage = std::make_shared<Storage>(total, device);
    backend_for(device).copy_host_to_device(storage->data(), blob.data(), total);
    slots = static_cast<const DeviceSlot<T>*>(storage->data());
    chunks = reinterpret_cast<const DeviceChunk*>(static_cast<const unsigned char*>(storage->data()) + chunk_offset);
  }
};

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
      std::vector<DeviceSlot<T>> table;
      for (const SgdSlot* s : group)
        table.push_back({ptr<T>(s->param), ptr<T>(s->grad), ptr<T>(s->momentum), nullptr, s->param.numel(),
                         s->first ? 1 : 0});
      DeviceTable<T> dev(table, group.front()->param.device());
      const SgdScalars<T> sc{T(args.lr), T(args.momentum), T(args.weight_decay), args.nesterov};
      sgd_multi_kernel<T><<<unsigned(dev.chunk_count), kThreads, 0, current_stream()>>>(dev.slots, dev.chunks, sc);
      PN_CUDA_CHECK_LAUNCH();
    });
  });
}

void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args) {
  for_each_dtype(slots, [&](DType dtype, const std::vector<const AdamSlot*>& group) {
    dispatch_float(dtype, "Adam", [&](auto tag) {
      using T = decltype(tag);
      std::vector<DeviceSlot<T>> table;
      for (const AdamSlot* s : group)
        table.push_back({ptr<T>(s->param), ptr<T>(s->grad), ptr<T>(s->exp_avg), ptr<T>(s->exp_avg_sq),
                         s->param.numel(), 0});
      DeviceTable<T> dev(table, group.front()->param.device());
      const AdamScalars<T> sc =
          adam_scalars<T>(args.lr, args.beta1, args.beta2, args.eps, args.weight_decay, args.step);
      adam_multi_kernel<T><<<unsigned(dev.chunk_count), kThreads, 0, current_stream()>>>(dev.slots, dev.chunks, sc);
      PN_CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace posenet::kernels::cuda
