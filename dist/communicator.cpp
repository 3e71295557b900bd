#include "dist/communicator.h"

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "core/device.h"
#include "core/error.h"
#include "dist/mpi_communicator.h"
#ifdef POSENET_WITH_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace posenet::dist {

namespace {

class ReadyReduce final : public PendingReduce {
 public:
  void wait() override {}
};

class SingleProcessCommunicator final : public Communicator {
 public:
  World world() const override { return {}; }
  std::string kind() const override { return "single process"; }
  void all_reduce_sum(Tensor&) override {}
  Tensor all_gather(const Tensor& t) override { return t.clone(); }
  void broadcast(Tensor&, int root) override {
    PN_CHECK(root == 0, "broadcast: root ", root, " is not a rank of a single-process run");
  }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override {
    std::cerr << "posenet: error: " << message << "\n";
    std::exit(1);
  }
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (end != nullptr && *end == '\0' && n > 0) ? int(n) : 0;
}

std::unique_ptr<Communicator>& process_slot() {
  static std::unique_ptr<Communicator> slot;
  return slot;
}

}  // namespace

std::unique_ptr<PendingReduce> Communicator::start_all_reduce_sum(Tensor& t) {
  all_reduce_sum(t);
  return std::make_unique<ReadyReduce>();
}

std::unique_ptr<Communicator> make_single_process_communicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

int local_cuda_index(const World& world) {
  const int devices = cuda_device_count();
  return devices > 0 ? world.local_rank % devices : world.local_rank;
}

bool mpi_compiled_in() {
#ifdef POSENET_WITH_MPI
  return true;
#else
  return false;
#endif
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

Communicator& process_communicator() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int launched = launcher_world_size();
#ifdef POSENET_WITH_MPI
    if (launched > 1 || std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) {
      process_slot() = make_mpi_communicator();
#ifdef POSENET_WITH_NCCL
      // CUDA tensors through NCCL (its communicator is made at the first CUDA collective).
      process_slot() = make_nccl_communicator(std::move(process_slot()));
#endif
      return;
    }
#endif
    if (launched > 1)
      throw InputError(detail::concat("launched as one of ", launched,
                                      " ranks, but this posenet was built without MPI: install OpenMPI "
                                      "(scripts/install-deps.sh) and rebuild, or start one process"));
    process_slot() = make_single_process_communicator();
  });
  PN_CHECK(process_slot() != nullptr, "the process communicator failed to start");
  return *process_slot();
}

void abort_run_if_distributed(const std::string& message) {
  Communicator* comm = process_slot().get();
  if (comm != nullptr && comm->size() > 1) comm->abort(message);
}

}  // namespace posenet::dist
