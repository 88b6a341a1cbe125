#include "client/cli_args.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sam2 {

absl::StatusOr<CliArgs> CliArgs::Parse(const std::vector<std::string>& args,
                                       const CliSpec& spec) {
  CliArgs out;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || !absl::StartsWith(arg, "--") || arg == "-") {
      if (out.positional_.size() >= spec.max_positional) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument '", arg, "'"));
      }
      out.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    auto [name, inline_value] = SplitOptionArg(arg);
    const bool has_value = inline_value.has_value();
    std::string value = inline_value.value_or("");
    if (spec.switch_options.count(name)) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      }
      out.switches_.insert(name);
      continue;
    }
    if (!spec.value_options.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    out.values_[name].push_back(value);
  }
  return out;
}

std::pair<std::string, std::optional<std::string>> SplitOptionArg(
    const std::string& arg) {
  std::string name = arg.substr(2);
  if (size_t eq = name.find('='); eq != std::string::npos) {
    return {name.substr(0, eq), name.substr(eq + 1)};
  }
  return {name, std::nullopt};
}

std::string CliArgs::Get(const std::string& name,
                         const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> CliArgs::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<std::vector<double>> ParseNumberList(const std::string& text,
                                                    size_t min_count,
                                                    size_t max_count,
                                                    const std::string& what) {
  std::vector<double> values;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double v = 0;
    if (!absl::SimpleAtod(part, &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", text, "': '", part, "' is not a number"));
    }
    values.push_back(v);
  }
  if (values.size() < min_count || values.size() > max_count) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", text, "': expected ", min_count,
        min_count == max_count ? "" : absl::StrCat(" or ", max_count),
        " comma-separated numbers"));
  }
  return values;
}

}  // namespace sam2
