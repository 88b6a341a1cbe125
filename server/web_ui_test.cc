// Tests for the web page's static routes: every embedded file is served at
// /ui/NAME with its content type and the bytes of server/web/NAME, / and
// /ui redirect to /ui/, and nothing else under /ui/ exists.

#include "server/web_ui.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/web_assets.h"
#include "tests/util/http_client.h"

namespace sam2 {
namespace {

std::string ReadSource(const std::string& name) {
  std::ifstream in(absl::StrCat("server/web/", name), std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

TEST(WebUiTest, ServesEveryEmbeddedFileAsItIsInTheTree) {
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.routes = WebUiRoutes();
  auto server = HttpServer::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  std::set<std::string> names;
  for (const EmbeddedFile& file : WebAssets()) names.insert(file.name);
  // The page's modules and its style sheet are all there.
  for (const char* expected : {"index.html", "app.js", "api.js", "image.js",
                               "video.js", "masks.js", "style.css"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
  for (const EmbeddedFile& file : WebAssets()) {
    HttpReply reply = HttpGet(port, absl::StrCat("/ui/", file.name));
    EXPECT_EQ(reply.status, 200) << file.name;
    EXPECT_EQ(reply.body, ReadSource(file.name)) << file.name;
    EXPECT_FALSE(reply.body.empty()) << file.name;
  }
  EXPECT_EQ(HttpGet(port, "/ui/app.js").headers["content-type"],
            "text/javascript; charset=utf-8");
  HttpReply index = HttpGet(port, "/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.body, ReadSource("index.html"));

  for (const char* path : {"/", "/ui"}) {
    HttpReply redirect = HttpGet(port, path);
    EXPECT_EQ(redirect.status, 302) << path;
    EXPECT_EQ(redirect.headers["location"], "/ui/") << path;
  }
  EXPECT_EQ(HttpGet(port, "/ui/nope.js").status, 404);
  EXPECT_EQ(HttpGet(port, "/ui/../BUILD").status, 404);
  EXPECT_EQ(HttpPost(port, "/ui/app.js", "x").status, 405);
}

}  // namespace
}  // namespace sam2
