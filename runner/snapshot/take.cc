#include "snapshot/take.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include "snapshot/class.h"
#include "snapshot/names.h"

namespace cairn::snapshot {
namespace {

using base::Code;
using base::Status;
using nlohmann::json;

std::string PvcName(const TakeOptions& o) { return "PVC '" + o.namespace_name + "/" + o.pvc + "'"; }

json SnapshotObject(const TakeOptions& o, const std::string& name, const SnapshotClass& cls) {
  return {{"apiVersion", std::string(kGroup) + "/v1"},
          {"kind", "VolumeSnapshot"},
          {"metadata",
           {{"name", name},
            {"namespace", o.namespace_name},
            {"labels",
             {{std::string(kBackupLabel), o.backup}, {"app.kubernetes.io/managed-by", "cairn"}}}}},
          {"spec",
           {{"volumeSnapshotClassName", cls.name},
            {"source", {{"persistentVolumeClaimName", o.pvc}}}}}};
}

// Creates the VolumeSnapshot, or takes over the one a previous attempt of this backup made.
base::Result<json> EnsureSnapshot(kube::Client& kube, const TakeOptions& o, const std::string& name,
                                  const SnapshotClass& cls) {
  auto created = kube.Create(VolumeSnapshots(), o.namespace_name, SnapshotObject(o, name, cls));
  if (created.ok()) return created;
  if (created.status().code() != Code::kAlreadyExists) {
    return created.status().Wrap("unable to snapshot " + PvcName(o));
  }
  ASSIGN_OR_RETURN(json existing, kube.Get(VolumeSnapshots(), o.namespace_name, name));
  if (MetaMapValue(existing, "labels", kBackupLabel) != o.backup ||
      StringAt(existing, "spec.source.persistentVolumeClaimName") != o.pvc) {
    return Status(Code::kAlreadyExists, "unable to snapshot " + PvcName(o) + ": volume snapshot '" +
                                            name + "' exists and is not this backup's");
  }
  return existing;
}

bool Ready(const json& vs) {
  const json st = vs.value("status", json::object());
  return st.is_object() && st.value("readyToUse", false) == true &&
         !StringAt(vs, "status.boundVolumeSnapshotContentName").empty();
}

base::Result<json> WaitReady(kube::Client& kube, base::Clock& clock, const TakeOptions& o,
                             const std::string& name, const std::atomic<bool>* cancel) {
  const auto deadline = clock.Steady() + o.timeout;
  json vs;
  while (true) {
    if (cancel != nullptr && cancel->load()) {
      return Status(Code::kCancelled, "snapshot of " + PvcName(o) + " cancelled");
    }
    auto got = kube.Get(VolumeSnapshots(), o.namespace_name, name);
    if (!got.ok()) return got.status().Wrap("unable to watch the snapshot of " + PvcName(o));
    vs = std::move(*got);
    if (Ready(vs)) return vs;
    if (clock.Steady() >= deadline) break;
    clock.SleepFor(std::min<base::Duration>(o.poll, deadline - clock.Steady()));
  }
  return Status(Code::kDeadlineExceeded, "snapshot of " + PvcName(o) + " not ready after " +
                                             base::FormatDuration(o.timeout) +
                                             ": volume snapshot '" + o.namespace_name + "/" + name +
                                             "': " + DescribeStatus(vs));
}

// The content must point back at this snapshot (binding is verified both ways, as the
// snapshot API asks of consumers) before it is retained.
base::Result<json> RetainContent(kube::Client& kube, const TakeOptions& o, const json& vs) {
  const std::string content = StringAt(vs, "status.boundVolumeSnapshotContentName");
  auto got = kube.Get(VolumeSnapshotContents(), "", content);
  if (!got.ok()) return got.status().Wrap("unable to read the snapshot content of " + PvcName(o));
  if (StringAt(*got, "spec.volumeSnapshotRef.uid") != StringAt(vs, "metadata.uid")) {
    return Status(Code::kFailedPrecondition, "snapshot content '" + content + "' of " + PvcName(o) +
                                                 " is bound to another snapshot");
  }
  if (StringAt(*got, "spec.deletionPolicy") == "Retain") return got;
  json patch = {{"spec", {{"deletionPolicy", "Retain"}}}};
  auto patched = kube.MergePatch(VolumeSnapshotContents(), "", content, patch);
  if (!patched.ok()) {
    return patched.status().Wrap("unable to retain snapshot content '" + content + "' of " +
                                 PvcName(o));
  }
  return patched;
}

base::Result<vault::SnapshotRecord> Record(const TakeOptions& o, const json& vs,
                                           const json& content, const SnapshotClass& cls,
                                           base::TimePoint ready) {
  vault::SnapshotRecord r;
  r.cluster = o.cluster;
  r.namespace_name = o.namespace_name;
  r.pvc = o.pvc;
  r.volume_snapshot = StringAt(vs, "metadata.name");
  r.volume_snapshot_content = StringAt(content, "metadata.name");
  r.snapshot_handle = StringAt(content, "status.snapshotHandle");
  r.driver = StringAt(content, "spec.driver");
  r.volume_snapshot_class = cls.name;
  r.ready_time = ready;
  const json st = content.value("status", json::object());
  if (st.is_object() && st.contains("restoreSize") && st["restoreSize"].is_number_unsigned()) {
    r.restore_size = st["restoreSize"].get<uint64_t>();
  } else {
    auto size = QuantityBytes(StringAt(vs, "status.restoreSize"));
    if (size.ok()) r.restore_size = *size;
  }
  if (r.snapshot_handle.empty()) {
    return Status(Code::kFailedPrecondition, "snapshot content '" + r.volume_snapshot_content +
                                                 "' of " + PvcName(o) +
                                                 " is ready but has no status.snapshotHandle");
  }
  return r;
}

}  // namespace

base::Result<vault::SnapshotRecord> Take(kube::Client& kube, base::Clock& clock,
                                         const TakeOptions& o, const std::atomic<bool>* cancel,
                                         kube::Client* cleanup) {
  auto pvc = kube.Get(PersistentVolumeClaims(), o.namespace_name, o.pvc);
  if (!pvc.ok()) return pvc.status().Wrap("unable to snapshot " + PvcName(o));
  ASSIGN_OR_RETURN(SnapshotClass cls, ResolveClass(kube, *pvc, o.snapshot_class));
  const std::string name = SnapshotName(o.backup, o.pvc);
  ASSIGN_OR_RETURN(json vs, EnsureSnapshot(kube, o, name, cls));
  auto done = [&]() -> base::Result<vault::SnapshotRecord> {
    ASSIGN_OR_RETURN(json ready, WaitReady(kube, clock, o, name, cancel));
    ASSIGN_OR_RETURN(json content, RetainContent(kube, o, ready));
    return Record(o, ready, content, cls, clock.Now());
  }();
  if (!done.ok()) {
    kube::Client& undo = cleanup != nullptr ? *cleanup : kube;
    (void)undo.Delete(VolumeSnapshots(), o.namespace_name, name);  // best effort: no litter
  }
  return done;
}

std::string DescribeStatus(const json& vs) {
  const json st = vs.is_object() ? vs.value("status", json()) : json();
  if (!st.is_object() || st.empty()) return "no status (is the snapshot controller running?)";
  std::string out =
      std::string("readyToUse ") + (st.value("readyToUse", json()).is_boolean()
                                        ? (st["readyToUse"].get<bool>() ? "true" : "false")
                                        : "unknown");
  const std::string bound = StringAt(st, "boundVolumeSnapshotContentName");
  out += bound.empty() ? ", not bound to a content" : ", bound to content '" + bound + "'";
  const std::string err = StringAt(st, "error.message");
  if (!err.empty()) out += ", error: " + err;
  return out;
}

base::Result<uint64_t> QuantityBytes(std::string_view q) {
  static const std::pair<const char*, double> kUnits[] = {{"Ki", 1024.0},
                                                          {"Mi", 1048576.0},
                                                          {"Gi", 1073741824.0},
                                                          {"Ti", 1099511627776.0},
                                                          {"Pi", 1125899906842624.0},
                                                          {"Ei", 1152921504606846976.0},
                                                          {"k", 1e3},
                                                          {"M", 1e6},
                                                          {"G", 1e9},
                                                          {"T", 1e12},
                                                          {"P", 1e15},
                                                          {"E", 1e18}};
  std::string s(q);
  double factor = 1;
  for (const auto& [u, f] : kUnits) {
    std::string_view unit(u);
    if (s.size() > unit.size() && s.compare(s.size() - unit.size(), unit.size(), unit) == 0) {
      s.resize(s.size() - unit.size());
      factor = f;
      break;
    }
  }
  char* end = nullptr;
  const bool digits = !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos;
  double v = digits ? std::strtod(s.c_str(), &end) : -1;
  if (!digits || end != s.c_str() + s.size() || v < 0 || !std::isfinite(v * factor) ||
      v * factor > 1.8e19) {
    return Status(Code::kInvalidArgument, "'" + std::string(q) + "' is not a quantity of bytes");
  }
  return static_cast<uint64_t>(std::ceil(v * factor));
}

}  // namespace cairn::snapshot
