// The MPI communicator (builds with POSENET_WITH_MPI only): ranks from
// MPI_COMM_WORLD, the local rank from the ranks sharing this machine.
// Collectives are non-blocking MPI calls polled with MPI_Test until done or
// the timeout, so a dead peer ends the run instead of hanging it. CUDA
// tensors go through the host (in NCCL builds the NCCL communicator takes
// them instead).
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace posenet::dist {

// Initialises MPI (finalised when the communicator is destroyed).
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace posenet::dist
