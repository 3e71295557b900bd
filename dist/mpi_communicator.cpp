#include "dist/mpi_communicator.h"

#include <mpi.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "core/error.h"

namespace posenet::dist {

namespace {

MPI_Datatype mpi_type(const Tensor& t, const char* what) {
  if (t.dtype() == DType::F32) return MPI_FLOAT;
  if (t.dtype() == DType::F64) return MPI_DOUBLE;
  throw Error(detail::concat(what, ": ", dtype_name(t.dtype()), " tensors are not supported (float32, float64)"));
}

int checked_count(const Tensor& t, const char* what) {
  PN_CHECK(t.numel() <= int64_t(1) << 30, what, ": ", t.numel(), " elements in one call is too many");
  return int(t.numel());
}

class MpiCommunicator;

// Polls one request to completion; past the timeout the run is aborted.
void wait_or_abort(MpiCommunicator& comm, MPI_Request& request, const char* what);

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      // Only the main thread calls MPI (the loader's workers never do).
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      owns_mpi_ = true;
    }
    // Errors come back as codes (checked below) rather than ending the
    // process inside MPI without a word.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_.size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_.rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &world_.local_rank);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    if (owns_mpi_) MPI_Finalize();
  }

  World world() const override { return world_; }
  std::string kind() const override { return "MPI"; }

  void all_reduce_sum(Tensor& t) override { start_all_reduce_sum(t)->wait(); }

  std::unique_ptr<PendingReduce> start_all_reduce_sum(Tensor& t) override;

  Tensor all_gather(const Tensor& t) override {
    const Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    Shape shape = host.shape();
    PN_CHECK(!shape.empty(), "all_gather: a 0-dimensional tensor");
    shape[0] *= world_.size;
    Tensor out = Tensor::empty(shape, host.dtype());
    const int n = checked_count(host, "all_gather");
    MPI_Request request;
    check(MPI_Iallgather(host.raw_data(), n, mpi_type(host, "all_gather"), out.raw_data(), n,
                         mpi_type(host, "all_gather"), MPI_COMM_WORLD, &request),
          "all_gather");
    wait_or_abort(*this, request, "all_gather");
    return t.is_cpu() ? out : out.to(t.device());
  }

  void broadcast(Tensor& t, int root) override {
    PN_CHECK(root >= 0 && root < world_.size, "broadcast: root ", root, " is not a rank (world size ", world_.size, ")");
    Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    MPI_Request request;
    check(MPI_Ibcast(host.raw_data(), checked_count(host, "broadcast"), mpi_type(host, "broadcast"), root,
                     MPI_COMM_WORLD, &request),
          "broadcast");
    wait_or_abort(*this, request, "broadcast");
    if (!t.is_cpu()) t.copy_(host);
  }

  void barrier() override {
    MPI_Request request;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier");
    wait_or_abort(*this, request, "barrier");
  }

  [[noreturn]] void abort(const std::string& message) override {
    std::cerr << "posenet: error: rank " << world_.rank << ": " << message << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // MPI_Abort does not return; should it, end this rank at least
  }

  void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    abort(detail::concat(what, " failed: ", std::string(text, size_t(length))));
  }

 private:
  World world_;
  bool owns_mpi_ = false;
};

// A sum in flight: the host copy being reduced (CUDA tensors) and where it goes back.
class MpiPendingReduce final : public PendingReduce {
 public:
  MpiPendingReduce(MpiCommunicator& comm, Tensor target, Tensor host, MPI_Request request)
      : comm_(comm), target_(std::move(target)), host_(std::move(host)), request_(request) {}
  ~MpiPendingReduce() override {
    if (!done_) wait();
  }
  void wait() override {
    if (done_) return;
    done_ = true;
    wait_or_abort(comm_, request_, "all_reduce");
    if (!target_.same(host_)) target_.copy_(host_);
  }

 private:
  MpiCommunicator& comm_;
  Tensor target_, host_;
  MPI_Request request_;
  bool done_ = false;
};

std::unique_ptr<PendingReduce> MpiCommunicator::start_all_reduce_sum(Tensor& t) {
  // In EMU builds a CUDA tensor is host memory behind a device pointer; like
  // a real one it is staged through a host copy.
  Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
  MPI_Request request;
  check(MPI_Iallreduce(MPI_IN_PLACE, host.raw_data(), checked_count(host, "all_reduce"), mpi_type(host, "all_reduce"),
                       MPI_SUM, MPI_COMM_WORLD, &request),
        "all_reduce");
  return std::make_unique<MpiPendingReduce>(*this, t, host, request);
}

void wait_or_abort(MpiCommunicator& comm, MPI_Request& request, const char* what) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline = start + comm.timeout();
  while (true) {
    int done = 0;
    comm.check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    const auto now = clock::now();
    if (now > deadline)
      comm.abort(detail::concat(what, " timed out after ",
                                std::chrono::duration_cast<std::chrono::seconds>(now - start).count(),
                                " s (--collective-timeout): another rank died or is stuck"));
    // MPI progresses a non-blocking collective only inside MPI calls: poll
    // without sleeping for the first second (a large reduction is many
    // pipelined steps), then sleep between polls so that a long wait (a
    // slower rank) does not hold a core the data loader could use.
    if (now - start < std::chrono::seconds(1))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace posenet::dist
