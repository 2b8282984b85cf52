#include "ops/gc/snapshots.h"

#include <string>
#include <vector>

#include "vault/manifest.h"
#include "vault/snapshot_record.h"

namespace cairn::ops::gc {
namespace {

using base::Code;
using base::Status;

void Warn(ExecContext& ctx, std::string message) {
  if (ctx.warnings != nullptr) ctx.warnings->push_back(std::move(message));
}

std::string ContentList(const std::vector<vault::SnapshotRecord>& records) {
  std::string out;
  for (const vault::SnapshotRecord& r : records) {
    out += (out.empty() ? "" : ", ") + r.volume_snapshot_content + " (PVC " + r.namespace_name +
           "/" + r.pvc + ")";
  }
  return out;
}

std::string LeftBehind(const std::string& backup, const std::vector<vault::SnapshotRecord>& rs,
                       const std::string& why) {
  return "backup '" + backup + "': its CSI snapshots stay in cluster " + rs.front().cluster + " (" +
         why + "): volume snapshot contents " + ContentList(rs) +
         "\nHINT: in that cluster, set spec.deletionPolicy Delete on each, then kubectl delete "
         "volumesnapshotcontent NAME";
}

bool Transient(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded ||
         s.code() == Code::kCancelled;
}

// The records of the backup's manifest; none when it has no manifest any more (deleted by a
// gc that stopped later: the snapshots went before it).
base::Result<std::vector<vault::SnapshotRecord>> Records(ExecContext& ctx,
                                                         const BackupDecision& d) {
  auto m = vault::ReadManifest(ctx.store, ctx.layout, d.name);
  if (!m.ok() && m.status().code() == Code::kNotFound) return std::vector<vault::SnapshotRecord>{};
  if (!m.ok() && Transient(m.status())) return m.status();
  if (!m.ok()) {
    Warn(ctx, "backup '" + d.name +
                  "': unable to read which CSI snapshots it has: " + m.status().message());
    return std::vector<vault::SnapshotRecord>{};
  }
  auto recs = vault::ManifestSnapshots(*m);
  if (!recs.ok()) {
    Warn(ctx, "backup '" + d.name +
                  "': its snapshot records are unreadable, any CSI snapshots "
                  "it took stay: " +
                  recs.status().message());
    return std::vector<vault::SnapshotRecord>{};
  }
  return recs;
}

}  // namespace

Status ReleaseSnapshots(ExecContext& ctx, const BackupDecision& d) {
  auto recs = Records(ctx, d);
  if (!recs.ok()) {
    return recs.status().Wrap("unable to read the snapshots of backup '" + d.name + "'");
  }
  if (recs->empty()) return Status::Ok();
  if (ctx.cluster == nullptr) {
    Warn(ctx, LeftBehind(d.name, *recs, "gc runs outside a cluster"));
    return Status::Ok();
  }
  auto here = ctx.cluster->Identity();
  std::vector<vault::SnapshotRecord> mine, elsewhere;
  for (const vault::SnapshotRecord& r : *recs) {
    (here.ok() && r.cluster == *here ? mine : elsewhere).push_back(r);
  }
  if (!elsewhere.empty()) {
    Warn(ctx,
         LeftBehind(d.name, elsewhere,
                    here.ok() ? "gc runs in cluster " + *here
                              : "this cluster's identity is unknown: " + here.status().message()));
  }
  if (mine.empty()) return Status::Ok();
  Status s = ctx.cluster->DeleteSnapshots(d.name, mine, nullptr);
  if (s.ok()) return Status::Ok();
  if (Transient(s)) return s.Wrap("unable to delete the CSI snapshots of backup '" + d.name + "'");
  Warn(ctx, LeftBehind(d.name, mine, s.message()));
  return Status::Ok();
}

}  // namespace cairn::ops::gc
