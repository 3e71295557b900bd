#include "train/data_parallel.h"

#include <unordered_set>

#include "core/autograd.h"
#include "core/error.h"
#include "kernels/elementwise.h"

namespace posenet::train {

namespace {

bool is_float(DType t) { return t == DType::F32 || t == DType::F64; }

// Tensors packed into one flat buffer of their dtype and device, and back.
struct Bucket {
  std::vector<Tensor> members;
  int64_t numel = 0;
  Tensor flat;
  std::unique_ptr<dist::PendingReduce> pending;

  void pack() {
    const Tensor& first = members.front();
    flat = Tensor::empty({numel}, first.dtype(), first.device());
    Backend& backend = backend_for(first.device());
    size_t offset = 0;
    for (const Tensor& t : members) {
      backend.copy_device_to_device(static_cast<char*>(flat.raw_data()) + offset, t.raw_data(), t.nbytes());
      offset += t.nbytes();
    }
  }
  void unpack_scaled(double factor) {
    const Tensor scaled = ops::scale(flat, factor);
    Backend& backend = backend_for(scaled.device());
    size_t offset = 0;
    for (const Tensor& t : members) {
      backend.copy_device_to_device(t.raw_data(), static_cast<const char*>(scaled.raw_data()) + offset, t.nbytes());
      offset += t.nbytes();
    }
  }
};

}  // namespace

DataParallel::DataParallel(dist::Communicator& comm, bool sync_bn, int64_t bucket_bytes)
    : comm_(comm), sync_bn_(sync_bn), bucket_bytes_(bucket_bytes) {
  PN_CHECK(bucket_bytes > 0, "DataParallel: bucket size must be positive, got ", bucket_bytes);
}

void DataParallel::average(std::vector<double>& values) {
  if (values.empty()) return;
  Tensor t = Tensor::from_data({int64_t(values.size())}, values, DType::F64);
  comm_.all_reduce_sum(t);
  const std::vector<double> sums = t.to_vector();
  for (size_t i = 0; i < values.size(); ++i) values[i] = sums[i] / double(size());
}

void DataParallel::average_losses(double& loss, std::vector<double>& stage_losses) {
  std::vector<double> values = stage_losses;
  values.push_back(loss);
  average(values);
  loss = values.back();
  values.pop_back();
  stage_losses = std::move(values);
}

bool DataParallel::any(bool flag) {
  std::vector<double> v{flag ? 1.0 : 0.0};
  average(v);
  return v[0] > 0.0;
}

// Tensors gathered into buckets, each bucket's all-reduce started once full.
class DataParallel::Buckets {
 public:
  Buckets(dist::Communicator& comm, int64_t bucket_bytes) : comm_(comm), bucket_bytes_(bucket_bytes) {}

  void add(const Tensor& t) {
    PN_CHECK(is_float(t.dtype()), "data parallel: a ", dtype_name(t.dtype()), " tensor cannot be averaged");
    Bucket* open = buckets_.empty() || buckets_.back()->pending ? nullptr : buckets_.back().get();
    if (open != nullptr && (open->members.front().dtype() != t.dtype() || open->members.front().device() != t.device())) {
      start(*open);
      open = nullptr;
    }
    if (open == nullptr) {
      buckets_.push_back(std::make_unique<Bucket>());
      open = buckets_.back().get();
    }
    open->members.push_back(t);
    open->numel += t.numel();
    if (int64_t(size_t(open->numel) * dtype_size(t.dtype())) >= bucket_bytes_) start(*open);
  }

  // Starts the last bucket, waits for all, writes the means back.
  void finish(int ranks) {
    if (!buckets_.empty() && !buckets_.back()->pending) start(*buckets_.back());
    for (auto& b : buckets_) {
      b->pending->wait();
      b->unpack_scaled(1.0 / double(ranks));
    }
    buckets_.clear();
  }

 private:
  void start(Bucket& b) {
    b.pack();
    b.pending = comm_.start_all_reduce_sum(b.flat);
  }

  dist::Communicator& comm_;
  int64_t bucket_bytes_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
};

void DataParallel::average_in_buckets(const std::vector<Tensor>& tensors) {
  NoGradGuard no_grad;
  Buckets buckets(comm_, bucket_bytes_);
  for (const Tensor& t : tensors) buckets.add(t);
  buckets.finish(size());
}

void DataParallel::backward(const Tensor& loss, const std::vector<Tensor>& params) {
  std::unordered_set<const TensorImpl*> ours, reduced;
  for (const Tensor& p : params) ours.insert(p.impl());
  Buckets buckets(comm_, bucket_bytes_);
  {
    GradReadyScope on_ready([&](const Tensor& leaf) {
      if (!ours.count(leaf.impl()) || !reduced.insert(leaf.impl()).second) return;
      NoGradGuard no_grad;
      if (leaf.grad().numel() > 0) buckets.add(leaf.grad());
    });
    loss.backward();
  }
  // Gradients the pass did not report (none in a plain backward pass) go
  // last, in parameter order.
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.grad().defined() && p.grad().numel() > 0 && !reduced.count(p.impl())) buckets.add(p.grad());
  buckets.finish(size());
}

void DataParallel::average_gradients(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (auto it = params.rbegin(); it != params.rend(); ++it)
    if (const Tensor g = it->grad(); g.defined() && g.numel() > 0) grads.push_back(g);
  average_in_buckets(grads);
}

void DataParallel::average_buffers(const Module& model) {
  std::vector<Tensor> buffers;
  for (const auto& [name, buffer] : model.named_buffers())
    if (is_float(buffer.dtype()) && buffer.numel() > 0) buffers.push_back(buffer);
  average_in_buckets(buffers);
}

std::unique_ptr<ops::SyncBatchNormScope> DataParallel::sync_batch_norm_scope() {
  if (!sync_bn_) return nullptr;
  return std::make_unique<ops::SyncBatchNormScope>([&comm = comm_](Tensor& t) { comm.all_reduce_sum(t); });
}

}  // namespace posenet::train
