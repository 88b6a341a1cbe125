// `sam2 remote`: the segment, masks and track subcommands run on a sam2
// server (the sam2.v1 API, through Sam2Client) instead of a local model:
//   sam2 remote segment --server HOST:PORT --image IMG --point x,y[,label] ...
//       [--box x0,y0,x1,y1] [--multimask] --out mask.png [--overlay PNG]
//   sam2 remote masks --server HOST:PORT --image IMG --out masks.json
//       [--overlay PNG] [--points-per-side N] ... [--use-m2m] [--single-mask]
//   sam2 remote track --server HOST:PORT --video FILE|DIR [--obj-id K]
//       [--frame N] --point x,y[,label] ... [--box ...] [--mask PNG] ...
//       --out DIR [--overlay-video out.mp4] [--reverse] [--max-frames N]
//       [--progress]
//   sam2 remote info --server HOST:PORT
// Each takes the options of the local subcommand of the same name (its
// CliSpec, without --checkpoint and --config; the grammar, outputs and
// messages are theirs: segment_command.h, masks_command.h,
// track_command.h), plus the connection options:
//   --server HOST:PORT   the server (required)
//   --timeout SECONDS    deadline of each unary call (default 60)
//   --retries N          retries of UNAVAILABLE (default 3)
//   --tls / --ca-cert PEM  TLS (system roots / this CA bundle)
//   --client-cert PEM --client-key PEM  mutual TLS (they imply TLS)
//   --token-file FILE    a bearer token on every call (default:
//                        $SAM2_TOKEN when set); sending one without TLS to
//                        a host that is not this machine is warned about
//                        (client/credentials_options.h)
// `track` uploads the video (a JPEG folder as frames, a file as chunks)
// with a progress bar on stderr (a terminal, or --progress) and shows a
// second one while the server propagates (frames_done / frames_total).
// `masks` accepts --progress for compatibility; the server does not report
// the progress of automatic mask generation. Sessions the command creates
// are deleted when it ends.
//
// Exit codes: 0 done; 2 bad arguments (unknown option, malformed value,
// INVALID_ARGUMENT or OUT_OF_RANGE from the server); 1 anything else
// (server unreachable, deadline, unreadable file, ...).
//
// Thread-safety: RunRemote has no shared state; it writes only the files
// named on its command line and to the given streams.

#ifndef SAM2_CLIENT_REMOTE_COMMAND_H_
#define SAM2_CLIENT_REMOTE_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace sam2 {

// One upload progress line (no carriage return), e.g.
// "[######..................] 1.2/4.8 MB  3.1 MB/s  uploading".
std::string FormatUploadProgress(int64_t bytes_sent, int64_t bytes_total,
                                 double elapsed_s);

// `args` excludes "sam2" and "remote": the first is the subcommand. The
// progress bars go to `err` when `err_is_tty` or with --progress.
int RunRemote(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err, bool err_is_tty = false);

}  // namespace sam2

#endif  // SAM2_CLIENT_REMOTE_COMMAND_H_
