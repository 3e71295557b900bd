// The communicator's collectives, run as a test binary of its own under
// `mpirun -np 2` (tests/CMakeLists.txt); without a launcher it is one rank
// and checks the single-process identity.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/device.h"
#include "dist/communicator.h"

namespace posenet::dist {
namespace {

std::vector<Device> devices() {
  std::vector<Device> out{Device::cpu()};
  if (cuda_available()) out.push_back(Device::cuda(0));  // EMU builds: host memory behind device pointers
  return out;
}

TEST(Communicator, AllReduceSumsEveryRanksValues) {
  Communicator& comm = process_communicator();
  const int n = comm.size(), r = comm.rank();
  for (Device device : devices())
    for (DType dtype : {DType::F32, DType::F64}) {
      Tensor t = Tensor::from_data({3}, std::vector<double>{double(r + 1), 0.5, -double(r)}, dtype, device);
      comm.all_reduce_sum(t);
      const std::vector<double> v = t.to_vector();
      EXPECT_DOUBLE_EQ(v[0], n * (n + 1) / 2.0) << device.str();
      EXPECT_DOUBLE_EQ(v[1], 0.5 * n);
      EXPECT_DOUBLE_EQ(v[2], -n * (n - 1) / 2.0);
    }
}

TEST(Communicator, StartedSumsFinishOnWait) {
  Communicator& comm = process_communicator();
  std::vector<Tensor> ts;
  std::vector<std::unique_ptr<PendingReduce>> pending;
  for (int i = 0; i < 4; ++i) ts.push_back(Tensor::full({1000}, double(i + comm.rank()), DType::F32));
  for (Tensor& t : ts) pending.push_back(comm.start_all_reduce_sum(t));
  for (auto& p : pending) p->wait();
  const int n = comm.size();
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(ts[size_t(i)].to_vector()[999], n * i + n * (n - 1) / 2.0);
}

TEST(Communicator, AllGatherStacksInRankOrder) {
  Communicator& comm = process_communicator();
  for (Device device : devices()) {
    const Tensor mine = Tensor::from_data({1, 2}, std::vector<double>{double(comm.rank()), 10.0 + comm.rank()},
                                          DType::F64, device);
    const Tensor all = comm.all_gather(mine);
    ASSERT_EQ(all.shape(), (Shape{comm.size(), 2}));
    EXPECT_EQ(all.device(), device);
    const std::vector<double> v = all.to_vector();
    for (int r = 0; r < comm.size(); ++r) {
      EXPECT_EQ(v[size_t(2 * r)], r);
      EXPECT_EQ(v[size_t(2 * r + 1)], 10 + r);
    }
  }
}

TEST(Communicator, BroadcastCopiesTheRootsTensor) {
  Communicator& comm = process_communicator();
  const int root = comm.size() - 1;
  for (Device device : devices()) {
    Tensor t = Tensor::full({4}, double(comm.rank() * 7 + 1), DType::F32, device);
    comm.broadcast(t, root);
    EXPECT_EQ(t.to_vector()[3], root * 7 + 1);
  }
  Tensor t = Tensor::zeros({1});
  EXPECT_THROW(comm.broadcast(t, comm.size()), Error);
}

TEST(Communicator, BarrierAndWorld) {
  Communicator& comm = process_communicator();
  EXPECT_EQ(comm.size(), launcher_world_size());
  EXPECT_GE(comm.world().local_rank, 0);
  EXPECT_LT(comm.world().local_rank, comm.size());
  comm.barrier();
}

// Run alone, with POSENET_TEST_COLLECTIVE_TIMEOUT=1, by a test that expects
// the run to end: rank 1 never reaches the barrier, rank 0 gives up after
// one second and aborts every rank, naming itself and the collective.
TEST(CommunicatorTimeout, AbsentRankEndsTheRun) {
  if (std::getenv("POSENET_TEST_COLLECTIVE_TIMEOUT") == nullptr) GTEST_SKIP() << "run by the dist_collective_timeout test";
  Communicator& comm = process_communicator();
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  comm.set_timeout(std::chrono::seconds(1));
  if (comm.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(50));
  comm.barrier();
  FAIL() << "the barrier returned although rank 1 never reached it";
}

}  // namespace
}  // namespace posenet::dist
