// Session: the base class of the service's image and video sessions, and
// their per-session exclusivity ("one operation at a time").
//
// Subclasses (later files) hold the model state: an image embedding, a video
// inference state. This class holds only what the store and the service need
// whatever the kind: identity (id, owning tenant, pinned worker, creation time), the
// last-used time that drives idle expiry, and the busy flag.
//
// Ownership: sessions live in std::shared_ptr. The SessionStore holds one
// reference while the session is live; an operation in progress holds
// another, so removing a busy session (DeleteSession during a propagation,
// server shutdown) never frees state under a running operation: the
// operation finishes on its own reference and the memory goes when it drops
// it.
//
// Thread-safety: BeginExclusive/EndExclusive/busy/operation/last_used are
// thread-safe (one std::mutex per session; see clock.h for why not
// absl::Mutex). id/tenant/worker/create_time are written once by the store
// when it inserts the session, before any other thread can obtain it (other threads
// get sessions only through the store's mutex), and are immutable
// afterwards, so reading them needs no lock. NumBytes() is
// called only by the thread that owns the session's current operation, or by
// the store in Insert/UpdateBytes on behalf of that thread; subclasses need
// not make it thread-safe beyond that.
//
// Lock order: SessionStore's mutex may be held while a Session's mutex is
// taken, never the reverse (Session never calls into the store).

#ifndef SAM2_SESSION_SESSION_H_
#define SAM2_SESSION_SESSION_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/clock.h"

namespace sam2 {

enum class SessionKind { kImage, kVideo };

// "image" / "video" (used in messages and metric labels).
absl::string_view SessionKindName(SessionKind kind);

class Session {
 public:
  explicit Session(SessionKind kind);
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  SessionKind kind() const { return kind_; }

  // Bytes of tensor memory this session holds now (real storage, not
  // logical sizes). Must be >= 0. See the banner for who may call it.
  virtual int64_t NumBytes() const = 0;

  // Set by SessionStore::Insert; empty / -1 / InfinitePast before that.
  const std::string& id() const { return id_; }
  // The tenant that created the session ("" without authentication): only
  // it can find the session in the store.
  const std::string& tenant() const { return tenant_; }
  int worker() const { return worker_; }
  absl::Time create_time() const { return create_time_; }

  // When the session was last looked up or last finished an exclusive
  // operation (idle expiry counts from here). InfinitePast before insertion.
  absl::Time last_used() const;

  // Starts an operation that must not overlap another on this session
  // (model state is not reentrant). OK: the session is now busy with
  // `operation` (a short name for messages, e.g. "propagate").
  // ABORTED "session is busy: <operation in progress>" if another operation
  // holds it. NOT_FOUND (saying why: deleted, evicted, expired, shutdown) if
  // the store has removed the session since the caller looked it up; this
  // closes the gap between a lookup and the start of the work on the
  // session's worker, during which the session could be evicted.
  absl::Status BeginExclusive(absl::string_view operation);

  // Ends the operation started by a successful BeginExclusive, and counts as
  // a use (idle expiry restarts now, not from the lookup that preceded a long
  // operation). Calling it when not busy is a no-op.
  void EndExclusive();

  // True between BeginExclusive and EndExclusive. Busy sessions are never
  // expired or evicted (Remove and Clear still remove them from the store).
  bool busy() const;

  // The name of the operation in progress; empty when not busy.
  std::string operation() const;

 private:
  friend class SessionStore;
  friend class SessionTestPeer;  // session_test.cc: the store-only entry points

  // Called by SessionStore under its mutex. False if the session was
  // already inserted once (a session belongs to one store, once).
  bool Attach(std::string id, int worker, absl::Time now, Clock* clock,
              std::string tenant = "");
  bool attached() const;
  // Records a use at `now` (the store's lookup).
  void Touch(absl::Time now);
  // Atomically: if not busy and not used after `last_used_at_most`, marks the
  // session removed (BeginExclusive returns `why` from now on) and returns
  // true. The atomicity is what makes "busy sessions are never expired or
  // evicted" hold against a concurrent BeginExclusive/EndExclusive.
  bool RetireIfIdle(const absl::Status& why,
                    absl::Time last_used_at_most = absl::InfiniteFuture());
  // Marks the session removed even if busy (Remove, Clear).
  void Retire(const absl::Status& why);
  // busy and last_used read under one lock.
  void Snapshot(bool* busy, absl::Time* last_used) const;

  const SessionKind kind_;
  // Written once by Attach before the session is published; see banner.
  std::string id_;
  std::string tenant_;
  int worker_ = -1;
  absl::Time create_time_ = absl::InfinitePast();

  mutable std::mutex mu_;
  // The store's clock while the session is in the store (EndExclusive reads
  // it); cleared on removal so a session that outlives its store never
  // touches a destroyed clock.
  Clock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool attached_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_used_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  std::string operation_ ABSL_GUARDED_BY(mu_);
  // OK while live; the NOT_FOUND status to report once removed.
  absl::Status removed_ ABSL_GUARDED_BY(mu_);
};

// Holds a session's exclusivity for one scope: BeginExclusive when built,
// EndExclusive when destroyed if it began. status() says whether it began.
class ScopedExclusive {
 public:
  ScopedExclusive(Session& session, absl::string_view operation)
      : session_(session), status_(session.BeginExclusive(operation)) {}
  ~ScopedExclusive() {
    if (status_.ok()) session_.EndExclusive();
  }
  ScopedExclusive(const ScopedExclusive&) = delete;
  ScopedExclusive& operator=(const ScopedExclusive&) = delete;

  const absl::Status& status() const { return status_; }

 private:
  Session& session_;
  const absl::Status status_;
};

}  // namespace sam2

#endif  // SAM2_SESSION_SESSION_H_
