// End to end, many clients at once: every client works its own image and
// video sessions through the whole API in a loop while a scraper reads the
// metrics and the store's statistics; then calls that race on one session —
// deletes against propagations, cancellations against a stream that pauses
// after every frame. Run it under ThreadSanitizer too:
//   bazel test --config=tsan //tests/server:concurrency_test
// (tsan_suppressions.txt says what is suppressed there, and why).
//
// What is asserted is what must hold whatever the interleaving: every call
// ends with one of the codes its race allows, streams deliver frames in
// order and never twice, sessions end up free, the store's byte account
// returns to zero, and every stream is recorded exactly once.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"
#include "session/session_store.h"
#include "tests/server/test_server.h"

namespace sam2 {
namespace {

constexpr int kClients = 4;
// ClientsWorkTheirOwnSessionsInParallel: rounds per client, frames per video,
// frames tracked after the start frame (4 in all).
constexpr int kRounds = 2;
constexpr int kVideoFrames = 6;
constexpr int kMaxFrames = 3;
// DeletesRaceWithPropagations.
constexpr int kRaceFrames = 8;
// CancellationsRaceWithAStreamThatPausesEveryFrame.
constexpr int kCancelFrames = 8;
constexpr int kStreamsPerClient = 3;

int64_t PropagationsEnded(ServerApp& app) {
  return MetricSum(app, "sam2_requests_total{method=\"PropagateVideo\"");
}

// A client of its own (own channel, hence own connection).
class Client {
 public:
  explicit Client(const TestServer& server) : stub_(server.NewStub()) {}

  v1::Sam2Service::Stub& stub() { return *stub_; }

  grpc::Status CreateImage(v1::ImageSession* session) {
    v1::CreateImageSessionRequest request;
    request.set_image(MicroImagePng());
    return stub_->CreateImageSession(ContextWithDeadline(300).get(), request,
                                     session);
  }

  grpc::Status Segment(const std::string& name, bool box,
                       v1::SegmentResponse* response) {
    v1::SegmentRequest request;
    request.set_session(name);
    if (box) {
      v1::Box* b = request.add_boxes();
      b->set_x0(20);
      b->set_y0(30);
      b->set_x1(200);
      b->set_y1(150);
      request.set_multimask_output(false);
    } else {
      v1::Point* p = request.add_points();
      p->set_x(300);
      p->set_y(200);
      p->set_label(1);
    }
    return stub_->Segment(ContextWithDeadline(300).get(), request, response);
  }

  grpc::Status CreateVideo(int frames, v1::VideoSession* session) {
    return CreateVideoFromFrames(*stub_, frames, session);
  }

  grpc::Status AddClick(const std::string& name, int64_t object_id,
                        int frame = 0) {
    v1::AddPromptsRequest request;
    request.set_session(name);
    request.set_frame_index(frame);
    request.set_object_id(object_id);
    v1::Point* p = request.add_points();
    p->set_x(50.0f + 40 * object_id);
    p->set_y(90);
    p->set_label(1);
    v1::FrameMasks masks;
    return stub_->AddPrompts(ContextWithDeadline(300).get(), request, &masks);
  }

  // Reads the whole stream; frames must come in order, each once.
  // `after_first` runs once the first message has arrived.
  grpc::Status Propagate(const std::string& name, int max_frames, int* read,
                         const std::function<void()>& after_first = nullptr) {
    v1::PropagateVideoRequest request;
    request.set_session(name);
    if (max_frames >= 0) request.set_max_frames(max_frames);
    auto ctx = ContextWithDeadline(300);
    auto reader = stub_->PropagateVideo(ctx.get(), request);
    v1::PropagateVideoResponse r;
    *read = 0;
    while (reader->Read(&r)) {
      EXPECT_EQ(r.frame().frame_index(), *read);
      EXPECT_EQ(r.frames_done(), *read + 1);
      ++*read;
      if (*read == 1 && after_first) after_first();
    }
    if (*read == 0 && after_first) after_first();
    return reader->Finish();
  }

  grpc::Status GetVideo(const std::string& name, v1::VideoSession* session) {
    v1::GetSessionRequest request;
    request.set_name(name);
    return stub_->GetVideoSession(ContextWithDeadline(300).get(), request,
                                  session);
  }

  grpc::Status Delete(const std::string& name) {
    v1::DeleteSessionRequest request;
    request.set_name(name);
    v1::DeleteSessionResponse response;
    return stub_->DeleteSession(ContextWithDeadline(300).get(), request,
                                &response);
  }

 private:
  std::unique_ptr<v1::Sam2Service::Stub> stub_;
};

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), " ", s.error_message());
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  void Start(ServerAppOptions options = TestServerOptions()) {
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  ServerApp& app() { return server_->app(); }

  // After everything: nothing live, nothing busy, no bytes accounted.
  void ExpectStoreEmpty() {
    const SessionStoreStats stats = app().store().Stats();
    EXPECT_EQ(stats.live_image, 0);
    EXPECT_EQ(stats.live_video, 0);
    EXPECT_EQ(stats.bytes_held, 0);
  }

  std::unique_ptr<TestServer> server_;
};

TEST_F(ConcurrencyTest, ClientsWorkTheirOwnSessionsInParallel) {
  Start();
  std::atomic<bool> done{false};
  // A scraper, as Prometheus and the load balancer would be.
  std::thread scraper([&] {
    while (!done.load()) {
      EXPECT_FALSE(app().metrics().Render().empty());
      app().store().Stats();
      app().store().Reap();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c] {
      Client client(*server_);
      for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE(absl::StrCat("client ", c, " round ", round));
        v1::ImageSession image;
        grpc::Status s = client.CreateImage(&image);
        ASSERT_TRUE(s.ok()) << Describe(s);
        v1::SegmentResponse seg;
        s = client.Segment(image.name(), /*box=*/false, &seg);
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_EQ(seg.prompts_size(), 1);
        EXPECT_EQ(seg.prompts(0).masks_size(), 3);
        seg.Clear();
        s = client.Segment(image.name(), /*box=*/true, &seg);
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_EQ(seg.prompts_size(), 1);
        EXPECT_EQ(seg.prompts(0).masks_size(), 1);

        v1::VideoSession video;
        s = client.CreateVideo(kVideoFrames, &video);
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_TRUE(client.AddClick(video.name(), 1).ok());
        ASSERT_TRUE(client.AddClick(video.name(), 2).ok());
        int read = 0;
        s = client.Propagate(video.name(), kMaxFrames, &read);
        EXPECT_TRUE(s.ok()) << Describe(s);
        EXPECT_EQ(read, kMaxFrames + 1);
        v1::VideoSession info;
        s = client.GetVideo(video.name(), &info);
        ASSERT_TRUE(s.ok()) << Describe(s);
        EXPECT_EQ(info.object_ids_size(), 2);
        EXPECT_EQ(info.num_frames(), kVideoFrames);

        EXPECT_TRUE(client.Delete(image.name()).ok());
        EXPECT_TRUE(client.Delete(video.name()).ok());
        EXPECT_EQ(client.GetVideo(video.name(), &info).error_code(),
                  grpc::StatusCode::NOT_FOUND);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  done.store(true);
  scraper.join();
  EXPECT_EQ(PropagationsEnded(app()), kClients * kRounds);
  EXPECT_EQ(MetricSum(app(), "sam2_stream_frames_total"),
            kClients * kRounds * (kMaxFrames + 1));
  ExpectStoreEmpty();
}

// Dynamic batching on (--segment_max_batch=8): concurrent clicks of
// several clients, which may share decoder batches, give every client the
// scores of the same click run alone, and every call is counted in
// sam2_segment_batch_size.
TEST_F(ConcurrencyTest, BatchedSegmentsEqualTheSameClicksRunAlone) {
  ServerAppOptions options = TestServerOptions();
  options.segment_batching.max_batch = 8;
  Start(options);
  constexpr int kCalls = 6;
  // The scores of each prompt kind on a session of its own, one at a time.
  std::vector<float> alone[2];
  {
    Client client(*server_);
    v1::ImageSession image;
    ASSERT_TRUE(client.CreateImage(&image).ok());
    for (int box = 0; box < 2; ++box) {
      v1::SegmentResponse seg;
      ASSERT_TRUE(client.Segment(image.name(), box == 1, &seg).ok());
      for (float score : seg.prompts(0).iou_scores()) alone[box].push_back(score);
    }
    EXPECT_TRUE(client.Delete(image.name()).ok());
  }
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client client(*server_);
      v1::ImageSession image;
      grpc::Status s = client.CreateImage(&image);
      ASSERT_TRUE(s.ok()) << Describe(s);
      for (int i = 0; i < kCalls; ++i) {
        SCOPED_TRACE(absl::StrCat("client ", c, " call ", i));
        const int box = (c + i) % 2;
        v1::SegmentResponse seg;
        s = client.Segment(image.name(), box == 1, &seg);
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_EQ(seg.prompts_size(), 1);
        ASSERT_EQ(seg.prompts(0).iou_scores_size(),
                  static_cast<int>(alone[box].size()));
        for (int m = 0; m < seg.prompts(0).iou_scores_size(); ++m) {
          EXPECT_NEAR(seg.prompts(0).iou_scores(m), alone[box][m], 1e-5);
        }
      }
      EXPECT_TRUE(client.Delete(image.name()).ok());
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(MetricSum(app(), "sam2_segment_batch_size_sum"),
            2 + kClients * kCalls);
  ExpectStoreEmpty();
}

TEST_F(ConcurrencyTest, DeletesRaceWithPropagations) {
  Start();
  // Each client: one session deleted once its stream has delivered a frame,
  // one deleted at once (the delete may land before the stream begins).
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c] {
      Client client(*server_);
      Client deleter(*server_);
      for (bool wait_for_first : {true, false}) {
        SCOPED_TRACE(absl::StrCat("client ", c, " wait ", wait_for_first));
        v1::VideoSession video;
        grpc::Status s = client.CreateVideo(kRaceFrames, &video);
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_TRUE(client.AddClick(video.name(), 1).ok());

        std::mutex mu;
        std::condition_variable cv;
        bool first = false;
        grpc::Status deleted;
        std::thread del([&] {
          if (wait_for_first) {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return first; });
          }
          deleted = deleter.Delete(video.name());
        });
        int read = 0;
        s = client.Propagate(video.name(), -1, &read, [&] {
          std::lock_guard<std::mutex> lock(mu);
          first = true;
          cv.notify_all();
        });
        del.join();
        EXPECT_TRUE(deleted.ok()) << Describe(deleted);
        // A stream that began runs to its end on its own reference; one
        // that had not begun finds the session gone.
        if (s.ok()) {
          EXPECT_EQ(read, kRaceFrames);
        } else {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(s);
          EXPECT_FALSE(wait_for_first);
          EXPECT_EQ(read, 0);
        }
        grpc::Status gone = client.AddClick(video.name(), 1);
        EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
        EXPECT_NE(gone.error_message().find("deleted"), std::string::npos)
            << gone.error_message();
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(PropagationsEnded(app()), 2 * kClients);
  ExpectStoreEmpty();
}

TEST_F(ConcurrencyTest, CancellationsRaceWithAStreamThatPausesEveryFrame) {
  // An outbox of one message: every frame goes through the pause/resume
  // path, so cancellations land on paused streams, on frames in progress and
  // on writes in flight.
  ServerAppOptions options = TestServerOptions();
  options.limits.stream_outbox_frames = 1;
  Start(options);
  std::vector<std::string> names(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c, &names] {
      Client client(*server_);
      v1::VideoSession video;
      grpc::Status s = client.CreateVideo(kCancelFrames, &video);
      ASSERT_TRUE(s.ok()) << Describe(s);
      names[c] = video.name();
      ASSERT_TRUE(client.AddClick(video.name(), 1).ok());
      for (int i = 0; i < kStreamsPerClient; ++i) {
        // Cancel after 1, 2 or 3 messages (the stream has begun: the
        // server saw the call, so each one is recorded).
        const int cancel_after = 1 + (c + i) % 3;
        SCOPED_TRACE(absl::StrCat("client ", c, " cancel after ",
                                  cancel_after));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::minutes(5));
        v1::PropagateVideoRequest request;
        request.set_session(video.name());
        auto reader = client.stub().PropagateVideo(&ctx, request);
        v1::PropagateVideoResponse r;
        int read = 0;
        while (reader->Read(&r)) {
          EXPECT_EQ(r.frame().frame_index(), read);
          ++read;
          if (read == cancel_after) ctx.TryCancel();
        }
        s = reader->Finish();
        EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::CANCELLED)
            << Describe(s);
        if (s.ok()) {
          EXPECT_EQ(read, kCancelFrames);
        }
        // The next stream may find the session still finishing this one's
        // frame: wait for it to be released (bounded).
        EXPECT_TRUE(PollUntil([&] { return !Busy(app(), video.name()); }));
        // Meanwhile others' Gets interleave with every stream.
        v1::VideoSession info;
        EXPECT_TRUE(client.GetVideo(video.name(), &info).ok());
      }
    });
  }
  for (std::thread& t : clients) t.join();
  // Every stream was recorded once, whatever ended it.
  EXPECT_TRUE(PollUntil(
      [&] { return PropagationsEnded(app()) == kClients * kStreamsPerClient; }));
  EXPECT_EQ(PropagationsEnded(app()), kClients * kStreamsPerClient);
  Client client(*server_);
  for (const std::string& name : names) {
    if (name.empty()) continue;
    EXPECT_FALSE(Busy(app(), name));
    EXPECT_TRUE(client.Delete(name).ok());
  }
  ExpectStoreEmpty();
}

}  // namespace
}  // namespace sam2
