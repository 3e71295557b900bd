// The training/evaluation input pipeline: a multi-threaded loader with a
// bounded prefetch window that turns a Dataset into batches of normalised
// NHWC crops with their joints and joint weights. The Gaussian targets are
// not rendered here: the loss makes them where it uses them
// (ops::gaussian_weighted_mse); rendered_targets() draws them for a batch.
//
// Determinism: the epoch's order comes from Generator(seed).fork(epoch) and
// each sample's augmentation from Generator(seed, 1).fork(epoch * N + index)
// (N = dataset size, index = the sample's dataset index), so batches are
// bitwise identical whatever the number of workers, and a run can resume at
// any (epoch, batch).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "train/augment.h"
#include "train/dataset.h"
#include "train/targets.h"

namespace posenet::train {

// Names the derivation above (and the model-initialisation stream the
// trainer draws from the same seed). Checkpoints store it with the seed;
// whoever changes how randomness is derived changes this string, so a run
// cannot silently resume under another scheme.
inline constexpr const char* kRngScheme =
    "posenet-rng/1: order Generator(seed).fork(epoch); augmentation Generator(seed, 1).fork(epoch * "
    "train_samples + index); model init Generator(seed).fork(0x6d6f64656c)";

struct LoaderConfig {
  int batch_size = 32;
  int workers = 4;       // 0 = build batches on the calling thread
  int queue_depth = 4;   // batches prepared ahead of the consumer
  bool shuffle = true;
  bool drop_last = true;
  bool augment = true;   // false: the evaluation transform (no randomness)
  uint64_t seed = 0;
  AugmentConfig augmentation;
  CropConfig crop;
  int heatmap_width = 64;
  int heatmap_height = 64;
  // Batch::images as 8-bit pixels (the warp rounded to nearest), to be
  // normalised on the device (ops::normalize_images): what training uses,
  // a quarter of the bytes to upload. false: normalised float32 crops.
  bool uint8_images = false;
  SigmaSchedule sigmas = SigmaSchedule::constant(1, 2.0);
  // A sample whose image fails to decode (a corrupt body behind a header
  // that passed the load-time check): false stops with the error naming the
  // image and entry; true logs it (once per sample) and fills the row with
  // the next sample in dataset order whose image decodes (index + 1, + 2,
  // ..., wrapping), augmented with the failed slot's own draw. Which images
  // decode is a property of the files, so batches stay identical for any
  // worker count. The row's stands_in_for names the failed sample.
  bool replace_undecodable = false;
  // Data parallelism: shard_rank of shard_count processes each take rows
  // [rank * B, (rank + 1) * B) of every global batch of shard_count * B
  // samples drawn from the epoch order (B = batch_size); augmentation stays
  // keyed by (epoch, sample), so the global batch is the same for any count.
  int shard_rank = 0;
  int shard_count = 1;
};

struct Batch {
  int64_t epoch = 0;
  int64_t index = 0;                  // batch index within the epoch
  Tensor images;                      // [B, H, W, 3] CPU: float32 normalised, or uint8 (LoaderConfig::uint8_images)
  Tensor joints;                      // [B, K, 2] float32, CPU: in input pixels (K: the keypoint set's count)
  Tensor joint_weights;               // [B, K] float32, CPU: > 0 = labelled (visibility is the target rule's)
  std::vector<double> sigmas;         // per stage, the targets' sigmas in this epoch
  std::vector<int64_t> sample_indices;  // the dataset sample each row holds
  std::vector<int64_t> stands_in_for;   // -1, or the undecodable sample the row replaces
  std::vector<Point2> centers;        // crop center (original pixels, unflipped)
  std::vector<double> scales;         // crop scale after augmentation
  std::vector<double> rotations;      // degrees
  std::vector<uint8_t> flipped;
  std::vector<Point2> image_sizes;    // original (width, height)

  int64_t size() const { return int64_t(sample_indices.size()); }
};

// One prepared sample (what the loader puts in a batch row).
struct PreparedSample {
  std::vector<float> image;     // [H, W, 3] normalised, unless config.uint8_images
  std::vector<uint8_t> pixels;  // [H, W, 3] when config.uint8_images
  AugmentParams params;
  CropResult crop;           // joints in input pixels and their weights
  int image_width = 0, image_height = 0;
};
PreparedSample prepare_sample(const Sample& sample, const Image& image, const AugmentParams& params,
                              const LoaderConfig& config);

// The per-stage Gaussian targets of a batch, as the loss makes them
// (ops::gaussian_targets with the batch's sigmas, the smallest deciding
// visibility): for visualisation and tests; training does not render them.
struct RenderedTargets {
  std::vector<Tensor> maps;  // per stage: [B, Hh, Wh, K] float32
  Tensor weights;            // [B, K] float32: 1 = supervised, 0 = not
};
RenderedTargets rendered_targets(const Batch& batch, const LoaderConfig& config);

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderConfig config);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  const LoaderConfig& config() const { return config_; }
  const Dataset& dataset() const { return *dataset_; }

  // Starts (or restarts) producing epoch's batches from first_batch on.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch in order, or nullopt after the epoch's last. Rethrows a
  // worker's error (which names the file) when its batch is reached.
  std::optional<Batch> next();

  // The sample order of an epoch (a pure function of seed and epoch): with
  // shards, this shard's rows of each global batch, in order.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // The augmentation of one sample in one epoch.
  AugmentParams sample_params(int64_t epoch, int64_t sample_index) const;
  // Builds one batch synchronously (what workers=0 runs).
  Batch build_batch(int64_t epoch, int64_t batch_index, const std::vector<int64_t>& order) const;

 private:
  // An empty batch of `rows` samples (tensors allocated, metadata sized).
  Batch allocate_batch(int64_t epoch, int64_t batch_index, int64_t rows) const;
  // Prepares dataset sample `index` into row `row` of batch.
  void fill_row(Batch& batch, int64_t row, int64_t index) const;
  // The decoded image of sample `index`; errors name the image and the entry.
  Image read_sample_image(int64_t index) const;
  // replace_undecodable: logs why `index` failed, decodes the replacement
  // into `image` and returns its index.
  int64_t decode_replacement(int64_t index, const std::string& why, Image& image) const;
  void stop_workers();
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  LoaderConfig config_;
  mutable std::mutex replaced_mutex_;
  mutable std::set<int64_t> replaced_logged_;  // samples whose replacement was logged

  // Workers claim single samples (epoch positions) of the batches in the
  // window [next_deliver_, next_deliver_ + queue_depth), so all of them work
  // even on one batch; a batch is ready when all its rows are filled.
  struct Pending {
    Batch batch;
    int64_t remaining = 0;
    int64_t error_row = -1;  // the lowest failing row, so the error is deterministic
    std::exception_ptr error;
  };
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_position_ = 0, end_position_ = 0;  // sample positions in the epoch
  int64_t next_deliver_ = 0, end_ = 0;            // batch indices
  std::map<int64_t, std::unique_ptr<Pending>> pending_;
};

}  // namespace posenet::train
