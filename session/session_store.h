// SessionStore: the table of live sessions of one server instance, with the
// limits that keep it bounded — a session cap, a byte budget for all
// sessions together, idle and absolute TTLs — and the memory of recently
// removed ids, so a client is told *why* its session is gone.
//
// Policy (DESIGN.md "Limits"): when a new session or a grown one does not
// fit, idle sessions are evicted least-recently-used first, every image
// session before any video session (an image session is cheap to recreate: one
// upload and one encoder pass; a video session holds prompts and tracking
// memory a client built up over many calls). Busy sessions (see
// Session::BeginExclusive) are never expired or evicted. Expired sessions are
// removed by Reap() (a SessionReaper calls it periodically), on the lookup
// that finds them, and before any eviction in Insert.
//
// Tenants: every session belongs to the tenant that created it (a plain
// string; "" when the server runs without authentication, and then
// everything below behaves as if there were one tenant). Lookup and Remove
// take the caller's tenant: another tenant's session — live or
// remembered by a tombstone — is answered exactly like an id that never
// existed ("no session X"), so ids and removal reasons leak nothing across
// tenants. A tenant's quotas (SessionOwner) are checked before the global
// limits: a tenant at its own session or memory quota gets
// RESOURCE_EXHAUSTED naming the quota and evicts nobody. Within its quota, a
// new session that does not fit the global cap or budget evicts idle
// sessions of any tenant by the policy above: the global budget is shared,
// and quotas whose sum stays under it are what keeps one tenant from
// pushing out another's idle sessions.
//
// Ownership: the store shares ownership of each live session (shared_ptr);
// the clock is not owned and must outlive the store. Removed sessions are
// released outside the store's mutex, so freeing a large embedding never
// stalls other requests.
//
// Thread-safety: all methods are thread-safe; one mutex guards the table
// (std::mutex; see clock.h for why not absl::Mutex). Lock order: store
// mutex, then a session's mutex. The store calls a session's NumBytes() only
// in Insert and UpdateBytes, for the session being inserted or updated, and
// outside its mutex. Evictions use the byte counts
// cached at Insert/UpdateBytes, never NumBytes() of a session another thread
// may be operating on.
//
// Cost: eviction sorts the idle sessions (O(n log n), n <= max_sessions);
// Reap is O(n). Both run under the mutex; with the default cap (256) that is
// microseconds.

#ifndef SAM2_SESSION_SESSION_STORE_H_
#define SAM2_SESSION_SESSION_STORE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/clock.h"
#include "session/session.h"
#include "session/session_id.h"

namespace sam2 {

struct SessionStoreOptions {
  // Live sessions of all kinds together.
  int64_t max_sessions = 256;
  // Bytes of tensor memory all live sessions may hold together.
  int64_t max_bytes = int64_t{8} << 30;
  // Bytes the sessions pinned to each worker (= device) may hold together,
  // by worker index, besides max_bytes: a GPU's sessions live in its own
  // memory, so each GPU has its own budget (server_app.cc sets it from the
  // device's free memory). 0, or no entry for a worker: only max_bytes.
  std::vector<int64_t> worker_max_bytes;
  // A session not used for this long expires.
  absl::Duration idle_ttl = absl::Minutes(10);
  // A session this old expires however much it is used.
  absl::Duration absolute_ttl = absl::Hours(2);
  // Removed ids remembered (oldest forgotten first) to say why a session is
  // gone; beyond that the answer is a plain "no session". ~100 bytes each.
  int64_t max_tombstones = 10000;
};

// Who creates a session, and that tenant's quotas (0: none of its own).
struct SessionOwner {
  std::string tenant;  // "" without authentication
  int64_t max_sessions = 0;
  int64_t max_bytes = 0;
};

enum class RemovalReason {
  kDeleted,
  kIdleExpired,
  kAbsoluteExpired,
  kEvicted,
  kShutdown,
};
inline constexpr int kNumRemovalReasons = 5;

// "deleted", "idle_expired", "absolute_expired", "evicted", "shutdown".
absl::string_view RemovalReasonName(RemovalReason reason);

struct SessionStoreStats {
  int64_t live_image = 0;
  int64_t live_video = 0;
  // Sum of the live sessions' cached byte counts.
  int64_t bytes_held = 0;
  // Sessions removed since the store was created, keyed
  // "<kind>/<reason>" (SessionKindName / RemovalReasonName), e.g.
  // "image/evicted". Every combination is present, zeros included, so a
  // metrics exporter always emits the full set of series.
  std::map<std::string, int64_t> removed_by_reason;
  // Live sessions and their cached bytes by tenant (tenants with at least
  // one live session).
  struct TenantUsage {
    int64_t sessions = 0;
    int64_t bytes = 0;
  };
  std::map<std::string, TenantUsage> by_tenant;
  // Live sessions and their cached bytes by the worker they are pinned to
  // (workers with a budget in the options, and any that held a session).
  std::map<int, int64_t> sessions_by_worker;
  std::map<int, int64_t> bytes_by_worker;
};

class SessionStore {
 public:
  // `instance_id` must pass ValidateInstanceId (checked; a bad one is a
  // start-up bug and aborts, since every id we minted would be unparseable).
  // `clock` is not owned and must outlive the store.
  SessionStore(SessionStoreOptions options, std::string instance_id,
               Clock* clock);
  // Removes everything as Clear() does, so operations still holding a
  // session see NOT_FOUND "... shut down" at their next BeginExclusive.
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  const std::string& instance_id() const { return instance_id_; }
  const SessionStoreOptions& options() const { return options_; }

  // Fails fast, before the expensive work of building a session:
  // RESOURCE_EXHAUSTED when the cap is reached and no idle (non-busy)
  // session could be evicted to make room. Reserves nothing: a later Insert
  // can still fail (and the byte budget is only known then). Also
  // RESOURCE_EXHAUSTED when `owner`'s tenant is at its session quota.
  absl::Status CheckCapacity(const SessionOwner& owner = {}) const;

  // Adds `session`: assigns a new id (NewSessionId(instance_id())), the
  // worker it is pinned to and its create time, and accounts
  // session->NumBytes() (called once, by this thread, which owns the new
  // session), for `owner`'s tenant. Expired idle sessions are reaped first;
  // then the tenant's quotas are checked: RESOURCE_EXHAUSTED "tenant 'acme'
  // session quota of 4 reached ..." / "tenant 'acme' memory quota: ...",
  // evicting nothing. Then, if the cap or the
  // byte budget would be exceeded, idle sessions are evicted: least recently
  // used image sessions first, then least recently used video sessions,
  // until both hold. If evicting every idle session would not be enough,
  // nothing is evicted and the result is RESOURCE_EXHAUSTED naming what was
  // exceeded ("session cap of 256 reached ...", "memory budget: 7.5 GiB held
  // by busy sessions + 1.2 GiB requested > 8.0 GiB"); a session larger than
  // the whole budget is RESOURCE_EXHAUSTED without evicting anything.
  // `worker`'s own budget (options.worker_max_bytes) is held the same way,
  // by evicting idle sessions pinned to that worker only ("memory budget of
  // worker 1: ..."). On
  // error the session is not inserted. INTERNAL for a null session, a
  // session already inserted once, or a negative NumBytes().
  absl::StatusOr<std::string> Insert(std::shared_ptr<Session> session,
                                     int worker,
                                     const SessionOwner& owner = {});

  // Finds a live session and records the use (idle expiry restarts).
  // INVALID_ARGUMENT for a malformed id (ParseSessionId's message).
  // NOT_FOUND, saying which case:
  //   "session X was created by server instance A, this is instance B
  //    (another replica, or before a restart)"
  //   "session X expired (idle for more than 10m)"
  //   "session X expired (older than 2h)"
  //   "session X was evicted to stay within the memory budget" (or
  //    "... the session cap")
  //   "session X was deleted"
  //   "session X was removed because the server shut down"
  //   "no session X" (never existed here, or removed so long ago that it is
  //    no longer remembered)
  // A session past its expiry but not yet reaped is removed here with the
  // right reason and reported as expired — unless it is busy, in which case
  // it is returned (an operation is using it; it expires after).
  // A session (or tombstone) of a tenant other than `tenant` is "no session
  // X", and is neither touched nor expired by this call.
  absl::StatusOr<std::shared_ptr<Session>> Lookup(absl::string_view id,
                                                  absl::string_view tenant = "");

  // Deletes the session (reason kDeleted). Errors as for Lookup (an expired,
  // unreaped session is reported expired, not deleted). A busy session is
  // removed from the store all the same: the running operation keeps its
  // shared_ptr and finishes normally (its results may still be returned);
  // its bytes stop counting against the budget now; any later
  // BeginExclusive on it returns NOT_FOUND "... was deleted".
  // Another tenant's session: "no session X", nothing removed.
  absl::Status Remove(absl::string_view id, absl::string_view tenant = "");

  // Re-reads session->NumBytes() after an operation changed it. Call it from
  // the thread that ran the operation (while still holding the session via
  // BeginExclusive, or just after EndExclusive). If the budget is now
  // exceeded, evicts OTHER idle sessions in the usual order (never this one,
  // which is in use), as many as needed — or all of them if that is still not
  // enough, since the bytes are already allocated and every freed byte helps.
  // Returns RESOURCE_EXHAUSTED only if still over budget after that; the
  // session stays in the store with its new size either way, and the caller
  // decides whether to fail the operation (e.g. delete the session, or report
  // the error and let TTLs and evictions catch up). NOT_FOUND / INVALID_ARGUMENT
  // as for Lookup if the session is no longer live. Does not count as a use.
  // The owning tenant's memory quota is checked first the same way: over
  // it, that tenant's own other idle sessions are evicted (least recently
  // used first), never another tenant's; RESOURCE_EXHAUSTED "tenant 'x'
  // memory quota ..." if that is not enough. The session's worker budget
  // is held last, by evicting that worker's other idle sessions.
  absl::Status UpdateBytes(absl::string_view id);

  // When `s` expires if not used again: min(last_used + idle_ttl,
  // create_time + absolute_ttl). Busy sessions are not removed at that time
  // but at the first reap/lookup after their operation ends (which itself
  // counts as a use).
  absl::Time ExpireTime(const Session& s) const;

  // Removes every expired, idle session; returns how many.
  int64_t Reap();

  // Removes every session, busy or not (reason kShutdown).
  void Clear();

  SessionStoreStats Stats() const;
  // Live sessions pinned to each of workers 0..num_workers-1 (for placing a
  // new session: WorkerPool::PickWorker).
  std::vector<int64_t> SessionsPerWorker(int num_workers) const;
  int64_t size() const;

 private:
  struct Entry {
    std::shared_ptr<Session> session;
    std::string tenant;  // the session's owner
    int worker = 0;      // the worker it is pinned to
    int64_t bytes = 0;  // cached NumBytes() (Insert / UpdateBytes)
    uint64_t seq = 0;   // insertion order: LRU tie-break
  };
  // What a tombstone remembers about a removed id.
  struct Tombstone {
    RemovalReason reason;
    bool evicted_for_cap;  // kEvicted only: cap (true) or memory (false)
    std::string tenant;    // only this tenant learns the reason
  };
  // A tenant's live sessions and bytes, and its quotas as of its last
  // Insert (the token file may change them).
  struct TenantState {
    int64_t sessions = 0;
    int64_t bytes = 0;
    int64_t max_bytes = 0;
  };
  // An idle session that may be evicted, in eviction order once sorted.
  struct Candidate {
    std::string id;
    bool is_video;
    absl::Time last_used;
    uint64_t seq;
    int64_t bytes;
    int worker;
  };
  using Graveyard = std::vector<std::shared_ptr<Session>>;

  std::string RemovalMessage(absl::string_view id,
                             const Tombstone& tombstone) const;
  // NOT_FOUND for an id not in the table (other instance / tombstone / none),
  // as `tenant` may see it.
  absl::Status NotFoundLocked(absl::string_view id,
                              const ParsedSessionId& parsed,
                              absl::string_view tenant) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RESOURCE_EXHAUSTED when `owner`'s tenant is at its session quota.
  std::optional<absl::Status> TenantSessionQuotaLocked(
      const SessionOwner& owner) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The expiry reason if `s` (last used at `last_used`) is expired at `now`.
  std::optional<RemovalReason> ExpiredReason(const Session& s,
                                             absl::Time last_used,
                                             absl::Time now) const;
  // If the entry is expired and idle, removes it and returns its NOT_FOUND.
  // `id` is by value: callers pass the table's own key, which removal frees.
  std::optional<absl::Status> RemoveIfExpiredLocked(
      std::string id, absl::Time now, Graveyard* graveyard)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Retires the session of entry `id` with `tombstone`'s message (forcing
  // it if `force`, else only if idle and not used after `last_used_at_most`)
  // and erases it. Returns whether it was removed. `id` must not refer to
  // the table's key (it is used after the erase).
  bool RemoveLocked(const std::string& id, Tombstone tombstone, bool force,
                    absl::Time last_used_at_most, Graveyard* graveyard)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t ReapLocked(absl::Time now, Graveyard* graveyard)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Idle sessions other than `exclude` (of `only_tenant` if not null, pinned
  // to `only_worker` if not negative), in eviction order.
  std::vector<Candidate> EvictionOrderLocked(
      const Session* exclude, const std::string* only_tenant = nullptr,
      int only_worker = -1) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // options_.worker_max_bytes for `worker`; 0 when it has no budget.
  int64_t WorkerBudget(int worker) const;

  const SessionStoreOptions options_;
  const std::string instance_id_;
  Clock* const clock_;

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_held_ ABSL_GUARDED_BY(mu_) = 0;
  // Live sessions and cached bytes by worker (entries may drop to 0, never
  // removed).
  struct WorkerUsage {
    int64_t sessions = 0;
    int64_t bytes = 0;
  };
  std::map<int, WorkerUsage> workers_ ABSL_GUARDED_BY(mu_);
  int64_t live_[2] ABSL_GUARDED_BY(mu_) = {0, 0};  // by SessionKind
  // Tenants with live sessions.
  absl::flat_hash_map<std::string, TenantState> tenants_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Bounded FIFO: tombstone_order_ holds the keys of tombstones_ oldest
  // first.
  absl::flat_hash_map<std::string, Tombstone> tombstones_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> tombstone_order_ ABSL_GUARDED_BY(mu_);
  int64_t removed_[2][kNumRemovalReasons] ABSL_GUARDED_BY(mu_) = {};
};

}  // namespace sam2

#endif  // SAM2_SESSION_SESSION_STORE_H_
