// posenet predict: runs a checkpoint on one image and draws the skeleton of
// the checkpoint's keypoint set.
//   posenet predict --checkpoint run/best.safetensors --image person.jpg -o out.png
// The person box defaults to the whole image; --center X Y --scale S give it
// exactly as an MPII annotation's "center" and "scale" do (1-based center,
// scale = person height / 200 px), with the same load-time adjustments
// (train::mpii_crop_box: center - 1, y + 15 S, scale x 1.25).
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "core/error.h"
#include "eval/decode.h"
#include "eval/person_box.h"
#include "train/annotation_checks.h"
#include "train/augment.h"
#include "train/checkpoint.h"
#include "train/draw.h"
#include "train/image.h"
#include "train/validate.h"

namespace posenet::cli {
namespace {

struct PredictOptions {
  std::string checkpoint, image, output;
  std::vector<double> center;  // x y, MPII's 1-based annotation center
  double scale = 0.0;          // MPII's annotation scale (height / 200 px)
  bool scale_given = false;    // without --center/--scale: the whole image
  std::string device = "cpu";
  bool flip_test = true;
  bool json = false;
  double min_confidence = 0.0;
};

// The output image's folder must exist and be writable; checked before the
// model runs, so the message says why instead of a bare "cannot write".
void check_output_writable(const std::filesystem::path& output) {
  const std::filesystem::path dir = output.parent_path().empty() ? "." : output.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw InputError(detail::concat(output.string(), ": cannot write: the folder ", dir.string(), " does not exist"));
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(detail::concat(output.string(), ": cannot write: the folder ", dir.string(), " is not writable (",
                                    std::strerror(errno), ")"));
  if (std::filesystem::is_directory(output, ec))
    throw InputError(detail::concat(output.string(), ": cannot write: it is a directory"));
}

// The image writer reports only that it failed: the cause is in errno.
void write_output_image(const std::filesystem::path& output, const train::Image& image) {
  errno = 0;
  try {
    train::write_image(output, image);
  } catch (const Error& e) {
    const int err = errno;
    throw Error(detail::concat(e.what(), err != 0 ? std::string(" (") + std::strerror(err) + ")" : std::string()));
  }
}

void run_predict(const PredictOptions& opt) {
  if (opt.output.empty()) throw Error("predict: -o/--output is required");
  if (!opt.center.empty() && opt.center.size() != 2) throw Error("predict: --center takes two numbers: x y");
  if (!opt.center.empty() && !(std::isfinite(opt.center[0]) && std::isfinite(opt.center[1])))
    throw Error(detail::concat("predict: --center must be two finite numbers (x y, 1-based pixels), got ",
                               opt.center[0], " ", opt.center[1]));
  if (opt.scale_given && !(std::isfinite(opt.scale) && opt.scale > 0))
    throw Error(detail::concat("predict: --scale must be a positive number (the person's height / 200 px), got ",
                               opt.scale));
  if (opt.center.empty() == opt.scale_given)
    throw Error("predict: --center and --scale go together (an MPII person box: its center and height / 200)");
  const Device device = parse_device(opt.device);
  check_output_writable(opt.output);
  const train::Checkpoint ck = train::read_checkpoint(opt.checkpoint);
  auto model = train::load_model_from_checkpoint(ck, device);
  const models::ModelSpec& spec = model->spec();
  train::Image image = train::read_image(opt.image);

  train::Sample person;
  person.image = opt.image;
  if (opt.center.empty()) {  // the whole image, in the Sample's own (0-based, enlarged) terms
    const eval::PersonCrop whole =
        eval::crop_of_whole_image(image.width, image.height, double(spec.input_w) / double(spec.input_h));
    person.center = whole.center;
    person.scale = whole.scale;
  } else {
    const train::CropBox box = train::mpii_crop_box({opt.center[0], opt.center[1]}, opt.scale);
    // The bounds the data set loaders apply (docs/data.md), so the crop is never degenerate.
    if (auto problem = train::person_box_problem(box.center, box.scale, image.width, image.height, opt.image))
      throw Error(detail::concat("predict: --center ", opt.center[0], " ", opt.center[1], " --scale ", opt.scale, ": ",
                                 *problem, " (after the MPII adjustment: 0-based, 15 x scale lower, 1.25 x larger)"));
    person.center = box.center;
    person.scale = box.scale;
  }
  train::CropConfig crop;
  crop.input_width = spec.input_w;
  crop.input_height = spec.input_h;
  const train::CropResult geometry = train::crop_geometry(person, image.width, train::AugmentParams{}, crop);
  Tensor input = Tensor::empty({1, spec.input_h, spec.input_w, 3});
  train::warp_normalized(image, geometry.image_to_input, crop, input.data<float>());
  if (!device.is_cpu()) input = input.to(device);

  const eval::KeypointSet& keypoints = train::keypoint_set_of(ck);
  std::vector<Tensor> heatmaps = train::predict_heatmaps(*model, input, opt.flip_test, keypoints);
  Tensor last = heatmaps.back().is_cpu() ? heatmaps.back() : heatmaps.back().to(Device::cpu());
  eval::DecodedJoints decoded = eval::decode_quarter_offset(last);
  eval::to_image_coordinates(decoded, {{person.center.x, person.center.y}}, {{person.scale, person.scale}},
                             spec.heatmap_w(), spec.heatmap_h());

  if (decoded.joints != keypoints.count())
    throw InputError(detail::concat(opt.checkpoint, ": the model predicts ", decoded.joints, " heatmaps but its keypoints are ",
                                    keypoints.title));
  std::vector<train::DrawnJoint> joints(size_t(keypoints.count()));
  nlohmann::json out = nlohmann::json::array();
  for (int j = 0; j < keypoints.count(); ++j) {
    const auto& p = decoded.at(0, j);
    const float conf = decoded.maxval(0, j);
    joints[size_t(j)] = {p.x, p.y, conf > opt.min_confidence};
    out.push_back({{"joint", keypoints.keypoint_name(j)}, {"x", p.x}, {"y", p.y}, {"confidence", conf}});
  }
  train::draw_skeleton(image, keypoints, joints);
  write_output_image(opt.output, image);
  if (opt.json) std::cout << out.dump() << "\n";
  else std::cout << "wrote " << opt.output << "\n";
}

const CommandRegistrar kRegisterPredict("predict", [](CLI::App& app) {
  auto opt = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "draw the predicted skeleton of one person onto an image");
  cmd->add_option("--checkpoint", opt->checkpoint, "a posenet checkpoint")->required();
  cmd->add_option("--image", opt->image, "input image (JPEG or PNG)")->required();
  cmd->add_option("-o,--output", opt->output, "output image (.png or .jpg)")->required();
  cmd->add_option("--center", opt->center, "person center x y as in MPII's annotations (1-based pixels; with --scale; default: the whole image)")->expected(2);
  CLI::Option* scale = cmd->add_option("--scale", opt->scale, "person scale as in MPII's annotations, height / 200 px (with --center; the crop is 1.25 x this and "
                  "centred 15 x scale px lower, as the MPII loader does)");
  cmd->add_option("--device", opt->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--flip-test", opt->flip_test, "average with the mirrored image's heatmaps")->capture_default_str();
  cmd->add_option("--min-confidence", opt->min_confidence, "do not draw joints whose heatmap peak is below this")->capture_default_str();
  cmd->add_flag("--json", opt->json, "print the joints as JSON");
  cmd->callback([opt, scale] {
    opt->scale_given = scale->count() > 0;
    run_predict(*opt);
  });
});

}  // namespace
}  // namespace posenet::cli
