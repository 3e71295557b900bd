// The processes of one data-parallel run and the collectives between them.
//
// One process per device, launched by mpirun (or srun through MPI). A
// process started without MPI gets the single-process communicator, where
// every collective is the identity: exactly the behaviour of a run without
// data parallelism.
//
// Every collective waits at most timeout(); a rank that is gone or stuck
// makes the others abort (naming this rank and the collective) instead of
// hanging. Failures end the whole run through abort(): one rank's error
// takes every rank down (MPI_Abort), so nothing waits forever on a dead peer.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace posenet::dist {

struct World {
  int rank = 0;        // 0 .. size - 1
  int size = 1;
  int local_rank = 0;  // rank among the processes of this machine
};

// The CUDA device index of this rank: its local rank among the devices it
// sees (a launcher that gives each rank only its own GPU makes that cuda:0).
int local_cuda_index(const World& world);

// An all-reduce in flight (start_all_reduce_sum): wait() finishes it.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual World world() const = 0;
  int rank() const { return world().rank; }
  int size() const { return world().size; }
  bool is_root() const { return rank() == 0; }
  // "MPI", "NCCL", "single process".
  virtual std::string kind() const = 0;

  // Sums t across ranks, in place. float32 or float64, any device.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // Starts the same sum; t must stay alive and untouched until wait().
  // The default finishes it at once.
  virtual std::unique_ptr<PendingReduce> start_all_reduce_sum(Tensor& t);
  // Every rank's t (same shape on all ranks) stacked in rank order:
  // [size * t.dim(0), ...] on t's device.
  virtual Tensor all_gather(const Tensor& t) = 0;
  // Rank root's t, copied into t on every rank.
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Prints "rank R: message" and ends every rank of the run.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

  std::chrono::milliseconds timeout() const { return timeout_; }
  // Virtual: a communicator that delegates (NCCL's, to MPI for CPU tensors
  // and barriers) passes the timeout on.
  virtual void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

 private:
  std::chrono::milliseconds timeout_{std::chrono::seconds(300)};
};

// Everything the identity: one rank of one.
std::unique_ptr<Communicator> make_single_process_communicator();

// True when this build can run several ranks (MPI compiled in).
bool mpi_compiled_in();
// The world size a launcher announces in the environment (OpenMPI's
// OMPI_COMM_WORLD_SIZE, PMI_SIZE of MPICH and Slurm), 1 when none does.
int launcher_world_size();

// The process's communicator, created on first use: MPI when a launcher
// started several ranks (NCCL on top for CUDA tensors where built), else the
// single process. Refuses a multi-rank launch in a build without MPI.
Communicator& process_communicator();

// For an error that ends the program: with several ranks, prints
// "rank R: message" and aborts every rank (returns only for one rank).
void abort_run_if_distributed(const std::string& message);

}  // namespace posenet::dist
