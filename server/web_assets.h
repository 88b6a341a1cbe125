// The web page's static files, compiled into the binary (the genrule
// //server:web_assets_cc runs server/embed_files.cc over server/web/*).
//
// Thread-safety: immutable static data.

#ifndef SAM2_SERVER_WEB_ASSETS_H_
#define SAM2_SERVER_WEB_ASSETS_H_

#include <cstddef>

#include "absl/types/span.h"

namespace sam2 {

struct EmbeddedFile {
  const char* name;          // base name, e.g. "app.js"
  const char* content_type;  // e.g. "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// Every embedded file, in the order the build listed them.
absl::Span<const EmbeddedFile> WebAssets();

}  // namespace sam2

#endif  // SAM2_SERVER_WEB_ASSETS_H_
