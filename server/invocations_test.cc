// Tests for POST /invocations, calling the route's handler directly with the
// micro SAM 2.1 model, a real worker pool and session store: masks equal the
// session layer's (which the gRPC API serves), SageMaker's session headers,
// every rejection with its HTTP status, the time limit. The HTTP transport
// itself is tested in http_server_test and, end to end against the real
// binary, by tests/sagemaker (Python, plain HTTP).

#include "server/invocations.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "session/clock.h"
#include "tests/server/test_server.h"

namespace sam2 {
namespace {

using Json = nlohmann::json;

constexpr char kSessionHeader[] = "x-amzn-sagemaker-session-id";

class InvocationsTest : public ::testing::Test {
 protected:
  void SetUp() override { route_ = MakeRoute(kInvocationsTimeout); }

  HttpRoute MakeRoute(absl::Duration timeout) {
    InvocationsOptions options;
    options.workers = MicroModel().workers;
    options.store = &store_;
    options.pool = &pool_;
    options.draining = [this] { return draining_; };
    options.timeout = timeout;
    return InvocationsRoute(std::move(options));
  }

  static HttpRequest JsonRequest(const Json& body,
                                 const std::string& session = "") {
    HttpRequest request;
    request.method = "POST";
    request.path = "/invocations";
    request.headers.emplace("content-type", "application/json");
    if (!session.empty()) request.headers.emplace(kSessionHeader, session);
    request.body = body.dump();
    return request;
  }

  static Json ImageJson() {
    return {{"image", absl::Base64Escape(MicroImagePng())}};
  }

  HttpResponse Invoke(const HttpRequest& request) {
    return route_.handler(request);
  }

  // The masks the session layer (and so the gRPC API) gives for one click.
  static SegmentOutput ReferenceClick(float x, float y) {
    absl::StatusOr<std::unique_ptr<ImageSession>> session =
        ImageSession::Create(*MicroImageModel(), MicroImagePng(),
                             ImageSessionLimits());
    EXPECT_TRUE(session.ok()) << session.status();
    SegmentInput input;
    input.points.push_back({x, y, 1});
    absl::StatusOr<SegmentOutput> out =
        (*session)->Segment(*MicroImageModel(), input);
    EXPECT_TRUE(out.ok()) << out.status();
    return *out;
  }

  static void ExpectMasksEqual(const Json& prediction,
                               const PromptMasks& expected) {
    ASSERT_EQ(prediction["masks"].size(), expected.masks.size());
    for (size_t i = 0; i < expected.masks.size(); ++i) {
      const Json& mask = prediction["masks"][i];
      EXPECT_EQ(mask["size"], Json({expected.masks[i].height,
                                    expected.masks[i].width}));
      EXPECT_EQ(mask["counts"], expected.masks[i].data) << "mask " << i;
      EXPECT_FLOAT_EQ(prediction["scores"][i].get<float>(),
                      expected.iou_scores[i]);
    }
  }

  WorkerPool pool_{WorkerPoolOptions{1, 4, nullptr}, RealClock()};
  SessionStore store_{SessionStoreOptions(), "invtest", RealClock()};
  bool draining_ = false;
  HttpRoute route_;
};

TEST_F(InvocationsTest, RouteIsPostWithSageMakersBodyLimit) {
  EXPECT_EQ(route_.path, "/invocations");
  EXPECT_EQ(route_.methods, std::vector<std::string>{"POST"});
  EXPECT_EQ(route_.max_body_bytes, 6'000'000);
}

TEST_F(InvocationsTest, StatelessClickMatchesTheSessionLayer) {
  Json body = ImageJson();
  body["points"] = {{40.5, 30}};
  body["point_labels"] = {1};
  HttpResponse response = Invoke(JsonRequest(body));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  const Json out = Json::parse(response.body);
  ASSERT_EQ(out["predictions"].size(), 1u);
  ExpectMasksEqual(out["predictions"][0], ReferenceClick(40.5f, 30).prompts[0]);
  EXPECT_EQ(out["image_size"].size(), 2u);
  // Stateless: nothing is kept.
  EXPECT_EQ(store_.Stats().live_image, 0);
}

TEST_F(InvocationsTest, BoxesGiveOnePredictionEach) {
  Json body = ImageJson();
  body["boxes"] = {{1, 2, 30, 40}, {10, 10, 50, 50}};
  body["multimask_output"] = false;
  HttpResponse response = Invoke(JsonRequest(body));
  ASSERT_EQ(response.status, 200) << response.body;
  const Json out = Json::parse(response.body);
  ASSERT_EQ(out["predictions"].size(), 2u);
  for (const Json& prediction : out["predictions"]) {
    EXPECT_EQ(prediction["masks"].size(), 1u);
    EXPECT_EQ(prediction["scores"].size(), 1u);
  }
}

TEST_F(InvocationsTest, RawImageGivesAutomaticMasks) {
  HttpRequest request;
  request.method = "POST";
  request.headers.emplace("content-type", "image/png");
  request.body = MicroImagePng();
  HttpResponse response = Invoke(request);
  ASSERT_EQ(response.status, 200) << response.body;
  const Json out = Json::parse(response.body);
  ASSERT_TRUE(out["annotations"].is_array());

  absl::StatusOr<std::unique_ptr<ImageSession>> session = ImageSession::Create(
      *MicroImageModel(), MicroImagePng(), ImageSessionLimits());
  ASSERT_TRUE(session.ok());
  absl::StatusOr<std::vector<GeneratedMaskOutput>> expected =
      (*session)->GenerateMasks(MicroImageModel(),
                                AutomaticMaskGeneratorOptions(),
                                MaskEncoding::kRle);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(out["annotations"].size(), expected->size());
  for (size_t i = 0; i < expected->size(); ++i) {
    const Json& a = out["annotations"][i];
    EXPECT_EQ(a["segmentation"]["counts"], (*expected)[i].mask.data);
    EXPECT_EQ(a["area"], (*expected)[i].area);
    EXPECT_EQ(a["bbox"].size(), 4u);
    EXPECT_EQ(a["crop_box"].size(), 4u);
  }
}

TEST_F(InvocationsTest, AutomaticOptionsApply) {
  Json body = ImageJson();
  body["automatic"] = {{"points_per_side", 4}, {"pred_iou_thresh", 0.0},
                       {"stability_score_thresh", 0.0}};
  HttpResponse response = Invoke(JsonRequest(body));
  ASSERT_EQ(response.status, 200) << response.body;
  const Json out = Json::parse(response.body);
  // 16 points, thresholds off: some masks survive (NMS may merge some).
  EXPECT_GT(out["annotations"].size(), 0u);
  EXPECT_LE(out["annotations"].size(), 16u * 3u);
}

TEST_F(InvocationsTest, SessionLifecycle) {
  // NEW_SESSION with an image and no prompts: embed and keep only.
  HttpResponse created = Invoke(JsonRequest(ImageJson(), "NEW_SESSION"));
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_EQ(created.headers.size(), 1u);
  EXPECT_EQ(created.headers[0].first, "X-Amzn-SageMaker-New-Session-Id");
  const std::string& value = created.headers[0].second;
  const size_t semicolon = value.find("; Expires=");
  ASSERT_NE(semicolon, std::string::npos) << value;
  const std::string id = value.substr(0, semicolon);
  EXPECT_TRUE(absl::StartsWith(id, "invtest-")) << id;
  absl::Time expires;
  std::string error;
  EXPECT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", value.substr(semicolon + 10),
                              &expires, &error))
      << value << ": " << error;
  EXPECT_GT(expires, absl::Now());
  EXPECT_EQ(Json::parse(created.body)["session_id"], id);
  EXPECT_EQ(store_.Stats().live_image, 1);

  // Prompts on the kept embedding: the same masks as a fresh session.
  Json click = {{"points", {{20, 10}}}, {"point_labels", {1}}};
  HttpResponse clicked = Invoke(JsonRequest(click, id));
  ASSERT_EQ(clicked.status, 200) << clicked.body;
  ExpectMasksEqual(Json::parse(clicked.body)["predictions"][0],
                   ReferenceClick(20, 10).prompts[0]);

  // An image for an open session is refused.
  Json again = ImageJson();
  EXPECT_EQ(Invoke(JsonRequest(again, id)).status, 400);

  // Close.
  HttpResponse closed = Invoke(JsonRequest({{"close_session", true}}, id));
  ASSERT_EQ(closed.status, 200) << closed.body;
  ASSERT_EQ(closed.headers.size(), 1u);
  EXPECT_EQ(closed.headers[0],
            std::make_pair(std::string("X-Amzn-SageMaker-Closed-Session-Id"), id));
  EXPECT_EQ(store_.Stats().live_image, 0);

  // Gone: NOT_FOUND, saying so.
  HttpResponse after = Invoke(JsonRequest(click, id));
  EXPECT_EQ(after.status, 404);
  const Json error_json = Json::parse(after.body)["error"];
  EXPECT_EQ(error_json["code"], "NOT_FOUND");
  EXPECT_TRUE(absl::StrContains(error_json["message"].get<std::string>(),
                                "deleted"))
      << after.body;
}

TEST_F(InvocationsTest, NewSessionWithPromptsAnswersThemToo) {
  Json body = ImageJson();
  body["points"] = {{40.5, 30}};
  body["point_labels"] = {1};
  HttpResponse response = Invoke(JsonRequest(body, "NEW_SESSION"));
  ASSERT_EQ(response.status, 200) << response.body;
  ExpectMasksEqual(Json::parse(response.body)["predictions"][0],
                   ReferenceClick(40.5f, 30).prompts[0]);
  EXPECT_EQ(store_.Stats().live_image, 1);
}

TEST_F(InvocationsTest, FailedPromptOnNewSessionLeavesNoSession) {
  Json body = ImageJson();
  body["points"] = {{-5, 30}};  // off the image
  body["point_labels"] = {1};
  HttpResponse response = Invoke(JsonRequest(body, "NEW_SESSION"));
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(store_.Stats().live_image, 0);
}

TEST_F(InvocationsTest, RejectsBadRequestsWithTheirStatus) {
  struct Case {
    std::string name;
    HttpRequest request;
    int status;
    std::string message;  // a part of the error message
  };
  auto with_image = [](Json extra) {
    Json body = ImageJson();
    body.update(extra);
    return body;
  };
  HttpRequest text = JsonRequest(Json::object());
  text.headers = {{"content-type", "text/plain"}};
  HttpRequest not_json = JsonRequest(Json::object());
  not_json.body = "{not json";
  HttpRequest garbage_png;
  garbage_png.headers = {{"content-type", "image/png"}};
  garbage_png.body = "not a png";
  const std::vector<Case> cases = {
      {"content type", text, 415, "unsupported Content-Type"},
      {"not json", not_json, 400, "not a JSON object"},
      {"json array", JsonRequest(Json::array()), 400, "not a JSON object"},
      {"unknown field", JsonRequest(with_image({{"pointz", 1}})), 400,
       "unknown field \"pointz\""},
      {"no image", JsonRequest({{"points", {{1, 1}}}, {"point_labels", {1}}}),
       400, "image is required"},
      {"bad base64", JsonRequest({{"image", "***"}}), 400, "base64"},
      {"undecodable image", garbage_png, 400, ""},
      {"labels missing", JsonRequest(with_image({{"points", {{1, 1}}}})), 400,
       "point_labels"},
      {"labels short",
       JsonRequest(with_image({{"points", {{1, 1}, {2, 2}}}, {"point_labels", {1}}})),
       400, "point_labels"},
      {"point not a pair",
       JsonRequest(with_image({{"points", {{1, 1, 1}}}, {"point_labels", {1}}})),
       400, "points[0] must be [x, y]"},
      {"point not a number",
       JsonRequest(with_image({{"points", Json::array({Json::array({"a", 1})})},
                               {"point_labels", {1}}})),
       400, "points[0][0] must be a number"},
      {"off image",
       JsonRequest(with_image({{"points", {{1e6, 1}}}, {"point_labels", {1}}})),
       400, "on the image"},
      {"bad label",
       JsonRequest(with_image({{"points", {{1, 1}}}, {"point_labels", {7}}})),
       400, "label"},
      {"box of three", JsonRequest(with_image({{"boxes", {{1, 2, 3}}}})), 400,
       "boxes[0]"},
      {"bad automatic option",
       JsonRequest(with_image({{"automatic", {{"points_per_side", 0}}}})), 400,
       "points_per_side"},
      {"unknown automatic option",
       JsonRequest(with_image({{"automatic", {{"crop_n_layers", 1}}}})), 400,
       "unknown automatic option"},
      {"multimask not bool",
       JsonRequest(with_image({{"multimask_output", 1}})), 400,
       "multimask_output"},
      {"close without session", JsonRequest({{"close_session", true}}), 400,
       "close_session needs"},
      {"close new session",
       JsonRequest(with_image({{"close_session", true}}), "NEW_SESSION"), 400,
       "nothing to close"},
      {"new session without image", JsonRequest(Json::object(), "NEW_SESSION"),
       400,
       "needs an image"},
      {"malformed session id", JsonRequest({{"points", {{1, 1}}},
                                            {"point_labels", {1}}},
                                           "no such session"),
       400, ""},
      {"unknown session",
       JsonRequest({{"points", {{1, 1}}}, {"point_labels", {1}}},
                   "invtest-00000000000000000000000000000000"),
       404, "no session"},
  };
  for (const Case& c : cases) {
    HttpResponse response = Invoke(c.request);
    EXPECT_EQ(response.status, c.status) << c.name << ": " << response.body;
    const Json body = Json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body["error"].is_object())
        << c.name << ": " << response.body;
    EXPECT_TRUE(absl::StrContains(body["error"]["message"].get<std::string>(),
                                  c.message))
        << c.name << ": " << response.body;
  }
  EXPECT_EQ(store_.Stats().live_image, 0);
}

TEST_F(InvocationsTest, DrainingRefusesNewSessionsOnly) {
  draining_ = true;
  EXPECT_EQ(Invoke(JsonRequest(ImageJson(), "NEW_SESSION")).status, 503);
  Json body = ImageJson();
  body["points"] = {{4, 4}};
  body["point_labels"] = {1};
  EXPECT_EQ(Invoke(JsonRequest(body)).status, 200);
}

TEST_F(InvocationsTest, WorkPastTheTimeLimitIs504) {
  HttpRoute expired = MakeRoute(absl::ZeroDuration());
  HttpResponse response = expired.handler(JsonRequest(ImageJson()));
  EXPECT_EQ(response.status, 504) << response.body;
  EXPECT_EQ(Json::parse(response.body)["error"]["code"], "DEADLINE_EXCEEDED");
}

}  // namespace
}  // namespace sam2
