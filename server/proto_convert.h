// Conversions between the sam2.v1 protos and the session layer's plain C++
// types. The transport's only knowledge of the API's meaning: field
// defaults (unset multimask_output is true, unset mask format is RLE),
// session names ("sessions/{id}"), enum values, and which combinations of
// fields a request may carry. Validation of values (coordinates, labels,
// sizes) stays in session/ and model/, so it applies to every transport.
//
// Thread-safety: free functions without shared state.

#ifndef SAM2_SERVER_PROTO_CONVERT_H_
#define SAM2_SERVER_PROTO_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "protos/sam2/v1/sam2.pb.h"
#include "session/image_session.h"
#include "session/video_session.h"

namespace sam2 {

inline constexpr absl::string_view kSessionNamePrefix = "sessions/";

// "sessions/{id}" -> id. INVALID_ARGUMENT for another form.
absl::StatusOr<std::string> SessionIdFromName(absl::string_view name);
std::string SessionName(absl::string_view id);

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);

// INVALID_ARGUMENT for values outside the enum (a newer client).
absl::StatusOr<MaskEncoding> ToMaskEncoding(v1::MaskFormat format);

absl::StatusOr<SegmentInput> ToSegmentInput(const v1::SegmentRequest& request);
absl::StatusOr<AutomaticMaskGeneratorOptions> ToAmgOptions(
    const v1::GenerateMasksRequest& request);
absl::StatusOr<VideoPromptInput> ToVideoPromptInput(
    const v1::AddPromptsRequest& request);
absl::StatusOr<PropagationRequest> ToPropagationRequest(
    const v1::PropagateVideoRequest& request);

// A client's mask (rle_counts, png or logits) with its declared size.
absl::StatusOr<EncodedMask> FromMaskProto(const v1::Mask& mask);

void ToMaskProto(const EncodedMask& mask, v1::Mask* out);
void ToFrameMasksProto(const FrameMasksOutput& frame, v1::FrameMasks* out);
void ToSegmentResponse(const SegmentOutput& output, v1::SegmentResponse* out);
void ToGeneratedMaskProto(const GeneratedMaskOutput& mask,
                          v1::GeneratedMask* out);
void ToVideoSessionProto(const VideoSessionInfo& info, v1::VideoSession* out);

}  // namespace sam2

#endif  // SAM2_SERVER_PROTO_CONVERT_H_
