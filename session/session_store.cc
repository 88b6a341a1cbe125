// SessionStore: live-session table, limits, eviction, expiry, tombstones.
// See session_store.h for the policy, ownership and locking rules.

#include "session/session_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sam2 {
namespace {

int KindIndex(SessionKind kind) { return kind == SessionKind::kVideo ? 1 : 0; }

// Human-readable byte counts for messages: "512 B", "3.0 KiB", "1.2 GiB".
std::string FormatBytes(int64_t bytes) {
  constexpr double kKiB = 1024.0;
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (b < kKiB * kKiB) return absl::StrFormat("%.1f KiB", b / kKiB);
  if (b < kKiB * kKiB * kKiB) return absl::StrFormat("%.1f MiB", b / (kKiB * kKiB));
  return absl::StrFormat("%.1f GiB", b / (kKiB * kKiB * kKiB));
}

}  // namespace

absl::string_view RemovalReasonName(RemovalReason reason) {
  switch (reason) {
    case RemovalReason::kDeleted:
      return "deleted";
    case RemovalReason::kIdleExpired:
      return "idle_expired";
    case RemovalReason::kAbsoluteExpired:
      return "absolute_expired";
    case RemovalReason::kEvicted:
      return "evicted";
    case RemovalReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

SessionStore::SessionStore(SessionStoreOptions options, std::string instance_id,
                           Clock* clock)
    : options_(std::move(options)),
      instance_id_(std::move(instance_id)),
      clock_(clock) {
  const absl::Status valid = ValidateInstanceId(instance_id_);
  ABSL_RAW_CHECK(valid.ok(), "SessionStore: invalid instance id");
  ABSL_RAW_CHECK(clock_ != nullptr, "SessionStore: null clock");
}

SessionStore::~SessionStore() { Clear(); }

std::string SessionStore::RemovalMessage(absl::string_view id,
                                         const Tombstone& tombstone) const {
  switch (tombstone.reason) {
    case RemovalReason::kDeleted:
      return absl::StrCat("session ", id, " was deleted");
    case RemovalReason::kIdleExpired:
      return absl::StrCat("session ", id, " expired (idle for more than ",
                          absl::FormatDuration(options_.idle_ttl), ")");
    case RemovalReason::kAbsoluteExpired:
      return absl::StrCat("session ", id, " expired (older than ",
                          absl::FormatDuration(options_.absolute_ttl), ")");
    case RemovalReason::kEvicted:
      return absl::StrCat("session ", id, " was evicted to stay within the ",
                          tombstone.evicted_for_cap ? "session cap"
                                                    : "memory budget");
    case RemovalReason::kShutdown:
      return absl::StrCat("session ", id,
                          " was removed because the server shut down");
  }
  return absl::StrCat("session ", id, " was removed");
}

absl::Status SessionStore::NotFoundLocked(absl::string_view id,
                                          const ParsedSessionId& parsed,
                                          absl::string_view tenant) const {
  if (parsed.instance_id != instance_id_) {
    return absl::NotFoundError(absl::StrCat(
        "session ", id, " was created by server instance ", parsed.instance_id,
        ", this is instance ", instance_id_,
        " (another replica, or before a restart)"));
  }
  auto it = tombstones_.find(id);
  if (it != tombstones_.end() && it->second.tenant == tenant) {
    return absl::NotFoundError(RemovalMessage(id, it->second));
  }
  return absl::NotFoundError(absl::StrCat("no session ", id));
}

absl::Time SessionStore::ExpireTime(const Session& s) const {
  return std::min(s.last_used() + options_.idle_ttl,
                  s.create_time() + options_.absolute_ttl);
}

std::optional<RemovalReason> SessionStore::ExpiredReason(
    const Session& s, absl::Time last_used, absl::Time now) const {
  const absl::Time idle_deadline = last_used + options_.idle_ttl;
  const absl::Time absolute_deadline = s.create_time() + options_.absolute_ttl;
  // Whichever deadline came first is the one that expired the session.
  if (absolute_deadline <= idle_deadline) {
    if (now >= absolute_deadline) return RemovalReason::kAbsoluteExpired;
  } else if (now >= idle_deadline) {
    return RemovalReason::kIdleExpired;
  }
  return std::nullopt;
}

bool SessionStore::RemoveLocked(const std::string& id, Tombstone tombstone,
                                bool force, absl::Time last_used_at_most,
                                Graveyard* graveyard) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  Session& session = *it->second.session;
  const absl::Status why = absl::NotFoundError(RemovalMessage(id, tombstone));
  if (force) {
    session.Retire(why);
  } else if (!session.RetireIfIdle(why, last_used_at_most)) {
    return false;  // became busy or was used since the caller looked
  }
  const int kind = KindIndex(session.kind());
  bytes_held_ -= it->second.bytes;
  WorkerUsage& on_worker = workers_[it->second.worker];
  on_worker.bytes -= it->second.bytes;
  --on_worker.sessions;
  auto owner = tenants_.find(it->second.tenant);
  if (owner != tenants_.end()) {
    owner->second.bytes -= it->second.bytes;
    if (--owner->second.sessions == 0) tenants_.erase(owner);
  }
  tombstone.tenant = it->second.tenant;
  --live_[kind];
  ++removed_[kind][static_cast<int>(tombstone.reason)];
  // Released by the caller after unlocking: a session's destructor may free
  // gigabytes.
  graveyard->push_back(std::move(it->second.session));
  sessions_.erase(it);
  if (options_.max_tombstones > 0) {
    tombstones_[id] = tombstone;
    tombstone_order_.push_back(id);
    while (static_cast<int64_t>(tombstone_order_.size()) >
           options_.max_tombstones) {
      tombstones_.erase(tombstone_order_.front());
      tombstone_order_.pop_front();
    }
  }
  return true;
}

std::optional<absl::Status> SessionStore::RemoveIfExpiredLocked(
    std::string id, absl::Time now, Graveyard* graveyard) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  const Session& session = *it->second.session;
  bool busy;
  absl::Time last_used;
  session.Snapshot(&busy, &last_used);
  // A busy session is not expired; RetireIfIdle below re-checks that
  // atomically, so an operation starting right now is safe too.
  if (busy) return std::nullopt;
  const std::optional<RemovalReason> reason =
      ExpiredReason(session, last_used, now);
  if (!reason.has_value()) return std::nullopt;
  Tombstone tombstone{*reason, false, it->second.tenant};
  if (!RemoveLocked(id, tombstone, /*force=*/false, last_used, graveyard)) {
    return std::nullopt;
  }
  return absl::NotFoundError(RemovalMessage(id, tombstone));
}

int64_t SessionStore::ReapLocked(absl::Time now, Graveyard* graveyard) {
  // Collect first: removal erases from the table being walked.
  std::vector<std::string> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, entry] : sessions_) ids.push_back(id);
  int64_t removed = 0;
  for (const std::string& id : ids) {
    if (RemoveIfExpiredLocked(id, now, graveyard).has_value()) ++removed;
  }
  return removed;
}

std::vector<SessionStore::Candidate> SessionStore::EvictionOrderLocked(
    const Session* exclude, const std::string* only_tenant,
    int only_worker) const {
  std::vector<Candidate> candidates;
  candidates.reserve(sessions_.size());
  for (const auto& [id, entry] : sessions_) {
    if (entry.session.get() == exclude) continue;
    if (only_tenant != nullptr && entry.tenant != *only_tenant) continue;
    if (only_worker >= 0 && entry.worker != only_worker) continue;
    bool busy;
    absl::Time last_used;
    entry.session->Snapshot(&busy, &last_used);
    if (busy) continue;
    candidates.push_back(Candidate{id,
                                   entry.session->kind() == SessionKind::kVideo,
                                   last_used, entry.seq, entry.bytes,
                                   entry.worker});
  }
  // Images before videos; within a kind, least recently used first; ties
  // (same clock reading) broken by insertion order.
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) {
              return std::tie(a.is_video, a.last_used, a.seq) <
                     std::tie(b.is_video, b.last_used, b.seq);
            });
  return candidates;
}

int64_t SessionStore::WorkerBudget(int worker) const {
  if (worker < 0 ||
      worker >= static_cast<int>(options_.worker_max_bytes.size())) {
    return 0;
  }
  return std::max<int64_t>(options_.worker_max_bytes[worker], 0);
}

std::optional<absl::Status> SessionStore::TenantSessionQuotaLocked(
    const SessionOwner& owner) const {
  if (owner.max_sessions <= 0) return std::nullopt;
  auto it = tenants_.find(owner.tenant);
  const int64_t held = it == tenants_.end() ? 0 : it->second.sessions;
  if (held < owner.max_sessions) return std::nullopt;
  return absl::ResourceExhaustedError(absl::StrCat(
      "tenant '", owner.tenant, "' session quota of ", owner.max_sessions,
      " reached (delete a session or let one expire)"));
}

absl::Status SessionStore::CheckCapacity(const SessionOwner& owner) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<absl::Status> quota = TenantSessionQuotaLocked(owner)) {
    return *quota;
  }
  if (static_cast<int64_t>(sessions_.size()) < options_.max_sessions) {
    return absl::OkStatus();
  }
  for (const auto& [id, entry] : sessions_) {
    if (!entry.session->busy()) return absl::OkStatus();  // evictable
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "session cap of ", options_.max_sessions, " reached and ",
      sessions_.empty() ? "no session can be created"
                        : "every session is busy"));
}

absl::StatusOr<std::string> SessionStore::Insert(
    std::shared_ptr<Session> session, int worker, const SessionOwner& owner) {
  if (session == nullptr) return absl::InternalError("Insert: null session");
  // Read before locking: the caller owns the new session, and NumBytes()
  // of a subclass may take its own locks.
  const int64_t bytes = session->NumBytes();
  if (bytes < 0) {
    return absl::InternalError(
        absl::StrCat("Insert: session reports ", bytes, " bytes"));
  }
  if (bytes > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "memory budget: the session needs ", FormatBytes(bytes),
        ", more than the whole budget of ", FormatBytes(options_.max_bytes)));
  }
  const int64_t worker_budget = WorkerBudget(worker);
  if (worker_budget > 0 && bytes > worker_budget) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "memory budget of worker ", worker, ": the session needs ",
        FormatBytes(bytes), ", more than the whole budget of ",
        FormatBytes(worker_budget)));
  }

  Graveyard graveyard;  // destroyed after `lock` is released
  std::lock_guard<std::mutex> lock(mu_);
  if (session->attached()) {
    return absl::InternalError(
        absl::StrCat("Insert: session ", session->id(), " was already inserted"));
  }
  const absl::Time now = clock_->Now();
  // Dead sessions make room first, reported with their true reason.
  ReapLocked(now, &graveyard);

  // The tenant's own quotas: refused, never made room for by evicting.
  if (std::optional<absl::Status> quota = TenantSessionQuotaLocked(owner)) {
    return *quota;
  }
  if (owner.max_bytes > 0) {
    auto it = tenants_.find(owner.tenant);
    const int64_t held = it == tenants_.end() ? 0 : it->second.bytes;
    if (held + bytes > owner.max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "tenant '", owner.tenant, "' memory quota: ", FormatBytes(held),
          " held + ", FormatBytes(bytes), " requested > ",
          FormatBytes(owner.max_bytes)));
    }
  }

  const auto cap_holds = [&](int64_t count) {
    return count + 1 <= options_.max_sessions;
  };
  const auto budget_holds = [&](int64_t held) {
    return held + bytes <= options_.max_bytes;
  };
  const auto worker_holds = [&](int64_t held) {
    return worker_budget == 0 || held + bytes <= worker_budget;
  };
  // Evicting `c` helps when the cap or the global budget is short, or when
  // the worker's budget is and `c` is pinned to that worker: a full device
  // never pushes out sessions that live on another.
  const auto helps = [&](const Candidate& c, int64_t n, int64_t held,
                         int64_t on_worker) {
    return !cap_holds(n) || !budget_holds(held) ||
           (!worker_holds(on_worker) && c.worker == worker);
  };
  // Whether `n` sessions holding `held` bytes, `on_worker` of them on
  // this session's worker, leave room for it.
  const auto fits = [&](int64_t n, int64_t held, int64_t on_worker) {
    return cap_holds(n) && budget_holds(held) && worker_holds(on_worker);
  };
  const auto worker_held = [&] {
    auto it = workers_.find(worker);
    return it == workers_.end() ? int64_t{0} : it->second.bytes;
  };
  int64_t count = static_cast<int64_t>(sessions_.size());
  if (!fits(count, bytes_held_, worker_held())) {
    const std::vector<Candidate> order = EvictionOrderLocked(nullptr);
    // Plan on a copy of the numbers: evicting sessions and failing anyway
    // would destroy other clients' work for nothing.
    int64_t plan_count = count;
    int64_t plan_held = bytes_held_;
    int64_t plan_worker = worker_held();
    for (const Candidate& c : order) {
      if (fits(plan_count, plan_held, plan_worker)) break;
      if (!helps(c, plan_count, plan_held, plan_worker)) continue;
      --plan_count;
      plan_held -= c.bytes;
      if (c.worker == worker) plan_worker -= c.bytes;
    }
    if (!fits(plan_count, plan_held, plan_worker)) {
      std::vector<std::string> exceeded;
      if (!cap_holds(plan_count)) {
        exceeded.push_back(absl::StrCat("session cap of ", options_.max_sessions,
                                        " reached and every session is busy"));
      }
      if (!budget_holds(plan_held)) {
        exceeded.push_back(absl::StrCat(
            "memory budget: ", FormatBytes(plan_held),
            " held by busy sessions + ", FormatBytes(bytes), " requested > ",
            FormatBytes(options_.max_bytes)));
      }
      if (!worker_holds(plan_worker)) {
        exceeded.push_back(absl::StrCat(
            "memory budget of worker ", worker, ": ", FormatBytes(plan_worker),
            " held by busy sessions + ", FormatBytes(bytes), " requested > ",
            FormatBytes(worker_budget)));
      }
      return absl::ResourceExhaustedError(absl::StrJoin(exceeded, "; "));
    }
    for (const Candidate& c : order) {
      if (fits(count, bytes_held_, worker_held())) break;
      if (!helps(c, count, bytes_held_, worker_held())) continue;
      const Tombstone tombstone{RemovalReason::kEvicted, !cap_holds(count), ""};
      if (RemoveLocked(c.id, tombstone, /*force=*/false, absl::InfiniteFuture(),
                       &graveyard)) {
        count = static_cast<int64_t>(sessions_.size());
      }
    }
    // Only a session turning busy between planning and evicting gets here.
    if (!fits(count, bytes_held_, worker_held())) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "session cap of ", options_.max_sessions, " or memory budget of ",
          FormatBytes(options_.max_bytes),
          worker_budget > 0
              ? absl::StrCat(" (", FormatBytes(worker_budget), " on worker ",
                             worker, ")")
              : "",
          " reached: sessions became busy while making room"));
    }
  }

  // 128 random bits make a collision practically impossible; checking costs
  // two hash probes and makes it impossible outright.
  std::string id;
  do {
    id = NewSessionId(instance_id_);
  } while (sessions_.contains(id) || tombstones_.contains(id));
  session->Attach(id, worker, now, clock_, owner.tenant);
  ++live_[KindIndex(session->kind())];
  bytes_held_ += bytes;
  WorkerUsage& on_worker = workers_[worker];
  on_worker.bytes += bytes;
  ++on_worker.sessions;
  TenantState& usage = tenants_[owner.tenant];
  ++usage.sessions;
  usage.bytes += bytes;
  usage.max_bytes = owner.max_bytes;
  sessions_.emplace(
      id, Entry{std::move(session), owner.tenant, worker, bytes, next_seq_++});
  return id;
}

absl::StatusOr<std::shared_ptr<Session>> SessionStore::Lookup(
    absl::string_view id, absl::string_view tenant) {
  absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(id);
  if (!parsed.ok()) return parsed.status();
  Graveyard graveyard;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.tenant != tenant) {
    return NotFoundLocked(id, *parsed, tenant);
  }
  const absl::Time now = clock_->Now();
  std::optional<absl::Status> expired =
      RemoveIfExpiredLocked(it->first, now, &graveyard);
  if (expired.has_value()) return *std::move(expired);
  it->second.session->Touch(now);
  return it->second.session;
}

absl::Status SessionStore::Remove(absl::string_view id,
                                  absl::string_view tenant) {
  absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(id);
  if (!parsed.ok()) return parsed.status();
  Graveyard graveyard;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.tenant != tenant) {
    return NotFoundLocked(id, *parsed, tenant);
  }
  const std::string key = it->first;
  std::optional<absl::Status> expired =
      RemoveIfExpiredLocked(key, clock_->Now(), &graveyard);
  if (expired.has_value()) return *std::move(expired);
  RemoveLocked(key, Tombstone{RemovalReason::kDeleted, false, ""},
               /*force=*/true,
               absl::InfiniteFuture(), &graveyard);
  return absl::OkStatus();
}

absl::Status SessionStore::UpdateBytes(absl::string_view id) {
  absl::StatusOr<ParsedSessionId> parsed = ParseSessionId(id);
  if (!parsed.ok()) return parsed.status();
  std::shared_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return NotFoundLocked(id, *parsed, "");
    session = it->second.session;
  }
  // Outside the mutex (see Insert); the caller owns the session's operation.
  const int64_t bytes = session->NumBytes();
  if (bytes < 0) {
    return absl::InternalError(
        absl::StrCat("UpdateBytes: session reports ", bytes, " bytes"));
  }

  Graveyard graveyard;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  // Removed (e.g. deleted) while we measured it: nothing to account.
  if (it == sessions_.end() || it->second.session != session) {
    return NotFoundLocked(id, *parsed, session->tenant());
  }
  bytes_held_ += bytes - it->second.bytes;
  const int worker = it->second.worker;
  int64_t& worker_bytes = workers_[worker].bytes;
  worker_bytes += bytes - it->second.bytes;
  const std::string tenant = it->second.tenant;
  TenantState& usage = tenants_[tenant];
  usage.bytes += bytes - it->second.bytes;
  it->second.bytes = bytes;
  // The tenant's quota first, from its own idle sessions only.
  if (usage.max_bytes > 0 && usage.bytes > usage.max_bytes) {
    const int64_t quota = usage.max_bytes;
    for (const Candidate& c : EvictionOrderLocked(session.get(), &tenant)) {
      if (tenants_[tenant].bytes <= quota) break;
      RemoveLocked(c.id, Tombstone{RemovalReason::kEvicted, false, ""},
                   /*force=*/false, absl::InfiniteFuture(), &graveyard);
    }
    // `usage` may be gone: removal erases a tenant left without sessions
    // (not this one, which still holds `session`).
    const int64_t held = tenants_[tenant].bytes;
    if (held > quota) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "tenant '", tenant, "' memory quota: ", FormatBytes(held),
          " held > ", FormatBytes(quota),
          " after evicting its idle sessions (session ", id, " holds ",
          FormatBytes(bytes), ")"));
    }
  }
  if (bytes_held_ > options_.max_bytes) {
    for (const Candidate& c : EvictionOrderLocked(session.get())) {
      if (bytes_held_ <= options_.max_bytes) break;
      RemoveLocked(c.id, Tombstone{RemovalReason::kEvicted, false, ""},
                   /*force=*/false, absl::InfiniteFuture(), &graveyard);
    }
    if (bytes_held_ > options_.max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "memory budget: ", FormatBytes(bytes_held_), " held > ",
          FormatBytes(options_.max_bytes),
          " after evicting every idle session (session ", id, " holds ",
          FormatBytes(bytes), ")"));
    }
  }
  const int64_t worker_budget = WorkerBudget(worker);
  if (worker_budget == 0 || worker_bytes <= worker_budget) {
    return absl::OkStatus();
  }
  for (const Candidate& c :
       EvictionOrderLocked(session.get(), nullptr, worker)) {
    if (worker_bytes <= worker_budget) break;
    RemoveLocked(c.id, Tombstone{RemovalReason::kEvicted, false, ""},
                 /*force=*/false, absl::InfiniteFuture(), &graveyard);
  }
  if (worker_bytes <= worker_budget) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "memory budget of worker ", worker, ": ",
      FormatBytes(worker_bytes), " held > ",
      FormatBytes(worker_budget), " after evicting its idle sessions (session ",
      id, " holds ", FormatBytes(bytes), ")"));
}

int64_t SessionStore::Reap() {
  Graveyard graveyard;
  std::lock_guard<std::mutex> lock(mu_);
  return ReapLocked(clock_->Now(), &graveyard);
}

void SessionStore::Clear() {
  Graveyard graveyard;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, entry] : sessions_) ids.push_back(id);
  for (const std::string& id : ids) {
    RemoveLocked(id, Tombstone{RemovalReason::kShutdown, false, ""},
                 /*force=*/true, absl::InfiniteFuture(), &graveyard);
  }
}

SessionStoreStats SessionStore::Stats() const {
  SessionStoreStats stats;
  std::lock_guard<std::mutex> lock(mu_);
  stats.live_image = live_[0];
  stats.live_video = live_[1];
  stats.bytes_held = bytes_held_;
  for (const auto& [tenant, usage] : tenants_) {
    stats.by_tenant[tenant] = {usage.sessions, usage.bytes};
  }
  for (size_t w = 0; w < options_.worker_max_bytes.size(); ++w) {
    stats.sessions_by_worker[static_cast<int>(w)] = 0;
    stats.bytes_by_worker[static_cast<int>(w)] = 0;
  }
  for (const auto& [worker, usage] : workers_) {
    stats.sessions_by_worker[worker] = usage.sessions;
    stats.bytes_by_worker[worker] = usage.bytes;
  }
  for (SessionKind kind : {SessionKind::kImage, SessionKind::kVideo}) {
    for (int r = 0; r < kNumRemovalReasons; ++r) {
      stats.removed_by_reason[absl::StrCat(
          SessionKindName(kind), "/",
          RemovalReasonName(static_cast<RemovalReason>(r)))] =
          removed_[KindIndex(kind)][r];
    }
  }
  return stats;
}

std::vector<int64_t> SessionStore::SessionsPerWorker(int num_workers) const {
  std::vector<int64_t> out(std::max(num_workers, 0), 0);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [worker, usage] : workers_) {
    if (worker >= 0 && worker < num_workers) out[worker] = usage.sessions;
  }
  return out;
}

int64_t SessionStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(sessions_.size());
}

}  // namespace sam2
