#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/cuda_check.h"
#include "core/cuda_device.h"
#include "core/error.h"

namespace posenet::dist {

namespace {

ncclDataType_t nccl_type(const Tensor& t, const char* what) {
  if (t.dtype() == DType::F32) return ncclFloat32;
  if (t.dtype() == DType::F64) return ncclFloat64;
  throw Error(detail::concat(what, ": ", dtype_name(t.dtype()), " tensors are not supported (float32, float64)"));
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(std::unique_ptr<Communicator> mpi) : mpi_(std::move(mpi)) {}
  ~NcclCommunicator() override {
    if (comm_ != nullptr) {
      ncclCommDestroy(comm_);
      cudaEventDestroy(ready_);
      cudaStreamDestroy(stream_);
    }
  }

  World world() const override { return mpi_->world(); }
  void set_timeout(std::chrono::milliseconds t) override {
    Communicator::set_timeout(t);
    mpi_->set_timeout(t);
  }
  std::string kind() const override { return "NCCL"; }

  void all_reduce_sum(Tensor& t) override { start_all_reduce_sum(t)->wait(); }

  std::unique_ptr<PendingReduce> start_all_reduce_sum(Tensor& t) override {
    if (t.is_cpu()) return mpi_->start_all_reduce_sum(t);
    CudaDeviceScope scope(t.device());
    begin(t.device());
    check(ncclAllReduce(t.raw_data(), t.raw_data(), size_t(t.numel()), nccl_type(t, "all_reduce"), ncclSum, comm_,
                        stream_),
          "all_reduce");
    return finish("all_reduce");
  }

  Tensor all_gather(const Tensor& t) override {
    if (t.is_cpu()) return mpi_->all_gather(t);
    Shape shape = t.shape();
    PN_CHECK(!shape.empty(), "all_gather: a 0-dimensional tensor");
    shape[0] *= size();
    Tensor out = Tensor::empty(shape, t.dtype(), t.device());
    CudaDeviceScope scope(t.device());
    begin(t.device());
    check(ncclAllGather(t.raw_data(), out.raw_data(), size_t(t.numel()), nccl_type(t, "all_gather"), comm_, stream_),
          "all_gather");
    finish("all_gather")->wait();
    return out;
  }

  void broadcast(Tensor& t, int root) override {
    if (t.is_cpu()) return mpi_->broadcast(t, root);
    PN_CHECK(root >= 0 && root < size(), "broadcast: root ", root, " is not a rank (world size ", size(), ")");
    CudaDeviceScope scope(t.device());
    begin(t.device());
    check(ncclBroadcast(t.raw_data(), t.raw_data(), size_t(t.numel()), nccl_type(t, "broadcast"), root, comm_, stream_),
          "broadcast");
    finish("broadcast")->wait();
  }

  void barrier() override { mpi_->barrier(); }

  [[noreturn]] void abort(const std::string& message) override {
    if (comm_ != nullptr) ncclCommAbort(comm_);  // frees ranks stuck in a kernel of this communicator
    comm_ = nullptr;
    mpi_->abort(message);
    std::_Exit(1);  // not reached: the MPI communicator's abort ends the process
  }

 private:
  // The pending collective: an event on the NCCL stream, polled with the
  // timeout; then posenet's stream waits for it.
  class Pending final : public PendingReduce {
   public:
    Pending(NcclCommunicator& owner, cudaEvent_t done, int device, const char* what)
        : owner_(owner), done_(done), device_(device), what_(what) {}
    ~Pending() override {
      if (!waited_) wait();
    }
    void wait() override {
      if (waited_) return;
      waited_ = true;
      owner_.wait_for(done_, what_);
      PN_CUDA_CHECK(cudaStreamWaitEvent(current_stream(device_), done_, 0));
      cudaEventDestroy(done_);
    }

   private:
    NcclCommunicator& owner_;
    cudaEvent_t done_;
    int device_;
    const char* what_;
    bool waited_ = false;
  };

  // Creates the NCCL communicator on first use, then orders the NCCL stream
  // after everything queued so far on posenet's stream.
  void begin(Device device) {
    if (comm_ == nullptr) {
      PN_CHECK(device.index == local_cuda_index(world()), "NCCL: rank ", rank(), " reduces on ", device.str(),
               ", not on its own device cuda:", local_cuda_index(world()));
      ncclUniqueId id;
      if (is_root()) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
      // The id's bytes travel as float64 bit patterns: a broadcast copies, it never computes.
      static_assert(sizeof(ncclUniqueId) % sizeof(double) == 0);
      Tensor bytes = Tensor::zeros({int64_t(sizeof(ncclUniqueId) / sizeof(double))}, DType::F64);
      if (is_root()) std::memcpy(bytes.raw_data(), &id, sizeof id);
      mpi_->broadcast(bytes, 0);
      std::memcpy(&id, bytes.raw_data(), sizeof id);
      check(ncclCommInitRank(&comm_, size(), id, rank()), "ncclCommInitRank");
      PN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      PN_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
      device_ = device.index;
    }
    PN_CHECK(device.index == device_, "NCCL: a collective on ", device.str(), ", the communicator is on cuda:", device_);
    PN_CUDA_CHECK(cudaEventRecord(ready_, current_stream(device_)));
    PN_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }

  std::unique_ptr<PendingReduce> finish(const char* what) {
    cudaEvent_t done;
    PN_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    PN_CUDA_CHECK(cudaEventRecord(done, stream_));
    return std::make_unique<Pending>(*this, done, device_, what);
  }

  void wait_for(cudaEvent_t done, const char* what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (int polls = 0;; ++polls) {
      const cudaError_t state = cudaEventQuery(done);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady) PN_CUDA_CHECK(state);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess) abort(detail::concat(what, ": NCCL error ", ncclGetErrorString(async)));
      if (clock::now() - start > timeout())
        abort(detail::concat(what, " timed out after ",
                             std::chrono::duration_cast<std::chrono::seconds>(clock::now() - start).count(),
                             " s (--collective-timeout): another rank died or is stuck"));
      if (polls < 1000)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void check(ncclResult_t result, const char* what) {
    if (result != ncclSuccess) abort(detail::concat(what, " failed: NCCL error ", ncclGetErrorString(result)));
  }

  std::unique_ptr<Communicator> mpi_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
  int device_ = -1;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> mpi) {
  return std::make_unique<NcclCommunicator>(std::move(mpi));
}

}  // namespace posenet::dist
