// The registry behind build_model (models/spec.h): a spec to its model class.
#include "models/multi_stage.h"
#include "models/single_stage.h"
#include "models/spec.h"

namespace posenet::models {

std::shared_ptr<PoseModel> build_model(const ModelSpec& spec, Generator& gen) {
  spec.validate();
  if (spec.kind == ModelKind::MultiStage) return std::make_shared<MultiStageModel>(spec, gen);
  return std::make_shared<SingleStageModel>(spec, gen);
}

}  // namespace posenet::models
