#include "snapshot/cleanup.h"

#include "snapshot/names.h"

namespace cairn::snapshot {
namespace {

using base::Code;
using base::Status;
using nlohmann::json;

Status DeleteIfThere(kube::Client& kube, const kube::ResourceRef& ref, const std::string& ns,
                     const std::string& name, std::vector<std::string>* deleted) {
  Status s = kube.Delete(ref, ns, name);
  if (s.code() == Code::kNotFound) return Status::Ok();
  if (!s.ok()) return s.Wrap("unable to delete " + kube::DescribeObject(ref, ns, name));
  if (deleted != nullptr) {
    deleted->push_back(ref.resource + "/" + (ns.empty() ? "" : ns + "/") + name);
  }
  return Status::Ok();
}

// The pairs restores made: second handles on the backup's storage snapshots (Retain).
Status DeleteRestoreAliases(kube::Client& kube, std::string_view backup,
                            std::vector<std::string>* deleted) {
  kube::ListOptions o;
  o.label_selector =
      std::string(kBackupLabel) + "=" + std::string(backup) + "," + std::string(kRestoreLabel);
  std::vector<std::pair<std::string, std::string>> snapshots;
  std::vector<std::string> contents;
  Status listed = kube.ListItems(VolumeSnapshotContents(), o, [&](const json& c) {
    contents.push_back(StringAt(c, "metadata.name"));
    snapshots.emplace_back(StringAt(c, "spec.volumeSnapshotRef.namespace"),
                           StringAt(c, "spec.volumeSnapshotRef.name"));
    return true;
  });
  if (!listed.ok())
    return listed.Wrap("unable to list the restore snapshots of backup '" + std::string(backup) +
                       "'");
  for (const auto& [ns, name] : snapshots) {
    if (!ns.empty() && !name.empty()) {
      RETURN_IF_ERROR(DeleteIfThere(kube, VolumeSnapshots(), ns, name, deleted));
    }
  }
  for (const std::string& c : contents) {
    RETURN_IF_ERROR(DeleteIfThere(kube, VolumeSnapshotContents(), "", c, deleted));
  }
  return Status::Ok();
}

Status DeleteOne(kube::Client& kube, const vault::SnapshotRecord& r,
                 std::vector<std::string>* deleted) {
  const std::string& name = r.volume_snapshot_content;
  auto content = kube.Get(VolumeSnapshotContents(), "", name);
  if (!content.ok() && content.status().code() == Code::kNotFound) return Status::Ok();
  if (!content.ok()) return content.status().Wrap("unable to read snapshot content '" + name + "'");
  if (StringAt(*content, "status.snapshotHandle") != r.snapshot_handle) {
    return Status::Ok();  // a content of that name made since: not this backup's
  }
  if (StringAt(*content, "spec.deletionPolicy") != "Delete") {
    json patch = {{"spec", {{"deletionPolicy", "Delete"}}}};
    auto patched = kube.MergePatch(VolumeSnapshotContents(), "", name, patch);
    if (!patched.ok() && patched.status().code() != Code::kNotFound) {
      return patched.status().Wrap("unable to set deletionPolicy Delete on snapshot content '" +
                                   name + "'");
    }
  }
  auto vs = kube.Get(VolumeSnapshots(), r.namespace_name, r.volume_snapshot);
  if (vs.ok() && StringAt(*vs, "status.boundVolumeSnapshotContentName") == name) {
    RETURN_IF_ERROR(
        DeleteIfThere(kube, VolumeSnapshots(), r.namespace_name, r.volume_snapshot, deleted));
  } else if (!vs.ok() && vs.status().code() != Code::kNotFound) {
    return vs.status().Wrap("unable to read volume snapshot '" + r.namespace_name + "/" +
                            r.volume_snapshot + "'");
  }
  return DeleteIfThere(kube, VolumeSnapshotContents(), "", name, deleted);
}

}  // namespace

Status DeleteBackupSnapshots(kube::Client& kube, std::string_view backup,
                             const std::vector<vault::SnapshotRecord>& records,
                             std::vector<std::string>* deleted) {
  RETURN_IF_ERROR(DeleteRestoreAliases(kube, backup, deleted));
  for (const vault::SnapshotRecord& r : records) RETURN_IF_ERROR(DeleteOne(kube, r, deleted));
  return Status::Ok();
}

base::Result<std::vector<std::string>> RemainingContents(
    kube::Client& kube, const std::vector<vault::SnapshotRecord>& records) {
  std::vector<std::string> out;
  for (const vault::SnapshotRecord& r : records) {
    auto c = kube.Get(VolumeSnapshotContents(), "", r.volume_snapshot_content);
    if (c.ok()) {
      if (StringAt(*c, "status.snapshotHandle") == r.snapshot_handle) {
        out.push_back(r.volume_snapshot_content);
      }
    } else if (c.status().code() != Code::kNotFound) {
      return c.status().Wrap("unable to read snapshot content '" + r.volume_snapshot_content + "'");
    }
  }
  return out;
}

}  // namespace cairn::snapshot
