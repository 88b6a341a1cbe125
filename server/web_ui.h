// The web annotation page's static routes on the HTTP side: GET /ui/NAME
// for each embedded file (server/web_assets.h), GET /ui/ for index.html,
// and GET / and /ui answered with a redirect to /ui/. Exact paths only
// (one route per file): nothing is read from the file system.
//
// Thread-safety: the handlers read immutable data.

#ifndef SAM2_SERVER_WEB_UI_H_
#define SAM2_SERVER_WEB_UI_H_

#include <vector>

#include "server/http_server.h"

namespace sam2 {

inline constexpr char kWebUiPath[] = "/ui/";

std::vector<HttpRoute> WebUiRoutes();

}  // namespace sam2

#endif  // SAM2_SERVER_WEB_UI_H_
