// The NCCL communicator (real CUDA builds with NCCL and MPI): CUDA tensors
// are reduced by NCCL on a stream of their own, ordered after the work
// queued on posenet's stream and before the work queued after wait(); CPU
// tensors, barriers and the bootstrap go through the MPI communicator it
// wraps. NCCL's communicator is created at the first CUDA collective (every
// rank reaches it at the same point of the program), on the process's
// device, from an ncclUniqueId that rank 0 draws and broadcasts over MPI.
// A collective that does not finish within the timeout, or an asynchronous
// NCCL error, aborts the NCCL communicator and then the run.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace posenet::dist {

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> mpi);

}  // namespace posenet::dist
