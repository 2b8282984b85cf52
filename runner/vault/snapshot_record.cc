#include "vault/snapshot_record.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "vault/json_document.h"

namespace cairn::vault {
namespace {

using base::Code;
using base::Status;
using internal::FieldReader;
using internal::Json;

bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool Alnum(char c) { return LowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// DNS-1123 label (max 63) or subdomain (max 253), as the API server checks names.
bool DnsName(std::string_view s, bool subdomain) {
  if (s.empty() || s.size() > (subdomain ? 253u : 63u)) return false;
  if (!LowerAlnum(s.front()) || !LowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return LowerAlnum(c) || c == '-' || (subdomain && c == '.'); });
}

// A CSI driver name as a PersistentVolume's spec.csi.driver is validated.
bool DriverName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !Alnum(s.front()) || !Alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool Printable(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
}

// The first rule `r` breaks, or "" (the field name and what it must be).
std::string Problem(const SnapshotRecord& r) {
  if (!Printable(r.cluster, 128)) return "cluster must be 1 to 128 printable characters";
  if (!DnsName(r.namespace_name, false)) return "namespace must be a DNS-1123 label";
  if (!DnsName(r.pvc, true)) return "pvc must be a DNS-1123 subdomain";
  if (!DnsName(r.volume_snapshot, true)) return "volumeSnapshot must be a DNS-1123 subdomain";
  if (!DnsName(r.volume_snapshot_content, true))
    return "volumeSnapshotContent must be a DNS-1123 subdomain";
  if (!Printable(r.snapshot_handle, 1024))
    return "snapshotHandle must be 1 to 1024 printable characters";
  if (!DriverName(r.driver)) return "driver must be a CSI driver name";
  if (!DnsName(r.volume_snapshot_class, true))
    return "volumeSnapshotClass must be a DNS-1123 subdomain";
  return "";
}

Json ToJson(const SnapshotRecord& r) {
  Json j = Json::object();
  j["cluster"] = r.cluster;
  j["namespace"] = r.namespace_name;
  j["pvc"] = r.pvc;
  j["volumeSnapshot"] = r.volume_snapshot;
  j["volumeSnapshotContent"] = r.volume_snapshot_content;
  j["snapshotHandle"] = r.snapshot_handle;
  j["driver"] = r.driver;
  j["volumeSnapshotClass"] = r.volume_snapshot_class;
  j["restoreSize"] = r.restore_size;
  j["readyTime"] = base::FormatRfc3339(r.ready_time);
  internal::AddUnknown(j, r.extra);
  return j;
}

SnapshotRecord FromJson(FieldReader f, const Json& raw) {
  SnapshotRecord r;
  r.cluster = f.Str("cluster");
  r.namespace_name = f.Str("namespace");
  r.pvc = f.Str("pvc");
  r.volume_snapshot = f.Str("volumeSnapshot");
  r.volume_snapshot_content = f.Str("volumeSnapshotContent");
  r.snapshot_handle = f.Str("snapshotHandle");
  r.driver = f.Str("driver");
  r.volume_snapshot_class = f.Str("volumeSnapshotClass");
  r.restore_size = f.U64("restoreSize");
  r.ready_time = f.Time("readyTime");
  if (raw.is_object()) {
    r.extra = internal::CollectUnknown(
        raw, {"cluster", "namespace", "pvc", "volumeSnapshot", "volumeSnapshotContent",
              "snapshotHandle", "driver", "volumeSnapshotClass", "restoreSize", "readyTime"});
  }
  return r;
}

auto Key(const SnapshotRecord& r) { return std::tie(r.namespace_name, r.pvc); }

}  // namespace

base::Result<std::string> SerializeSnapshotRecords(const std::vector<SnapshotRecord>& records) {
  if (records.size() > kMaxSnapshotRecords) {
    return Status(Code::kInvalidArgument,
                  "too many snapshot records: " + std::to_string(records.size()));
  }
  std::vector<const SnapshotRecord*> sorted;
  for (const SnapshotRecord& r : records) {
    if (std::string p = Problem(r); !p.empty()) {
      return Status(Code::kInvalidArgument, "invalid snapshot record for PVC '" + r.namespace_name +
                                                "/" + r.pvc + "': " + p);
    }
    sorted.push_back(&r);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const SnapshotRecord* a, const SnapshotRecord* b) { return Key(*a) < Key(*b); });
  Json arr = Json::array();
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && Key(*sorted[i]) == Key(*sorted[i - 1])) {
      return Status(Code::kInvalidArgument, "two snapshot records for PVC '" +
                                                sorted[i]->namespace_name + "/" + sorted[i]->pvc +
                                                "'");
    }
    arr.push_back(ToJson(*sorted[i]));
  }
  return internal::Canonical(arr, "snapshot records");
}

base::Result<std::vector<SnapshotRecord>> ParseSnapshotRecords(std::string_view json_text,
                                                               std::string_view what) {
  // ParseDocument wants an object at the top: wrap the member as it sits in the manifest.
  std::string doc = "{\"snapshots\":" + std::string(json_text) + "}";
  ASSIGN_OR_RETURN(Json root, internal::ParseDocument(doc, what));
  FieldReader top(root);
  const size_t n = top.ArraySize("snapshots");
  RETURN_IF_ERROR(top.status(what));
  if (n > kMaxSnapshotRecords) {
    return Status(Code::kDataLoss, std::string(what) + " is malformed: more than " +
                                       std::to_string(kMaxSnapshotRecords) + " records");
  }
  std::vector<SnapshotRecord> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < n; ++i) {
    SnapshotRecord r = FromJson(top.Element("snapshots", i), root["snapshots"][i]);
    RETURN_IF_ERROR(top.status(what));
    const std::string at = "snapshots[" + std::to_string(i) + "]";
    if (std::string p = Problem(r); !p.empty()) {
      return Status(Code::kDataLoss, std::string(what) + " is malformed: " + at + "." + p);
    }
    if (!seen.emplace(r.namespace_name, r.pvc).second) {
      return Status(Code::kDataLoss, std::string(what) + " is malformed: " + at + " repeats PVC '" +
                                         r.namespace_name + "/" + r.pvc + "'");
    }
    out.push_back(std::move(r));
  }
  return out;
}

base::Result<std::vector<SnapshotRecord>> ManifestSnapshots(const Manifest& m) {
  auto it = m.extra.find(std::string(kSnapshotsMember));
  if (it == m.extra.end()) return std::vector<SnapshotRecord>{};
  return ParseSnapshotRecords(it->second, "manifest of backup '" + m.name + "': snapshots");
}

Status SetManifestSnapshots(Manifest& m, const std::vector<SnapshotRecord>& records) {
  if (records.empty()) {
    m.extra.erase(std::string(kSnapshotsMember));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string text, SerializeSnapshotRecords(records));
  m.extra[std::string(kSnapshotsMember)] = std::move(text);
  return Status::Ok();
}

}  // namespace cairn::vault
