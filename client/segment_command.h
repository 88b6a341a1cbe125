// `sam2 segment`: segments one image locally with prompts given on the
// command line and writes the mask(s) as PNG, optionally an overlay:
//   sam2 segment --checkpoint CKPT [--config YAML] --image IMG
//       --point x,y[,label] ... [--box x0,y0,x1,y1] [--multimask]
//       --out mask.png [--overlay overlay.png]
// Labels: 1 positive (default), 0 negative. Prints each mask's predicted IoU
// and the time spent embedding and predicting. Writes only the files named
// and to the given streams; returns a process exit code.

#ifndef SAM2_CLIENT_SEGMENT_COMMAND_H_
#define SAM2_CLIENT_SEGMENT_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace sam2 {

int RunSegment(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);

}  // namespace sam2

#endif  // SAM2_CLIENT_SEGMENT_COMMAND_H_
