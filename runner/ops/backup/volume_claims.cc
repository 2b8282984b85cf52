#include "ops/backup/volume_claims.h"

#include <algorithm>

#include "snapshot/names.h"

namespace cairn::ops::backup {
namespace {

std::string Meta(const nlohmann::json& obj, const char* key) {
  return snapshot::StringAt(obj, std::string("metadata.") + key);
}

nlohmann::json OutcomeJson(const VolumeOutcome& o) {
  nlohmann::json j = {
      {"namespace", o.namespace_name}, {"pvc", o.pvc}, {"phase", o.phase}, {"message", o.message}};
  if (o.object) {
    j["archive"] = o.object->key;
    j["storedBytes"] = o.object->stored_size;
    j["files"] = o.files;
    j["bytes"] = o.bytes;
  }
  if (o.snapshot) {
    j["snapshot"] = o.snapshot->volume_snapshot;
    j["snapshotContent"] = o.snapshot->volume_snapshot_content;
  }
  if (!o.node.empty()) j["node"] = o.node;
  return j;
}

}  // namespace

void ClaimCollector::Offer(const Visit& v) {
  if (!v.primary || !v.resource.group.empty() || v.resource.resource != "persistentvolumeclaims") {
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  claims_.push_back(v.object);
}

std::vector<nlohmann::json> ClaimCollector::Take() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<nlohmann::json> out = std::move(claims_);
  claims_.clear();
  auto key = [](const nlohmann::json& c) {
    return std::pair(Meta(c, "namespace"), Meta(c, "name"));
  };
  std::sort(out.begin(), out.end(),
            [&](const nlohmann::json& a, const nlohmann::json& b) { return key(a) < key(b); });
  return out;
}

std::string SkipReason(const nlohmann::json& claim) {
  for (const char* section : {"labels", "annotations"}) {
    if (snapshot::MetaMapValue(claim, section, kVolumeBackupKey) == "false") {
      const std::string what = std::string_view(section) == "labels" ? "label" : "annotation";
      return "left out by its " + what + " " + std::string(kVolumeBackupKey) + "=false";
    }
  }
  const auto status = claim.value("status", nlohmann::json::object());
  const std::string phase = status.is_object() ? status.value("phase", "") : "";
  if (phase != "Bound") {
    return "not bound to a volume (phase " + (phase.empty() ? std::string("unknown") : phase) +
           "): no data to copy";
  }
  return "";
}

void RecordVolumes(const std::string& policy_volumes, const std::vector<VolumeOutcome>& outcomes,
                   vault::RunStatus& st) {
  const bool taken = std::any_of(outcomes.begin(), outcomes.end(), [](const VolumeOutcome& o) {
    return o.object.has_value() || o.snapshot.has_value();
  });
  st.extra["backupType"] = taken ? "\"AppAndPvBackup\"" : "\"AppBackup\"";
  if (policy_volumes == "none") return;
  st.extra["dataType"] = "\"" + (outcomes.empty() ? std::string("none") : policy_volumes) + "\"";
  nlohmann::json list = nlohmann::json::array();
  uint64_t bytes = 0, files = 0, stored = 0;
  for (const VolumeOutcome& o : outcomes) {
    list.push_back(OutcomeJson(o));
    if (!o.object) continue;
    bytes += o.bytes;
    files += o.files;
    stored += o.object->stored_size;
  }
  st.extra["volumes"] = list.dump();
  st.counts["volumes"] = static_cast<int64_t>(
      std::count_if(outcomes.begin(), outcomes.end(),
                    [](const VolumeOutcome& o) { return o.object.has_value(); }));
  st.counts["volumeFiles"] = static_cast<int64_t>(files);
  st.sizes["volumeBytes"] = static_cast<int64_t>(bytes);
  st.sizes["volumeStoredBytes"] = static_cast<int64_t>(stored);
}

std::string VolumeArchiveName(const std::string& ns, const std::string& pvc) {
  return "volumes/" + ns + "/" + pvc + ".tar.zst";
}

}  // namespace cairn::ops::backup
