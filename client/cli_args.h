// CliArgs: the command line of one `sam2` subcommand — options that may
// repeat (`--point 10,20 --point 30,40`), `--name=value` or `--name value`,
// bare boolean switches, and positional arguments — checked against the
// subcommand's declared options so a typo is an error, not ignored.
// (Abseil flags keep one value per flag and are global to the binary, so
// the subcommands parse their own arguments with this.)

#ifndef SAM2_CLIENT_CLI_ARGS_H_
#define SAM2_CLIENT_CLI_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sam2 {

struct CliSpec {
  std::set<std::string> value_options;   // take a value, may repeat
  std::set<std::string> switch_options;  // booleans, no value
  // More positional arguments than this: "unexpected argument 'x'".
  size_t max_positional = static_cast<size_t>(-1);
};

class CliArgs {
 public:
  // `args` excludes the program and subcommand names.
  static absl::StatusOr<CliArgs> Parse(const std::vector<std::string>& args,
                                       const CliSpec& spec);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // Every value given, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  bool Switch(const std::string& name) const { return switches_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_;
};

// "--name=value" -> {"name", "value"}; "--name" -> {"name", nullopt}.
// `arg` must start with "--".
std::pair<std::string, std::optional<std::string>> SplitOptionArg(
    const std::string& arg);

// "x,y[,z...]": min_count..max_count finite numbers separated by commas.
// INVALID_ARGUMENT quoting `what` and the text otherwise.
absl::StatusOr<std::vector<double>> ParseNumberList(const std::string& text,
                                                    size_t min_count,
                                                    size_t max_count,
                                                    const std::string& what);

}  // namespace sam2

#endif  // SAM2_CLIENT_CLI_ARGS_H_
