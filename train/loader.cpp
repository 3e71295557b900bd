#include "train/loader.h"

#include <algorithm>
#include <cstring>
#include <iostream>

#include "core/error.h"

namespace posenet::train {

namespace {
constexpr uint64_t kAugmentStream = 1;  // Generator(seed, 1): per-sample augmentation
}

PreparedSample prepare_sample(const Sample& sample, const Image& image, const AugmentParams& params,
                              const LoaderConfig& config) {
  PreparedSample out;
  out.params = params;
  out.image_width = image.width;
  out.image_height = image.height;
  out.crop = crop_geometry(sample, image.width, params, config.crop);
  const size_t values = size_t(config.crop.input_width) * size_t(config.crop.input_height) * 3;
  if (config.uint8_images) {
    out.pixels.resize(values);
    warp_pixels(image, out.crop.image_to_input, config.crop, out.pixels.data());
  } else {
    out.image.resize(values);
    warp_normalized(image, out.crop.image_to_input, config.crop, out.image.data());
  }
  return out;
}

RenderedTargets rendered_targets(const Batch& batch, const LoaderConfig& config) {
  RenderedTargets out;
  for (size_t s = 0; s < batch.sigmas.size(); ++s) {
    ops::GaussianTargets t =
        ops::gaussian_targets(batch.joints, batch.joint_weights,
                              stage_target_spec({config.crop.input_width, config.crop.input_height, config.heatmap_width,
                                                 config.heatmap_height, int(batch.joints.dim(1))},
                                                batch.sigmas, s));
    out.maps.push_back(t.maps);
    out.weights = t.weights;  // the same for every stage: the smallest sigma decides
  }
  return out;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderConfig config)
    : dataset_(std::move(dataset)), config_(std::move(config)) {
  PN_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  config_.crop.keypoints = dataset_->keypoints;  // the data decides the keypoints, flips and target count
  PN_CHECK(config_.batch_size > 0, "DataLoader: batch size must be positive, got ", config_.batch_size);
  PN_CHECK(config_.workers >= 0, "DataLoader: workers must be >= 0, got ", config_.workers);
  PN_CHECK(config_.queue_depth > 0, "DataLoader: queue depth must be positive, got ", config_.queue_depth);
  PN_CHECK(config_.crop.input_width > 0 && config_.crop.input_height > 0 && config_.heatmap_width > 0 &&
               config_.heatmap_height > 0,
           "DataLoader: input and heatmap sizes must be positive");
  config_.sigmas.validate();
  PN_CHECK(config_.shard_count > 0 && config_.shard_rank >= 0 && config_.shard_rank < config_.shard_count,
           "DataLoader: shard ", config_.shard_rank, " of ", config_.shard_count, " does not exist");
  PN_CHECK(config_.shard_count == 1 || config_.drop_last, "DataLoader: shards need drop_last (equal batches)");
}

DataLoader::~DataLoader() { stop_workers(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = int64_t(dataset_->size()), b = int64_t(config_.batch_size) * config_.shard_count;
  return config_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(dataset_->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  if (config_.shuffle) {
    Generator gen = Generator(config_.seed).fork(uint64_t(epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(gen.randint(0, int64_t(i)))]);
  }
  if (config_.shard_count > 1) {
    const int64_t B = config_.batch_size, global = B * config_.shard_count;
    std::vector<int64_t> shard;
    for (int64_t b = 0; b < batches_per_epoch(); ++b)
      for (int64_t i = 0; i < B; ++i) shard.push_back(order[size_t(b * global + config_.shard_rank * B + i)]);
    return shard;
  }
  return order;
}

AugmentParams DataLoader::sample_params(int64_t epoch, int64_t sample_index) const {
  if (!config_.augment) return {};
  Generator gen = Generator(config_.seed, kAugmentStream).fork(uint64_t(epoch) * dataset_->size() + uint64_t(sample_index));
  return draw_augmentation(config_.augmentation, gen);
}

Batch DataLoader::allocate_batch(int64_t epoch, int64_t batch_index, int64_t rows) const {
  const int64_t H = config_.crop.input_height, W = config_.crop.input_width;
  Batch batch;
  batch.epoch = epoch;
  batch.index = batch_index;
  batch.sigmas = config_.sigmas.at_epoch(int(epoch));
  batch.images = Tensor::empty({rows, H, W, 3}, config_.uint8_images ? DType::U8 : DType::F32);
  const int64_t K = config_.crop.keypoints->count();
  batch.joints = Tensor::empty({rows, K, 2}, DType::F32);
  batch.joint_weights = Tensor::empty({rows, K}, DType::F32);
  batch.sample_indices.resize(size_t(rows));
  batch.stands_in_for.resize(size_t(rows), -1);
  batch.centers.resize(size_t(rows));
  batch.scales.resize(size_t(rows));
  batch.rotations.resize(size_t(rows));
  batch.flipped.resize(size_t(rows));
  batch.image_sizes.resize(size_t(rows));
  return batch;
}

Image DataLoader::read_sample_image(int64_t index) const {
  const Sample& sample = (*dataset_)[size_t(index)];
  try {
    return read_image(sample.image);
  } catch (const InputError& e) {
    // Name the annotation entry too, so the bad record can be found.
    throw InputError(detail::concat(e.what(), " (sample of ", sample.source, ": entry ", sample.source_index, ")"));
  }
}

int64_t DataLoader::decode_replacement(int64_t index, const std::string& why, Image& image) const {
  const int64_t n = int64_t(dataset_->size());
  for (int64_t k = 1; k < n; ++k) {
    const int64_t candidate = (index + k) % n;
    try {
      image = read_sample_image(candidate);
    } catch (const InputError&) {
      continue;  // that one is logged when its own slot comes
    }
    std::lock_guard<std::mutex> lock(replaced_mutex_);
    if (replaced_logged_.insert(index).second)
      std::cerr << "posenet: warning: skipping " << why << " (--skip-bad); sample " << candidate << " (entry "
                << (*dataset_)[size_t(candidate)].source_index << ") takes its place\n";
    return candidate;
  }
  throw InputError(detail::concat(why, "; no other image of the dataset decodes either"));
}

void DataLoader::fill_row(Batch& batch, int64_t row, int64_t index) const {
  Image image;
  int64_t used = index;
  try {
    image = read_sample_image(index);
  } catch (const InputError& e) {
    if (!config_.replace_undecodable) throw;
    used = decode_replacement(index, e.what(), image);
  }
  const Sample& sample = (*dataset_)[size_t(used)];
  // The slot's own augmentation draw: a replacement that also has its own
  // slot in the epoch does not appear twice with the same crop.
  const PreparedSample p = prepare_sample(sample, image, sample_params(batch.epoch, index), config_);
  if (config_.uint8_images)
    std::memcpy(static_cast<uint8_t*>(batch.images.raw_data()) + size_t(row) * p.pixels.size(), p.pixels.data(),
                p.pixels.size());
  else
    std::memcpy(batch.images.data<float>() + size_t(row) * p.image.size(), p.image.data(), p.image.size() * sizeof(float));
  const size_t r = size_t(row), k = size_t(config_.crop.keypoints->count());
  float* joints = batch.joints.data<float>() + r * k * 2;
  float* weights = batch.joint_weights.data<float>() + r * k;
  for (size_t j = 0; j < k; ++j) {
    joints[2 * j] = float(p.crop.joints[j].x);
    joints[2 * j + 1] = float(p.crop.joints[j].y);
    weights[j] = float(p.crop.weight[j]);
  }
  batch.sample_indices[r] = used;
  batch.stands_in_for[r] = used == index ? -1 : index;
  batch.centers[r] = p.crop.center;
  batch.scales[r] = p.crop.scale;
  batch.rotations[r] = p.params.rotation_deg;
  batch.flipped[r] = p.params.flip ? 1 : 0;
  batch.image_sizes[r] = {double(p.image_width), double(p.image_height)};
}

Batch DataLoader::build_batch(int64_t epoch, int64_t batch_index, const std::vector<int64_t>& order) const {
  const int64_t begin = batch_index * config_.batch_size;
  const int64_t end = std::min<int64_t>(begin + config_.batch_size, int64_t(order.size()));
  PN_CHECK(begin < end, "DataLoader: batch ", batch_index, " is past the end of the epoch");
  Batch batch = allocate_batch(epoch, batch_index, end - begin);
  for (int64_t i = begin; i < end; ++i) fill_row(batch, i - begin, order[size_t(i)]);
  return batch;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = false;
  pending_.clear();
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop_workers();
  const int64_t total = batches_per_epoch();
  PN_CHECK(first_batch >= 0 && first_batch <= total, "DataLoader: cannot start epoch ", epoch, " at batch ",
           first_batch, " (it has ", total, " batches)");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    next_deliver_ = first_batch;
    end_ = total;
    next_position_ = first_batch * config_.batch_size;
    end_position_ = std::min<int64_t>(total * config_.batch_size, int64_t(order_.size()));
  }
  for (int i = 0; i < config_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
  const int64_t B = config_.batch_size;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] {
      return stop_ || next_position_ >= end_position_ || next_position_ / B < next_deliver_ + config_.queue_depth;
    });
    if (stop_ || next_position_ >= end_position_) return;
    const int64_t position = next_position_++;
    const int64_t b = position / B, row = position % B;
    std::unique_ptr<Pending>& slot = pending_[b];
    if (!slot) {
      slot = std::make_unique<Pending>();
      const int64_t rows = std::min(B, end_position_ - b * B);
      slot->remaining = rows;
      try {
        slot->batch = allocate_batch(epoch_, b, rows);
      } catch (...) {
        slot->error = std::current_exception();
        slot->error_row = 0;
      }
    }
    Pending* pending = slot.get();  // stays valid: only the consumer erases, after remaining hits 0
    const bool allocated = pending->batch.images.defined();
    const int64_t index = order_[size_t(position)];
    lock.unlock();
    std::exception_ptr error;
    if (allocated) {
      try {
        fill_row(pending->batch, row, index);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    if (error && (pending->error_row < 0 || row < pending->error_row)) {
      pending->error = error;
      pending->error_row = row;
    }
    if (--pending->remaining == 0) cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_deliver_ >= end_) return std::nullopt;
  const int64_t b = next_deliver_;
  if (config_.workers == 0) {
    ++next_deliver_;
    lock.unlock();
    return build_batch(epoch_, b, order_);
  }
  cv_.wait(lock, [&] {
    auto it = pending_.find(b);
    return it != pending_.end() && it->second->remaining == 0;
  });
  std::unique_ptr<Pending> done = std::move(pending_[b]);
  pending_.erase(b);
  ++next_deliver_;
  lock.unlock();
  cv_.notify_all();
  if (done->error) std::rethrow_exception(done->error);
  return std::move(done->batch);
}

}  // namespace posenet::train
