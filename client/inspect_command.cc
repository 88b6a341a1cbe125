#include "client/inspect_command.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "model/model_loader.h"
#include "model/safetensors.h"

namespace sam2 {

int RunInspect(const std::string& checkpoint, const std::string& config,
               std::ostream& out, std::ostream& err) {
  absl::StatusOr<LoadedModel> model = LoadModel(checkpoint, config);
  if (!model.ok()) {
    err << "sam2 inspect: " << model.status() << "\n";
    return 1;
  }
  out << DescribeLoadedModel(*model);
  return 0;
}

int RunConvert(const std::string& checkpoint, const std::string& config,
               const std::string& out_path, std::ostream& out,
               std::ostream& err) {
  if (out_path.empty()) {
    err << "sam2 convert: --out FILE.safetensors is required\n";
    return 2;
  }
  absl::StatusOr<LoadedModel> model = LoadModel(checkpoint, config);
  if (!model.ok()) {
    err << "sam2 convert: " << model.status() << "\n";
    return 1;
  }
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"sam2_config", model->config.name},
  };
  absl::Status written = WriteSafetensors(model->weights, out_path, metadata);
  if (!written.ok()) {
    err << "sam2 convert: " << written << "\n";
    return 1;
  }
  out << "wrote " << model->weights.size() << " tensors ("
      << model->weights.NumParameters() << " parameters) to " << out_path
      << "\n";
  return 0;
}

}  // namespace sam2
