// The web page's static routes. See web_ui.h.

#include "server/web_ui.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/web_assets.h"

namespace sam2 {
namespace {

constexpr char kIndex[] = "index.html";

HttpRoute FileRoute(std::string path, const EmbeddedFile& file) {
  HttpRoute route;
  route.path = std::move(path);
  route.handler = [&file](const HttpRequest&) {
    HttpResponse response;
    response.content_type = file.content_type;
    response.body.assign(reinterpret_cast<const char*>(file.data), file.size);
    return response;
  };
  return route;
}

HttpRoute RedirectRoute(std::string path) {
  HttpRoute route;
  route.path = std::move(path);
  route.handler = [](const HttpRequest&) {
    HttpResponse response;
    response.status = 302;
    response.headers.emplace_back("Location", kWebUiPath);
    response.body = absl::StrCat("the annotation page is at ", kWebUiPath, "\n");
    return response;
  };
  return route;
}

}  // namespace

std::vector<HttpRoute> WebUiRoutes() {
  std::vector<HttpRoute> routes;
  for (const EmbeddedFile& file : WebAssets()) {
    routes.push_back(FileRoute(absl::StrCat(kWebUiPath, file.name), file));
    if (std::string(file.name) == kIndex) {
      routes.push_back(FileRoute(kWebUiPath, file));
    }
  }
  routes.push_back(RedirectRoute("/"));
  routes.push_back(RedirectRoute("/ui"));
  return routes;
}

}  // namespace sam2
