#include "snapshot/restore.h"

#include <algorithm>

#include "snapshot/names.h"
#include "snapshot/take.h"

namespace cairn::snapshot {
namespace {

using base::Code;
using base::Status;
using nlohmann::json;

std::string Describe(const vault::SnapshotRecord& r) {
  return "snapshot of PVC '" + r.namespace_name + "/" + r.pvc + "'";
}

json Labels(const RestoreSourceOptions& o) {
  return {{std::string(kBackupLabel), o.backup},
          {std::string(kRestoreLabel), o.restore},
          {"app.kubernetes.io/managed-by", "cairn"}};
}

// The recorded content, checked to still be the one the backup took (same handle).
Status CheckRecordedContent(kube::Client& kube, const vault::SnapshotRecord& r) {
  auto content = kube.Get(VolumeSnapshotContents(), "", r.volume_snapshot_content);
  if (!content.ok() && content.status().code() == Code::kNotFound) {
    return Status(Code::kFailedPrecondition,
                  "the " + Describe(r) + " is not in this cluster: snapshot content '" +
                      r.volume_snapshot_content +
                      "' does not exist (deleted, or another "
                      "cluster); restore the volume from its exported archive");
  }
  if (!content.ok()) return content.status().Wrap("unable to read the " + Describe(r));
  if (StringAt(*content, "status.snapshotHandle") != r.snapshot_handle) {
    return Status(Code::kFailedPrecondition, "snapshot content '" + r.volume_snapshot_content +
                                                 "' no longer holds the " + Describe(r) +
                                                 " (another snapshot handle)");
  }
  return Status::Ok();
}

// The backup's own VolumeSnapshot, when the target is its namespace and it is still bound.
bool OriginalUsable(kube::Client& kube, const vault::SnapshotRecord& r,
                    const RestoreSourceOptions& o) {
  if (o.target_namespace != r.namespace_name) return false;
  auto vs = kube.Get(VolumeSnapshots(), r.namespace_name, r.volume_snapshot);
  return vs.ok() &&
         StringAt(*vs, "status.boundVolumeSnapshotContentName") == r.volume_snapshot_content &&
         vs->value("status", json::object()).value("readyToUse", false) == true;
}

json ContentObject(const vault::SnapshotRecord& r, const RestoreSourceOptions& o,
                   const std::string& content, const std::string& vs) {
  return {{"apiVersion", std::string(kGroup) + "/v1"},
          {"kind", "VolumeSnapshotContent"},
          {"metadata", {{"name", content}, {"labels", Labels(o)}}},
          {"spec",
           {{"deletionPolicy", "Retain"},  // the backup owns the storage snapshot
            {"driver", r.driver},
            {"volumeSnapshotClassName", r.volume_snapshot_class},
            {"source", {{"snapshotHandle", r.snapshot_handle}}},
            {"volumeSnapshotRef", {{"name", vs}, {"namespace", o.target_namespace}}}}}};
}

json SnapshotObject(const RestoreSourceOptions& o, const std::string& content,
                    const std::string& vs) {
  return {{"apiVersion", std::string(kGroup) + "/v1"},
          {"kind", "VolumeSnapshot"},
          {"metadata", {{"name", vs}, {"namespace", o.target_namespace}, {"labels", Labels(o)}}},
          {"spec", {{"source", {{"volumeSnapshotContentName", content}}}}}};
}

// Creates one object; one that exists from an earlier attempt of this restore is reused.
Status CreateOrReuse(kube::Client& kube, const kube::ResourceRef& ref, const json& obj,
                     const RestoreSourceOptions& o) {
  const std::string ns = StringAt(obj, "metadata.namespace");
  const std::string name = StringAt(obj, "metadata.name");
  auto created = kube.Create(ref, ns, obj);
  if (created.ok()) return Status::Ok();
  if (created.status().code() == Code::kAlreadyExists) {
    auto got = kube.Get(ref, ns, name);
    if (got.ok() && MetaMapValue(*got, "labels", kRestoreLabel) == o.restore) {
      return Status::Ok();
    }
  }
  return created.status().Wrap("unable to create " + kube::DescribeObject(ref, ns, name) +
                               " for restore '" + o.restore + "'");
}

Status WaitBound(kube::Client& kube, base::Clock& clock, const RestoreSourceOptions& o,
                 const std::string& vs) {
  const auto deadline = clock.Steady() + o.timeout;
  json last;
  while (true) {
    auto got = kube.Get(VolumeSnapshots(), o.target_namespace, vs);
    if (!got.ok()) return got.status().Wrap("unable to read volume snapshot '" + vs + "'");
    last = std::move(*got);
    if (last.value("status", json::object()).value("readyToUse", false) == true) {
      return Status::Ok();
    }
    if (clock.Steady() >= deadline) break;
    clock.SleepFor(std::min<base::Duration>(o.poll, deadline - clock.Steady()));
  }
  return Status(Code::kDeadlineExceeded,
                "volume snapshot '" + o.target_namespace + "/" + vs + "' not ready after " +
                    base::FormatDuration(o.timeout) + ": " + DescribeStatus(last));
}

}  // namespace

base::Result<RestoreSource> PrepareRestoreSource(kube::Client& kube, base::Clock& clock,
                                                 const vault::SnapshotRecord& r,
                                                 const RestoreSourceOptions& o) {
  RETURN_IF_ERROR(CheckRecordedContent(kube, r));
  RestoreSource out{o.target_namespace, r.volume_snapshot, ""};
  if (OriginalUsable(kube, r, o)) return out;
  out.volume_snapshot = JoinName("cairn", o.restore, r.pvc);
  out.created_content = JoinName("cairn", o.restore, o.target_namespace + "-" + r.pvc);
  RETURN_IF_ERROR(CreateOrReuse(kube, VolumeSnapshotContents(),
                                ContentObject(r, o, out.created_content, out.volume_snapshot), o));
  RETURN_IF_ERROR(CreateOrReuse(kube, VolumeSnapshots(),
                                SnapshotObject(o, out.created_content, out.volume_snapshot), o));
  RETURN_IF_ERROR(WaitBound(kube, clock, o, out.volume_snapshot));
  return out;
}

json DataSource(const RestoreSource& s) {
  return {
      {"apiGroup", std::string(kGroup)}, {"kind", "VolumeSnapshot"}, {"name", s.volume_snapshot}};
}

TempPvc TempPvcFor(const json& source_pvc, const vault::SnapshotRecord& r,
                   std::string_view backup) {
  TempPvc t;
  t.namespace_name = r.namespace_name;
  t.name = JoinName("cairn-export", backup, r.pvc);
  t.storage_class = StringAt(source_pvc, "spec.storageClassName");
  const json spec = source_pvc.value("spec", json::object());
  if (spec.is_object() && spec.contains("accessModes") && spec["accessModes"].is_array()) {
    for (const json& m : spec["accessModes"]) {
      if (m.is_string()) t.access_modes.push_back(m.get<std::string>());
    }
  }
  if (t.access_modes.empty()) t.access_modes.push_back("ReadWriteOnce");
  t.size = StringAt(source_pvc, "spec.resources.requests.storage");
  auto requested = QuantityBytes(t.size);
  if (t.size.empty() || !requested.ok() || *requested < r.restore_size) {
    t.size = std::to_string(r.restore_size);
  }
  t.volume_snapshot = r.volume_snapshot;
  t.backup = std::string(backup);
  return t;
}

json TempPvcObject(const TempPvc& t) {
  json spec = {{"accessModes", t.access_modes},
               {"resources", {{"requests", {{"storage", t.size}}}}},
               {"dataSource", DataSource({t.namespace_name, t.volume_snapshot, ""})}};
  if (!t.storage_class.empty()) spec["storageClassName"] = t.storage_class;
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata",
           {{"name", t.name},
            {"namespace", t.namespace_name},
            {"labels",
             {{std::string(kBackupLabel), t.backup}, {"app.kubernetes.io/managed-by", "cairn"}}}}},
          {"spec", spec}};
}

base::Result<json> CreateTempPvc(kube::Client& kube, const TempPvc& t) {
  auto created = kube.Create(PersistentVolumeClaims(), t.namespace_name, TempPvcObject(t));
  if (!created.ok()) {
    return created.status().Wrap("unable to create the temporary PVC '" + t.namespace_name + "/" +
                                 t.name + "' from its snapshot");
  }
  return created;
}

Status DeleteTempPvc(kube::Client& kube, const TempPvc& t) {
  Status s = kube.Delete(PersistentVolumeClaims(), t.namespace_name, t.name);
  if (s.ok() || s.code() == Code::kNotFound) return Status::Ok();
  return s.Wrap("unable to delete the temporary PVC '" + t.namespace_name + "/" + t.name + "'");
}

}  // namespace cairn::snapshot
