#include "vault/lease.h"

#include <utility>

#include "base/log.h"
#include "vault/create.h"
#include "vault/json_document.h"
#include "vault/random_id.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using internal::Json;

namespace {

constexpr size_t kMaxLeaseBytes = 1 << 20;
// Takeover attempts before giving up when the lease keeps changing under us.
constexpr int kMaxAttempts = 3;

base::TimePoint WholeSeconds(base::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

bool IsOurs(const Lease& stored, const Lease& mine) {
  return stored.holder.id == mine.holder.id && stored.acquired == mine.acquired;
}

std::string DescribeHolder(const Lease& l) {
  std::string s = "holder '" + l.holder.id + "'";
  std::string where;
  auto add = [&](const char* what, const std::string& v) {
    if (v.empty()) return;
    where += (where.empty() ? "" : ", ") + std::string(what) + " '" + v + "'";
  };
  add("host", l.holder.host);
  add("pod", l.holder.pod);
  add("job", l.holder.job);
  if (!where.empty()) s += " (" + where + ")";
  return s;
}

Status HeldBy(const Lease& current) {
  return Error(Code::kConflict, "unable to acquire lease '" + current.key + "': held by " +
                                    DescribeHolder(current) + " until " +
                                    base::FormatRfc3339(current.expires))
      .WithHint("another " + current.operation +
                " run is in progress; if it died, the lease frees itself when it expires");
}

// Reads the lease object: nullopt when it does not exist.
Result<std::optional<std::string>> ReadRaw(store::ObjectStore& store, const std::string& key) {
  auto bytes = store.GetAll(key, kMaxLeaseBytes);
  if (bytes.ok()) return std::optional<std::string>(std::move(*bytes));
  if (bytes.status().code() == Code::kNotFound) return std::optional<std::string>();
  return bytes.status().Wrap("unable to read lease '" + key + "'");
}

// After creating: the lease must read back as ours (FORMAT.md §9).
Result<Lease> ConfirmOurs(store::ObjectStore& store, Lease mine) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(store, mine.key));
  if (raw) {
    auto stored = ParseLease(*raw, mine.key);
    if (stored.ok() && IsOurs(*stored, mine)) return mine;
    if (stored.ok()) return HeldBy(*stored);
  }
  return Error(Code::kConflict, "unable to acquire lease '" + mine.key +
                                    "': another runner replaced it while we took it over");
}

}  // namespace

std::string ToJson(const Lease& l) {
  Json holder = Json::object();
  holder["id"] = l.holder.id;
  holder["host"] = l.holder.host;
  holder["pod"] = l.holder.pod;
  holder["job"] = l.holder.job;
  Json j = Json::object();
  j["holder"] = std::move(holder);
  j["operation"] = l.operation;
  j["acquired"] = base::FormatRfc3339(l.acquired);
  j["renewed"] = base::FormatRfc3339(l.renewed);
  j["expires"] = base::FormatRfc3339(l.expires);
  j["lease_seconds"] = l.lease_seconds;
  return internal::Pretty(j);
}

Result<Lease> ParseLease(std::string_view json, std::string_view source) {
  const std::string what = "lease '" + std::string(source) + "'";
  ASSIGN_OR_RETURN(Json doc, internal::ParseDocument(json, what));
  internal::FieldReader r(doc);
  Lease l;
  l.key = std::string(source);
  internal::FieldReader holder = r.Child("holder");
  l.holder.id = holder.Str("id");
  l.holder.host = holder.OptStr("host");
  l.holder.pod = holder.OptStr("pod");
  l.holder.job = holder.OptStr("job");
  l.operation = r.Str("operation");
  l.acquired = r.Time("acquired");
  l.renewed = r.Time("renewed");
  l.expires = r.Time("expires");
  l.lease_seconds = r.I64("lease_seconds");
  if (r.ok() && l.holder.id.empty()) r.Fail("field 'holder.id' is empty");
  if (r.ok() && l.lease_seconds < 1) r.Fail("field 'lease_seconds' must be at least 1");
  RETURN_IF_ERROR(r.status(what));
  return l;
}

bool IsExpired(const Lease& lease, base::TimePoint now) { return now >= lease.expires; }

Result<Lease> AcquireLease(store::ObjectStore& store, const Layout& layout,
                           std::string_view operation, LeaseHolder holder, std::chrono::seconds ttl,
                           const base::Clock& clock) {
  RETURN_IF_ERROR(ValidateName(operation, "lease operation"));
  if (ttl < std::chrono::seconds(1)) {
    return Error(Code::kInvalidArgument, "invalid duration for lease '" + std::string(operation) +
                                             "': it must be at least 1s");
  }
  if (holder.id.empty()) holder.id = NewUuidV4();
  const std::string key = layout.LockKey(operation);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Lease mine;
    mine.key = key;
    mine.operation = std::string(operation);
    mine.holder = holder;
    mine.acquired = mine.renewed = WholeSeconds(clock.Now());
    mine.expires = mine.renewed + ttl;
    mine.lease_seconds = ttl.count();
    Status created = CreateIfAbsent(store, key, ToJson(mine));
    if (created.ok()) return ConfirmOurs(store, std::move(mine));
    if (created.code() != Code::kAlreadyExists) {
      return created.Wrap("unable to acquire lease '" + key + "'");
    }

    // Held, or held until recently: is it live?
    ASSIGN_OR_RETURN(std::optional<std::string> first, ReadRaw(store, key));
    if (!first) continue;  // released meanwhile: try again
    const base::TimePoint now = clock.Now();
    auto current = ParseLease(*first, key);
    if (current.ok()) {
      if (!IsExpired(*current, now)) return HeldBy(*current);
      base::LogWarn("taking over expired lease",
                    {{"lease", key},
                     {"holder", current->holder.id},
                     {"expired", base::FormatRfc3339(current->expires)}});
    } else {
      // Unreadable: it counts as expired once older than our own lease duration.
      auto info = store.Head(key);
      if (!info.ok()) {
        if (info.status().code() == Code::kNotFound) continue;
        return info.status().Wrap("unable to acquire lease '" + key + "'");
      }
      const base::TimePoint free_at = info->last_modified + ttl;
      if (now < free_at) {
        return Error(Code::kConflict, "unable to acquire lease '" + key +
                                          "': it holds an "
                                          "unreadable lease (" +
                                          current.status().message() +
                                          ") that counts as held until " +
                                          base::FormatRfc3339(free_at));
      }
      base::LogWarn("replacing unreadable expired lease", {{"lease", key}});
    }

    // Take over: delete only the exact bytes we judged expired, then create ours.
    ASSIGN_OR_RETURN(std::optional<std::string> second, ReadRaw(store, key));
    if (!second || *second != *first) continue;  // renewed or taken over meanwhile
    Status deleted = store.Delete({key});
    if (!deleted.ok()) return deleted.Wrap("unable to take over expired lease '" + key + "'");
  }
  return Error(Code::kConflict, "unable to acquire lease '" + key + "': it changed hands " +
                                    std::to_string(kMaxAttempts) + " times while we tried");
}

Status RenewLease(store::ObjectStore& store, Lease& lease, const base::Clock& clock) {
  const std::string context = "unable to renew lease '" + lease.key + "'";
  ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(store, lease.key));
  if (!raw) {
    return Error(Code::kConflict, context + ": it was deleted (taken over after expiry?)");
  }
  auto stored = ParseLease(*raw, lease.key);
  if (!stored.ok()) {
    return Error(Code::kConflict, context + ": it was replaced by an unreadable object");
  }
  if (!IsOurs(*stored, lease)) {
    return Error(Code::kConflict, context + ": it is now held by " + DescribeHolder(*stored) +
                                      " until " + base::FormatRfc3339(stored->expires));
  }
  const base::TimePoint now = WholeSeconds(clock.Now());
  if (IsExpired(*stored, now)) {
    return Error(Code::kConflict, context + ": it expired at " +
                                      base::FormatRfc3339(stored->expires) +
                                      " before it was renewed; another runner may take it over");
  }
  Lease renewed = lease;
  renewed.renewed = now;
  renewed.expires = now + std::chrono::seconds(lease.lease_seconds);
  store::PutOptions opts;
  opts.content_type = "application/json";
  Status put = store.Put(lease.key, ToJson(renewed), opts);
  if (!put.ok()) return put.Wrap(context);
  lease = std::move(renewed);
  return Status::Ok();
}

Status ReleaseLease(store::ObjectStore& store, const Lease& lease, const base::Clock& clock) {
  const std::string context = "unable to release lease '" + lease.key + "'";
  ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadRaw(store, lease.key));
  if (!raw) return Status::Ok();
  auto stored = ParseLease(*raw, lease.key);
  if (!stored.ok()) {
    return Error(Code::kConflict, context + ": it was replaced by an unreadable object");
  }
  if (!IsOurs(*stored, lease)) {
    return Error(Code::kConflict, context + ": it is now held by " + DescribeHolder(*stored));
  }
  // Expired: someone may be taking it over right now; deleting could remove their new lease.
  if (IsExpired(*stored, clock.Now())) return Status::Ok();
  Status deleted = store.Delete({lease.key});
  if (!deleted.ok()) return deleted.Wrap(context);
  return Status::Ok();
}

}  // namespace cairn::vault
