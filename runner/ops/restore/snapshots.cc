#include "ops/restore/snapshots.h"

#include <set>

#include "base/log.h"
#include "ops/restore/transform.h"
#include "snapshot/names.h"
#include "snapshot/restore.h"

namespace cairn::ops::restore {
namespace {

std::string ClaimObject(const std::string& ns, const std::string& pvc) {
  return "persistentvolumeclaims " + ns + "/" + pvc;
}

}  // namespace

SnapshotChoice ChooseSnapshots(const std::vector<vault::SnapshotRecord>& records,
                               const std::vector<BackedUpVolume>& archived,
                               const std::string& cluster) {
  std::set<std::string> with_archive;
  for (const BackedUpVolume& v : archived) with_archive.insert(v.namespace_name + "/" + v.pvc);
  SnapshotChoice out;
  for (const vault::SnapshotRecord& r : records) {
    const std::string claim = r.namespace_name + "/" + r.pvc;
    if (with_archive.count(claim)) continue;  // the archive travels; the movers restore it
    if (r.cluster == cluster) {
      out.usable.push_back(r);
      continue;
    }
    out.empty.emplace_back(claim, "the backup holds a CSI snapshot of it taken in cluster " +
                                      r.cluster + ", not this one (" + cluster +
                                      "), and snapshots do not travel between clusters; it has "
                                      "no archive of the data (volumes = \"all\" exports one)");
  }
  return out;
}

std::vector<vault::SnapshotRecord> SnapshotsToRestore(kube::Client& kube,
                                                      const vault::Manifest& manifest,
                                                      Ledger& ledger) {
  const std::string runner(vault::kScopeRunner);
  auto records = vault::ManifestSnapshots(manifest);
  if (!records.ok()) {
    ledger.Warn(runner, "volume snapshots not used: " + records.status().message(), "");
    return {};
  }
  if (records->empty()) return {};
  auto cluster = snapshot::ClusterIdentity(kube);
  if (!cluster.ok()) {
    ledger.Warn(runner,
                "volume snapshots not used (claims made from them come back empty): " +
                    cluster.status().message(),
                "");
    return {};
  }
  SnapshotChoice choice = ChooseSnapshots(*records, VolumesOf(manifest), *cluster);
  for (const auto& [claim, why] : choice.empty) {
    const std::string ns = claim.substr(0, claim.find('/'));
    ledger.Warn(vault::NamespaceScope(ns),
                "volume data not restored, the claim comes back empty: " + why,
                ClaimObject(ns, claim.substr(ns.size() + 1)));
  }
  return choice.usable;
}

std::map<std::string, nlohmann::json> PrepareSnapshotSources(
    Deps& deps, const Options& opts, kube::Client& kube,
    const std::vector<vault::SnapshotRecord>& records, Ledger& ledger) {
  std::map<std::string, nlohmann::json> sources;
  for (const vault::SnapshotRecord& r : records) {
    if (deps.cancel.load()) break;
    snapshot::RestoreSourceOptions so;
    so.backup = opts.policy.backup_name;
    so.restore = opts.policy.restore_name;
    so.target_namespace = MapNamespace(r.namespace_name, opts.policy);
    so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(opts.movers.volume_timeout);
    auto source = snapshot::PrepareRestoreSource(kube, deps.clock, r, so);
    if (!source.ok()) {
      ledger.Warn(vault::NamespaceScope(so.target_namespace),
                  "volume data not restored from snapshot " + r.volume_snapshot +
                      ", the claim comes back empty: " + source.status().message(),
                  ClaimObject(so.target_namespace, r.pvc));
      continue;
    }
    base::LogInfo("claim from snapshot", {{"pvc", so.target_namespace + "/" + r.pvc},
                                          {"snapshot", source->volume_snapshot}});
    sources[r.namespace_name + "/" + r.pvc] = snapshot::DataSource(*source);
  }
  return sources;
}

}  // namespace cairn::ops::restore
