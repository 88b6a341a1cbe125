// libFuzzer harness for request validation (proto_convert.h and what it
// hands to): bytes parsed as a sam2.v1 request with protobuf, then through
// the conversion layer and the checks the session layer runs on what a
// client sent before any model work (session names, mask prompts). Built
// and run by tests/fuzz/run_fuzzer.sh (//server:proto_convert_fuzz_test).
// Input: byte 0 picks the request type, the rest is its wire encoding.
// Every refusal must be INVALID_ARGUMENT with a message; what converts must
// keep the request's meaning (counts, enum mapping, mask round trip).
// Thread-safety: libFuzzer calls it from one thread; no state.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/stubs/logging.h"
#include "model/amg_options.h"
#include "protos/sam2/v1/sam2.pb.h"
#include "server/proto_convert.h"
#include "session/mask_encoding.h"
#include "session/session_id.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sam2::EncodedMask;
using sam2::MaskEncoding;

// Masks declared larger than this are only converted, not decoded (decoding
// allocates height * width).
constexpr int64_t kMaxDecodedSide = 256;

enum class Kind : uint8_t {
  kSegment,
  kAddPrompts,
  kPropagate,
  kGenerateMasks,
  kClearPrompts,
  kGetSession,
  kCount,
};

// A session name: malformed ones are refused, well-formed ones split.
void CheckSessionName(const std::string& name) {
  const absl::StatusOr<std::string> id = sam2::SessionIdFromName(name);
  if (!id.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(id.status());
    return;
  }
  SAM2_FUZZ_CHECK(sam2::SessionName(*id) == name, "session name round trip");
  const absl::StatusOr<sam2::ParsedSessionId> parsed = sam2::ParseSessionId(*id);
  if (!parsed.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(parsed.status());
    return;
  }
  SAM2_FUZZ_CHECK(parsed->instance_id + "-" + parsed->random == *id,
                  "session id does not split into instance and random part");
}

// The encoding a request's mask_format must map to.
void CheckEncoding(sam2::v1::MaskFormat format, MaskEncoding encoding) {
  const MaskEncoding want = format == sam2::v1::MASK_FORMAT_PNG ? MaskEncoding::kPng
                            : format == sam2::v1::MASK_FORMAT_LOGITS
                                ? MaskEncoding::kLogits
                                : MaskEncoding::kRle;
  SAM2_FUZZ_CHECK(encoding == want, "mask_format mapped to another encoding");
}

// A client's mask prompt: converted back it is the same proto; decoded at
// its declared size it is refused with INVALID_ARGUMENT or has that size.
void CheckMask(const sam2::v1::Mask& proto, const EncodedMask& mask) {
  sam2::v1::Mask back;
  sam2::ToMaskProto(mask, &back);
  sam2::v1::Mask known = proto;
  known.DiscardUnknownFields();
  SAM2_FUZZ_CHECK(back.SerializeAsString() == known.SerializeAsString(),
                  "mask proto round trip");
  if (mask.height > kMaxDecodedSide || mask.width > kMaxDecodedSide) return;
  const absl::StatusOr<at::Tensor> decoded =
      mask.encoding == MaskEncoding::kLogits
          ? sam2::DecodeLogits(mask, mask.height, mask.width)
          : sam2::DecodeBinaryMask(mask, mask.height, mask.width);
  if (!decoded.ok()) {
    SAM2_FUZZ_CHECK_REJECTION(decoded.status());
    return;
  }
  SAM2_FUZZ_CHECK(decoded->dim() == 2 && decoded->size(0) == mask.height &&
                      decoded->size(1) == mask.width,
                  "decoded mask has another size");
}

template <typename Status>
bool Refused(const Status& s) {
  if (s.ok()) return false;
  SAM2_FUZZ_CHECK_REJECTION(s.status());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string that is not UTF-8: millions of lines here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size < 1) return 0;
  const Kind kind = static_cast<Kind>(data[0] % static_cast<int>(Kind::kCount));
  const void* wire = data + 1;
  const int wire_size = static_cast<int>(size - 1);
  switch (kind) {
    case Kind::kSegment: {
      sam2::v1::SegmentRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.session());
      const absl::StatusOr<sam2::SegmentInput> in = sam2::ToSegmentInput(r);
      if (Refused(in)) return 0;
      SAM2_FUZZ_CHECK(static_cast<int>(in->points.size()) == r.points_size() &&
                          static_cast<int>(in->boxes.size()) == r.boxes_size(),
                      "points or boxes lost");
      SAM2_FUZZ_CHECK(in->multimask_output ==
                          (!r.has_multimask_output() || r.multimask_output()),
                      "multimask_output default");
      CheckEncoding(r.mask_format(), in->encoding);
      SAM2_FUZZ_CHECK(!(in->mask_reference && in->mask_logits),
                      "two mask prompts at once");
      if (in->mask_logits) CheckMask(r.mask_input().logits(), *in->mask_logits);
      return 0;
    }
    case Kind::kAddPrompts: {
      sam2::v1::AddPromptsRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.session());
      const absl::StatusOr<sam2::VideoPromptInput> in =
          sam2::ToVideoPromptInput(r);
      if (Refused(in)) return 0;
      SAM2_FUZZ_CHECK(in->frame_index == r.frame_index() &&
                          in->object_id == r.object_id() &&
                          static_cast<int>(in->points.size()) == r.points_size() &&
                          in->box.has_value() == r.has_box() &&
                          in->mask.has_value() == r.has_mask(),
                      "a prompt field lost");
      CheckEncoding(r.mask_format(), in->encoding);
      if (in->mask) CheckMask(r.mask(), *in->mask);
      return 0;
    }
    case Kind::kPropagate: {
      sam2::v1::PropagateVideoRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.session());
      const absl::StatusOr<sam2::PropagationRequest> in =
          sam2::ToPropagationRequest(r);
      if (Refused(in)) return 0;
      SAM2_FUZZ_CHECK(!in->max_frames || *in->max_frames >= 0,
                      "negative max_frames accepted");
      SAM2_FUZZ_CHECK(in->start_frame.has_value() == r.has_start_frame(),
                      "start_frame lost");
      CheckEncoding(r.mask_format(), in->encoding);
      return 0;
    }
    case Kind::kGenerateMasks: {
      sam2::v1::GenerateMasksRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.session());
      const absl::StatusOr<sam2::AutomaticMaskGeneratorOptions> o =
          sam2::ToAmgOptions(r);
      if (Refused(o)) return 0;
      SAM2_FUZZ_CHECK(sam2::ValidateAmgOptions(*o).ok(),
                      "converted options fail validation");
      return 0;
    }
    case Kind::kClearPrompts: {
      sam2::v1::ClearPromptsRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.session());
      const absl::StatusOr<MaskEncoding> e = sam2::ToMaskEncoding(r.mask_format());
      if (Refused(e)) return 0;
      CheckEncoding(r.mask_format(), *e);
      return 0;
    }
    case Kind::kGetSession:
    case Kind::kCount: {
      sam2::v1::GetSessionRequest r;
      if (!r.ParseFromArray(wire, wire_size)) return 0;
      CheckSessionName(r.name());
      return 0;
    }
  }
  return 0;
}
