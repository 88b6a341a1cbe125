// `sam2 inspect CHECKPOINT [--config YAML]`: loads a checkpoint the way the
// server does and prints what it holds and the config it will run with.
// `sam2 convert CHECKPOINT --out FILE.safetensors`: rewrites the weights as
// safetensors with the same key names.
// Both return a process exit code and write only to the given streams.

#ifndef SAM2_CLIENT_INSPECT_COMMAND_H_
#define SAM2_CLIENT_INSPECT_COMMAND_H_

#include <ostream>
#include <string>

namespace sam2 {

int RunInspect(const std::string& checkpoint, const std::string& config,
               std::ostream& out, std::ostream& err);

int RunConvert(const std::string& checkpoint, const std::string& config,
               const std::string& out_path, std::ostream& out,
               std::ostream& err);

}  // namespace sam2

#endif  // SAM2_CLIENT_INSPECT_COMMAND_H_
