// The `--precision` option of the `sam2` subcommands that run the model
// locally (segment, track): the same choice and default as sam2_server's
// --precision (model/precision.h), so a local run computes what the server
// on the same machine computes.
//
// Thread-safety: UsePrecisionOption applies to the calling thread only
// (LibTorch's CPU autocast is per thread); call it on the thread that runs
// the model.

#ifndef SAM2_CLIENT_PRECISION_OPTION_H_
#define SAM2_CLIENT_PRECISION_OPTION_H_

#include "absl/status/statusor.h"
#include "client/cli_args.h"
#include "model/precision.h"

namespace sam2 {

// The option's name in CliSpec::value_options.
inline constexpr char kPrecisionOption[] = "precision";
// Its default: the server's.
inline constexpr char kDefaultPrecisionChoice[] = "auto";

// Parses --precision (default kDefaultPrecisionChoice), resolves it against
// this CPU and applies it to the calling thread. INVALID_ARGUMENT naming the
// option for an unknown value.
absl::StatusOr<Precision> UsePrecisionOption(const CliArgs& args);

}  // namespace sam2

#endif  // SAM2_CLIENT_PRECISION_OPTION_H_
