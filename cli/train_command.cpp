// posenet train: trains a pose model (defaults: the standard MPII recipe;
// with no data given, the built-in synthetic figures).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/command.h"
#include "core/device.h"
#include "train/stop.h"
#include "train/trainer.h"

namespace posenet::cli {
namespace {

void add_train_command(CLI::App& app) {
  auto config = std::make_shared<train::TrainConfig>();
  CLI::App* cmd = app.add_subcommand("train", "train a pose model");
  cmd->fallthrough();  // --config is the main app's (section [train])
  cmd->footer("Options also come from a config file: posenet train --config FILE, a TOML file whose [train] section "
              "holds these options by long name (configs/*.toml), or a run's config.json; the command line overrides "
              "it.");
  auto& c = *config;
  cmd->add_option("--model", c.model, "model: tiny, tiny-multistage, simplebaseline:r50, hourglass:r101, multistage:r101,r50,r50, ...")->capture_default_str();
  auto input_size = std::make_shared<std::vector<int>>();
  cmd->add_option("--input-size", *input_size,
                  "input size in pixels: a side S (square) or H W, e.g. 256 192 (heatmaps H/4 x W/4; default: the "
                  "model's)")
      ->expected(1, 2);
  cmd->add_option("--width", c.width, "encoder channel multiplier (0: the model's default)");
  cmd->add_option("--decoder-channels", c.decoder_channels, "decoder channels (0: the model's default)");
  cmd->add_option("--tick", c.tick, "multi-stage: carry each stage's decoder output into the next stage's input")->capture_default_str();
  cmd->add_option("--tock", c.tock, "multi-stage: add each stage's decoder output to the next one's")->capture_default_str();
  cmd->add_option("--pretrained", c.pretrained, "ImageNet ResNet weights (safetensors, torchvision names), one file per encoder depth: r101=PATH,r50=PATH (a plain PATH when every encoder has one depth)");
  cmd->add_option("--init-from", c.init_from, "grow this model from a checkpoint with one stage fewer");
  cmd->add_option("--data", c.data, "training data: synthetic, mpii:DIR[:split], coco:JSON:IMAGES, aic:JSON:IMAGES; ',' joins several")->capture_default_str();
  cmd->add_option("--val-data", c.val_data, "validation data (default: the valid split beside an mpii: training set)");
  cmd->add_option("--val-gt", c.val_gt, "validation ground truth gt_valid.mat (default: DIR/annot/gt_valid.mat)");
  cmd->add_option("--synthetic-count", c.synthetic_count, "images rendered for --data synthetic")->capture_default_str();
  cmd->add_option("--synthetic-size", c.synthetic_size, "side of the synthetic images")->capture_default_str();
  cmd->add_flag("--synthesize-midpoints", c.synthesize_midpoints,
                "COCO/AI Challenger: train pelvis and thorax on the hip and shoulder midpoints (default: weight 0, "
                "as for every joint a dataset lacks)");
  cmd->add_flag("--skip-bad", c.skip_bad, "log and skip bad annotations and images instead of stopping: images are checked (header) when the "
                "data is loaded; one that still fails to decode is replaced by the next decodable sample");
  cmd->add_option("--epochs", c.epochs, "epochs")->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "images per step (per process when launched by mpirun)")->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "adam or sgd")->capture_default_str();
  cmd->add_option("--lr", c.lr, "base learning rate")->capture_default_str();
  cmd->add_option("--lr-steps", c.lr_steps, "epochs at which the learning rate drops")->delimiter(',')->capture_default_str();
  cmd->add_option("--lr-factor", c.lr_factor, "learning-rate drop factor")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--sigmas", c.sigmas, "Gaussian sigma per stage (default: 2; several stages: 3 down to 2)")->delimiter(',');
  cmd->add_option("--sigmas-final", c.sigmas_final, "sigmas reached at the last epoch (linear decrease); one per stage or one for all, with --sigmas or its defaults")->delimiter(',');
  cmd->add_option("--scale-factor", c.scale_factor, "random scale: +-factor")->capture_default_str();
  cmd->add_option("--rotation-factor", c.rotation_factor, "random rotation in degrees (std)")->capture_default_str();
  cmd->add_option("--rotation-prob", c.rotation_prob, "probability of rotating a sample")->capture_default_str();
  cmd->add_option("--flip", c.flip, "random horizontal flips")->capture_default_str();
  cmd->add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", c.precision,
                  "bf16 (bfloat16 activations, float32 weights and statistics), tf32 (CUDA only) or fp32; "
                  "default: tf32 on CUDA, fp32 on the CPU (bf16 there is emulated, slow)");
  cmd->add_flag("--cuda-graph", c.cuda_graph,
               "capture the training step once as a CUDA graph and replay it (CUDA only; off until shown right on a GPU)");
  cmd->add_option("--workers", c.workers, "data-loading threads")->capture_default_str();
  CLI::Option* seed = cmd->add_option("--seed", c.seed, "seed of every random choice (with --resume: must be the run's)")
                          ->capture_default_str();
  cmd->add_option("--out", c.out, "output directory (checkpoints, log, predictions)")->capture_default_str();
  cmd->add_flag("--resume", c.resume, "continue the run in --out from its last checkpoint");
  cmd->add_option("--save-every", c.save_every, "also checkpoint every N steps (0: each epoch)")->capture_default_str();
  cmd->add_option("--max-steps", c.max_steps, "cap on steps per epoch (0: whole epochs)")->capture_default_str();
  cmd->add_option("--stop-after", c.stop_after, "stop (resumably, with a checkpoint) after this many steps in all (0: never)")->capture_default_str();
  cmd->add_option("--val-every", c.val_every, "validate every N epochs (0: never)")->capture_default_str();
  cmd->add_option("--flip-test", c.flip_test, "flip test in validation")->capture_default_str();
  cmd->add_option("--progress", c.progress, "show the progress bar")->capture_default_str();
  cmd->add_flag("--sync-bn", c.sync_bn,
                "several processes (mpirun): batch-norm statistics over every process's batch, as one batch of "
                "processes x --batch-size");
  cmd->add_option("--collective-timeout", c.collective_timeout,
                  "several processes: seconds a rank waits for the others before the run is aborted")
      ->capture_default_str();
  cmd->callback([config, seed, cmd, input_size] {
    config->seed_given = seed->count() > 0;
    if (!input_size->empty()) {
      config->input_size = input_size->front();
      config->input_width = input_size->back() == input_size->front() ? 0 : input_size->back();
    }
    // The settings given on the command line or in the config file, by
    // their config key: --resume compares only these with the run's.
    for (const CLI::Option* opt : cmd->get_options())
      if (opt->count() > 0 && !opt->get_lnames().empty()) {
        std::string key = opt->get_lnames().front();
        std::replace(key.begin(), key.end(), '-', '_');
        config->given.insert(key);
      }
    train::install_stop_handlers();
    train::Trainer trainer(*config);
    train::TrainResult r = trainer.run();
    if (r.interrupted) {
      // A signal stop exits 128 + the signal (130 for Ctrl-C, 143 for
      // SIGTERM), so scripts tell it from a finished run; --stop-after exits 0.
      if (const int sig = train::stop_signal(); sig != 0) throw ExitStatus{128 + sig};
      return;
    }
    if (!trainer.writes_files()) return;  // rank 0 reports for a data-parallel run
    std::cout << "\ntraining finished: " << r.steps << " steps, last loss " << r.last_loss;
    if (r.best_score >= 0)
      std::cout << (trainer.config().keypoints == "coco" ? ", best validation OKS AP " : ", best validation Mean PCKh@0.5 ")
                << r.best_score;
    std::cout << "\ncheckpoints: " << trainer.last_checkpoint().string() << ", " << trainer.best_checkpoint().string()
              << "\n";
    // The backend's high-water mark of memory held for tensors (on CUDA the
    // caching allocator's blocks in use, not the blocks it keeps cached).
    std::cout << "peak device memory on " << trainer.device().str() << ": " << std::fixed << std::setprecision(1)
              << double(backend_for(trainer.device()).peak_bytes()) / 1048576.0 << " MiB" << std::defaultfloat
              << "\n";
  });
}

CommandRegistrar registrar("train", add_train_command);

}  // namespace
}  // namespace posenet::cli
