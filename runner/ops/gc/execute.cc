#include "ops/gc/execute.h"

#include <vector>

#include "ops/gc/snapshots.h"

namespace cairn::ops::gc {
namespace {

using base::Code;
using base::Status;

inline constexpr std::string_view kPhaseDeleting = "Deleting";

// Every object of the backup directory except status.json, then its pending uploads.
Status DeleteContents(ExecContext& ctx, const BackupDecision& d, bool manifest_too) {
  store::ListOptions opts;
  opts.prefix = ctx.layout.BackupDir(d.name);
  auto objects = ctx.store.ListAll(opts);
  if (!objects.ok()) return objects.status().Wrap("unable to list backup '" + d.name + "'");
  const std::string status_key = ctx.layout.BackupObjectKey(d.name, vault::kStatusObject);
  const std::string manifest_key = ctx.layout.ManifestKey(d.name);
  std::vector<std::string> keys;
  for (const store::ObjectInfo& o : *objects) {
    if (o.key == status_key || (!manifest_too && o.key == manifest_key)) continue;
    keys.push_back(o.key);
  }
  if (!keys.empty()) {
    Status deleted = ctx.store.Delete(keys);
    if (!deleted.ok())
      return deleted.Wrap("unable to delete the objects of backup '" + d.name + "'");
  }
  for (const store::PendingUpload& u : d.uploads) {
    Status aborted = ctx.store.AbortPendingUpload(u);
    if (!aborted.ok() && aborted.code() != Code::kNotFound) {
      return aborted.Wrap("unable to abort the pending upload of '" + u.key + "'");
    }
  }
  return Status::Ok();
}

// Marks the backup Deleting: the status says so before anything disappears.
Status MarkDeleting(ExecContext& ctx, const BackupDecision& d) {
  const std::string key = ctx.layout.BackupObjectKey(d.name, vault::kStatusObject);
  auto st = vault::ReadStatus(ctx.store, key);
  vault::RunStatus s;
  if (st.ok()) {
    s = std::move(*st);
  } else if (st.status().code() == Code::kNotFound && !d.complete) {
    return Status::Ok();  // an orphan: nothing looks complete, nothing to mark
  } else if (st.status().code() != Code::kNotFound && st.status().code() != Code::kDataLoss &&
             st.status().code() != Code::kFailedPrecondition) {
    return st.status().Wrap("unable to mark backup '" + d.name + "' Deleting");
  } else {
    s.kind = std::string(vault::kKindBackup);
    s.name = d.name;
    s.start_time = d.created;
  }
  if (s.phase == kPhaseDeleting) return Status::Ok();
  s.extra["deletingPhase"] = "\"" + s.phase + "\"";  // what it was, for humans
  s.phase = std::string(kPhaseDeleting);
  s.message = "being deleted by gc: " + d.reason;
  s.heartbeat_time = ctx.now;
  Status w = vault::WriteStatus(ctx.store, key, s);
  if (!w.ok()) return w.Wrap("unable to mark backup '" + d.name + "' Deleting");
  return Status::Ok();
}

}  // namespace

Status DeleteBackup(ExecContext& ctx, const BackupDecision& d) {
  RETURN_IF_ERROR(MarkDeleting(ctx, d));
  RETURN_IF_ERROR(ReleaseSnapshots(ctx, d));  // while the manifest still lists them
  Status m = ctx.store.Delete({ctx.layout.ManifestKey(d.name)});
  if (!m.ok()) return m.Wrap("unable to delete the manifest of backup '" + d.name + "'");
  RETURN_IF_ERROR(DeleteContents(ctx, d, true));
  Status s = ctx.store.Delete({ctx.layout.BackupObjectKey(d.name, vault::kStatusObject)});
  if (!s.ok()) return s.Wrap("unable to delete the status of backup '" + d.name + "'");
  return Status::Ok();
}

Status PurgePartial(ExecContext& ctx, const BackupDecision& d) {
  if (d.complete) return Status::Ok();
  return DeleteContents(ctx, d, false);
}

Status AbandonBackup(ExecContext& ctx, const BackupDecision& d, const vault::RunStatus& gc,
                     std::vector<std::string>* warnings) {
  const std::string key = ctx.layout.BackupObjectKey(d.name, vault::kStatusObject);
  ASSIGN_OR_RETURN(vault::RunStatus st, vault::ReadStatus(ctx.store, key));
  // The plan is a moment old: a run that wrote a heartbeat since is alive after all.
  if (st.phase != vault::kPhaseInProgress || st.heartbeat_time != d.heartbeat) {
    return Status::Ok();
  }
  if (ctx.store.Head(ctx.layout.ManifestKey(d.name)).ok()) return Status::Ok();
  // Objects and uploads first, the status last: a gc stopped in between leaves an InProgress run
  // whose heartbeat is lost, which the next gc abandons again. Marked Failed first, its partial
  // objects would stay for good (a Failed run is kept by its TTL or retention, objects and all).
  RETURN_IF_ERROR(DeleteContents(ctx, d, false));
  st.phase = std::string(vault::kPhaseFailed);
  st.message = d.reason;
  st.completion_time = ctx.now;
  st.AddError(vault::kScopeRunner, d.reason);
  Status w = vault::WriteStatus(ctx.store, key, st);
  if (!w.ok()) return w.Wrap("unable to mark backup '" + d.name + "' Failed");
  if (ctx.cluster) {
    Status told = ctx.cluster->MarkFailed(
        "backup", st, gc,
        report::Event{"Warning", "BackupAbandoned", "backup " + d.name + ": " + d.reason});
    if (!told.ok()) warnings->push_back(told.message());
  }
  return Status::Ok();
}

Status AbandonRestore(ExecContext& ctx, const RunDecision& r, const vault::RunStatus& gc,
                      std::vector<std::string>* warnings) {
  ASSIGN_OR_RETURN(std::string key, ctx.layout.StatusKey("restore", r.name));
  ASSIGN_OR_RETURN(vault::RunStatus st, vault::ReadStatus(ctx.store, key));
  if (st.phase != vault::kPhaseInProgress || st.heartbeat_time != r.heartbeat) return Status::Ok();
  const std::string reason =
      "run stopped without finishing (heartbeat lost at " + base::FormatRfc3339(r.heartbeat) + ")";
  st.phase = std::string(vault::kPhaseFailed);
  st.message = reason;
  st.completion_time = ctx.now;
  st.AddError(vault::kScopeRunner, reason);
  Status w = vault::WriteStatus(ctx.store, key, st);
  if (!w.ok()) return w.Wrap("unable to mark restore '" + r.name + "' Failed");
  if (ctx.cluster) {
    Status told = ctx.cluster->MarkFailed(
        "restore", st, gc,
        report::Event{"Warning", "RestoreAbandoned", "restore " + r.name + ": " + reason});
    if (!told.ok()) warnings->push_back(told.message());
  }
  return Status::Ok();
}

}  // namespace cairn::ops::gc
