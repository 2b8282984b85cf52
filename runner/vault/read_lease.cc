#include "vault/read_lease.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "base/log.h"

namespace cairn::vault {

using base::Result;
using base::Status;

Result<Lease> WriteReadLease(store::ObjectStore& store, const Layout& layout,
                             std::string_view backup, std::string_view kind,
                             std::string_view reader, LeaseHolder holder, std::chrono::seconds ttl,
                             const base::Clock& clock) {
  RETURN_IF_ERROR(ValidateName(backup, "backup name"));
  RETURN_IF_ERROR(ValidateName(reader, "reader name"));
  Lease l;
  l.key = layout.ReadLockKey(backup, reader);
  l.operation = std::string(kind);
  l.holder = std::move(holder);
  if (l.holder.id.empty()) l.holder.id = std::string(reader);
  l.acquired = l.renewed = std::chrono::floor<std::chrono::seconds>(clock.Now());
  l.lease_seconds = std::max<int64_t>(ttl.count(), 1);
  l.expires = l.renewed + std::chrono::seconds(l.lease_seconds);
  store::PutOptions opts;
  opts.content_type = "application/json";
  Status put = store.Put(l.key, ToJson(l), opts);
  if (!put.ok()) return put.Wrap("unable to write read lease '" + l.key + "'");
  return l;
}

Result<std::map<std::string, std::vector<Lease>>> LiveReadLeases(store::ObjectStore& store,
                                                                 const Layout& layout,
                                                                 base::TimePoint now) {
  store::ListOptions opts;
  opts.prefix = layout.LocksPrefix() + "read/";
  auto objects = store.ListAll(opts);
  if (!objects.ok()) return objects.status().Wrap("unable to list read leases");
  std::map<std::string, std::vector<Lease>> live;
  for (const store::ObjectInfo& o : *objects) {
    const std::string rest = o.key.substr(opts.prefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    const std::string backup = rest.substr(0, slash);
    auto bytes = store.GetAll(o.key, 1 << 20);
    if (!bytes.ok()) {
      if (bytes.status().code() == base::Code::kNotFound) continue;  // released meanwhile
      return bytes.status().Wrap("unable to read lease '" + o.key + "'");
    }
    auto lease = ParseLease(*bytes, o.key);
    if (!lease.ok()) {
      if (now < o.last_modified + kUnreadableReadLeaseGrace) {
        Lease unknown;
        unknown.key = o.key;
        unknown.operation = "reader";
        unknown.holder.id = "unreadable lease " + o.key;
        unknown.expires = o.last_modified + kUnreadableReadLeaseGrace;
        live[backup].push_back(std::move(unknown));
      }
      continue;
    }
    if (!IsExpired(*lease, now)) live[backup].push_back(std::move(*lease));
  }
  return live;
}

namespace {
std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}
}  // namespace

ReadLeaseGuard::ReadLeaseGuard(store::ObjectStore& store, Layout layout, std::string backup,
                               std::string kind, std::string reader, std::chrono::seconds heartbeat,
                               const base::Clock& clock, bool enabled)
    : store_(store),
      layout_(std::move(layout)),
      backup_(std::move(backup)),
      kind_(std::move(kind)),
      reader_(std::move(reader)),
      // Four missed heartbeats, and never less than two minutes.
      ttl_(std::max<std::chrono::seconds>(heartbeat * 4, std::chrono::seconds(120))),
      clock_(clock),
      enabled_(enabled) {
  Renew();
}

void ReadLeaseGuard::Renew() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> l(mu_);
  LeaseHolder holder{reader_, HostName(), "", ""};
  if (const char* pod = std::getenv("POD_NAME")) holder.pod = pod;
  auto written = WriteReadLease(store_, layout_, backup_, kind_, reader_, holder, ttl_, clock_);
  if (!written.ok()) {
    base::LogWarn("read lease not written; gc may delete the backup while it is read",
                  {{"error", written.status().message()}});
  }
}

ReadLeaseGuard::~ReadLeaseGuard() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> l(mu_);
  Status deleted = store_.Delete({layout_.ReadLockKey(backup_, reader_)});
  if (!deleted.ok()) {
    base::LogWarn("read lease not released; it expires by itself", {{"error", deleted.message()}});
  }
}

}  // namespace cairn::vault
