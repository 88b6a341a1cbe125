// The images and video frames a load test sends: read from files, or
// generated (a gradient with a few shapes, which move from frame to frame,
// so the model has something to segment and track).

#ifndef SAM2_CLIENT_LOADTEST_MEDIA_H_
#define SAM2_CLIENT_LOADTEST_MEDIA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sam2::loadtest {

// A synthetic width x height RGB image as PNG bytes.
absl::StatusOr<std::string> SyntheticImagePng(int width, int height);

// `frames` synthetic frames as JPEG bytes (quality 90), in order.
absl::StatusOr<std::vector<std::string>> SyntheticVideoJpegs(int width,
                                                             int height,
                                                             int frames);

// The whole file; NOT_FOUND / INVALID_ARGUMENT naming the path otherwise.
absl::StatusOr<std::string> ReadMediaFile(const std::string& path);

// Every *.jpg / *.jpeg (any case) in `dir`, sorted by file name (the
// reference's frame-directory layout, 00000.jpg ...).
absl::StatusOr<std::vector<std::string>> ReadFrameDirectory(
    const std::string& dir);

}  // namespace sam2::loadtest

#endif  // SAM2_CLIENT_LOADTEST_MEDIA_H_
