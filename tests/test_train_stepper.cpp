// The training step queued without waits (train/train_step.h): outcomes
// come back one step late and equal the synchronous loss; a non-finite step
// is reported and skipped on the device, and so is every step after it.
#include <cmath>
#include <limits>

#include "kernels/loss.h"
#include "kernels/normalize.h"
#include "models/spec.h"
#include "test_util.h"
#include "train/loader.h"
#include "train/synthetic.h"
#include "train/train_step.h"

namespace posenet::train {
namespace {

struct Setup {
  std::shared_ptr<models::PoseModel> model;
  std::unique_ptr<Optimizer> optimizer;
  std::vector<Batch> batches;
  LoaderConfig loader;
};

// uint8: the loader's training images (normalised on the device), else float32.
Setup setup(Device device, int stages, bool uint8) {
  Setup s;
  models::ModelOptions o;
  o.input_h = o.input_w = 32;
  o.width = 0.125;
  o.decoder_channels = 16;
  Generator gen(5);
  s.model = models::build_model(models::parse_model_spec(stages == 1 ? "tiny" : "tiny-multistage", o), gen);
  s.model->to(device);
  s.model->train();
  s.optimizer = std::make_unique<Adam>(s.model->parameters(), AdamOptions{});
  static const auto dir = testing::temp_dir("stepper_synth");
  static const bool written = (write_synthetic_dataset(dir, {.count = 12, .val_count = 0, .seed = 3, .size = 48}), true);
  (void)written;
  auto data = std::make_shared<const Dataset>(load_mpii_json(dir / "annot" / "train.json", dir / "images"));
  s.loader.batch_size = 4;
  s.loader.workers = 0;
  s.loader.seed = 9;
  s.loader.crop.input_width = s.loader.crop.input_height = 32;
  s.loader.heatmap_width = s.loader.heatmap_height = 8;
  s.loader.sigmas = SigmaSchedule::arithmetic(stages, 1.5, 1.0);
  s.loader.uint8_images = uint8;
  DataLoader loader(data, s.loader);
  loader.start_epoch(0);
  while (auto b = loader.next()) s.batches.push_back(std::move(*b));
  return s;
}

ops::ImageNormalization normalization(const LoaderConfig& c) {
  return ops::ImageNormalization::from_mean_std(c.crop.mean, c.crop.std);
}

std::vector<double> weights_of(models::PoseModel& model) {
  std::vector<double> out;
  for (const Tensor& p : model.parameters())
    for (double v : p.to(Device::cpu()).to_vector()) out.push_back(v);
  return out;
}

// The loss of the model on a batch, computed the way training did before
// the targets moved into the loss: rendered maps and the plain weighted MSE.
std::vector<double> rendered_losses(models::PoseModel& model, const Batch& batch, const LoaderConfig& config,
                                    Device device) {
  NoGradGuard no_grad;
  const RenderedTargets t = rendered_targets(batch, config);
  const Tensor images = ops::normalize_images(batch.images, normalization(config));
  std::vector<Tensor> heatmaps = model.forward_heatmaps(images.to(device));
  std::vector<double> out;
  for (size_t s = 0; s < heatmaps.size(); ++s)
    out.push_back(ops::weighted_mse(heatmaps[s], t.maps[s].to(device), t.weights.to(device)).item());
  return out;
}

void outcomes_come_one_step_late(Device device) {
  for (int stages : {1, 3}) {
    SCOPED_TRACE(stages);
    Setup s = setup(device, stages, true);
    ASSERT_EQ(s.batches.size(), 3u);
    TrainStepper stepper(*s.model, *s.optimizer, device, normalization(s.loader));
    std::vector<std::vector<double>> expected;
    std::vector<StepOutcome> got;
    for (const Batch& b : s.batches) {
      expected.push_back(rendered_losses(*s.model, b, s.loader, device));
      const std::optional<StepOutcome> previous = stepper.step(b);
      EXPECT_EQ(previous.has_value(), &b != &s.batches.front());
      if (previous) got.push_back(*previous);
    }
    std::optional<StepOutcome> last = stepper.flush();
    ASSERT_TRUE(last.has_value());
    got.push_back(*last);
    EXPECT_FALSE(stepper.flush().has_value()) << "flushed twice";
    ASSERT_EQ(got.size(), expected.size());
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_TRUE(got[k].ok()) << "step " << k;
      ASSERT_EQ(got[k].stage_losses.size(), size_t(stages));
      double total = 0;
      for (size_t st = 0; st < size_t(stages); ++st) {
        EXPECT_NEAR(got[k].stage_losses[st], expected[k][st], 1e-6 * expected[k][st]) << "step " << k;
        total += expected[k][st];
      }
      EXPECT_NEAR(got[k].loss, total, 1e-6 * total) << "step " << k;
    }
  }
}

void non_finite_steps_are_skipped_on_the_device(Device device) {
  Setup s = setup(device, 1, false);
  TrainStepper stepper(*s.model, *s.optimizer, device, normalization(s.loader));
  ASSERT_FALSE(stepper.step(s.batches[0]).has_value());
  const std::vector<double> before = weights_of(*s.model);  // after step 1
  Batch poisoned = s.batches[1];
  poisoned.images = s.batches[1].images.clone();
  poisoned.images.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  const std::optional<StepOutcome> first = stepper.step(poisoned);
  ASSERT_TRUE(first && first->ok());
  // Step 3 is queued before the host learns that step 2 went wrong; its
  // finite gradients are not applied either (the flag is sticky).
  const std::optional<StepOutcome> second = stepper.step(s.batches[2]);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->ok());
  EXPECT_TRUE(second->non_finite == NonFinite::kLoss || second->non_finite == NonFinite::kGradient);
  const std::optional<StepOutcome> third = stepper.flush();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->non_finite, NonFinite::kGradient) << "finite loss, updates still skipped";
  EXPECT_EQ(weights_of(*s.model), before);
}

#define PN_STEPPER_TESTS(name, check) \
  TEST(TrainStepper, name) { check(Device::cpu()); } \
  TEST(TrainStepperCuda, name) {      \
    PN_REQUIRE_CUDA();                \
    check(Device::cuda());            \
  }

PN_STEPPER_TESTS(OutcomesComeOneStepLateAndEqualTheRenderedTargetLoss, outcomes_come_one_step_late)
PN_STEPPER_TESTS(NonFiniteStepsAreSkippedOnTheDevice, non_finite_steps_are_skipped_on_the_device)

}  // namespace
}  // namespace posenet::train
