#include "ops/restore/volumes.h"

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "mover/job_spec.h"
#include "mover/placement.h"
#include "mover/scheduler.h"
#include "vault/volume_result.h"

namespace cairn::ops::restore {
namespace {

using base::Code;

std::string ClaimObject(const std::string& ns, const std::string& pvc) {
  return "persistentvolumeclaims " + ns + "/" + pvc;
}

std::string TargetNamespace(const Options& opts, const std::string& ns) {
  for (const auto& [from, to] : opts.policy.namespace_mapping) {
    if (from == ns) return to;
  }
  return ns;
}

struct VolumeRecord {
  std::string namespace_name, pvc, target_namespace;
  std::string phase, message;
  uint64_t files = 0, bytes = 0;
  std::string source = "archive", snapshot;  // or "snapshot" and the VolumeSnapshot's name
};

// Why the restore does not write this volume ("" when it does).
std::string SkipReason(const Options& opts, const std::string& action) {
  if (action.empty() || action == "excluded") return "its claim is not part of this restore";
  if (action == "failed") return "its claim could not be created";
  if (action == "skipped" && opts.existing_data != "overwrite") {
    return "its claim already exists: its data is left alone (existing_data = \"overwrite\" "
           "writes over it)";
  }
  return "";
}

mover::JobSpecInput JobInput(const mover::Setup& setup, const Options& opts,
                             const BackedUpVolume& v, const std::string& target_ns,
                             const mover::Placement& placement) {
  const config::MoverSettings& ms = opts.movers;
  mover::JobSpecInput in;
  in.direction = mover::Direction::kRestore;
  in.backup_name = opts.policy.backup_name;
  in.restore_name = opts.policy.restore_name;
  in.namespace_name = v.namespace_name;
  in.pvc = v.pvc;
  in.claim_name = v.pvc;
  in.job_namespace = target_ns;
  in.image = ms.image.empty() ? setup.image : ms.image;
  in.vault_args = setup.vault_args;
  in.extra_args = {"--existing-data", opts.existing_data};
  in.secret_name = mover::SecretName(mover::JobName(in.direction, opts.policy.restore_name, v.pvc));
  in.credential_keys = setup.credential_keys;
  in.ca_bundle = setup.secret.count(mover::kCaKey) > 0;
  in.placement = placement;
  auto nodes = mover::ParseNodePolicy(ms.nodes);  // the config checked the word
  in.node_policy = nodes.ok() ? *nodes : mover::NodePolicy::kExclude;
  in.resources = {{"requests", ms.resources.requests}, {"limits", ms.resources.limits}};
  in.active_deadline_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(ms.volume_timeout).count();
  return in;
}

// The mover task of one volume, or the reason there is none.
base::Result<mover::VolumeTask> PlanTask(Deps& deps, const Options& opts, kube::Client& kube,
                                         const BackedUpVolume& v, const std::string& target_ns) {
  ASSIGN_OR_RETURN(nlohmann::json claim,
                   kube.Get({"", "v1", "persistentvolumeclaims", true}, target_ns, v.pvc));
  std::vector<nlohmann::json> pods;
  kube::ListOptions lo;
  lo.namespace_name = target_ns;
  RETURN_IF_ERROR(kube.List({"", "v1", "pods", true}, lo, [&](const nlohmann::json& page) {
    for (const auto& p : page.value("items", nlohmann::json::array())) pods.push_back(p);
    return true;
  }));
  ASSIGN_OR_RETURN(mover::Placement placed, mover::Place(claim, pods, opts.movers.privileged));
  if (!placed.mountable) return base::Error(Code::kFailedPrecondition, placed.reason);
  mover::JobSpecInput in = JobInput(*deps.movers, opts, v, target_ns, placed);
  return mover::VolumeTask{v.namespace_name, v.pvc, placed.node_name, mover::BuildJob(in),
                           deps.movers->secret};
}

// The restore mover's result document, read back as hostile input.
void Collect(Deps& deps, const Options& opts, const mover::VolumeOutcome& ran, Ledger& ledger,
             VolumeRecord& rec) {
  const std::string key = deps.layout.RestoreObjectKey(
      opts.policy.restore_name, vault::VolumeResultRel(ran.namespace_name, ran.pvc));
  const std::string scope = vault::NamespaceScope(rec.target_namespace);
  const std::string object = ClaimObject(rec.target_namespace, rec.pvc);
  auto bytes = deps.store.GetAll(key, vault::kMaxVolumeResultBytes);
  base::Result<vault::VolumeResult> r =
      bytes.ok() ? vault::ParseVolumeResult(*bytes, key) : bytes.status();
  if (r.ok() && (r->kind != vault::kKindVolumeRestore || r->pvc != rec.pvc ||
                 r->namespace_name != rec.namespace_name)) {
    r = base::Error(Code::kDataLoss, key + ": the result is of another volume");
  }
  rec.phase = vault::kPhaseFailed;
  if (!r.ok()) {
    rec.message =
        r.status().code() == Code::kNotFound && !ran.completed
            ? ran.reason
            : "volume " + rec.namespace_name + "/" + rec.pvc + ": " + r.status().message();
    ledger.Error(scope, rec.message, object);
    return;
  }
  for (const auto& w : r->warnings) ledger.Warn(scope, "volume: " + w, object);
  for (const auto& e : r->errors) ledger.Error(scope, "volume: " + e, object);
  rec.phase = r->phase;
  rec.message = r->message;
  rec.files = r->counts.files;
  rec.bytes = r->counts.bytes;
  if (r->phase == vault::kPhaseFailed) ledger.Error(scope, "volume: " + r->message, object);
}

void Record(const std::vector<VolumeRecord>& records, Ledger& ledger) {
  nlohmann::json list = nlohmann::json::array();
  int64_t restored = 0, bytes = 0;
  for (const auto& r : records) {
    nlohmann::json item = {{"namespace", r.namespace_name},
                           {"targetNamespace", r.target_namespace},
                           {"pvc", r.pvc},
                           {"source", r.source},
                           {"phase", r.phase},
                           {"message", r.message}};
    if (r.source == "snapshot") {
      item["volumeSnapshot"] = r.snapshot;
    } else {
      item["files"] = r.files;
      item["bytes"] = r.bytes;
    }
    list.push_back(std::move(item));
    if (r.phase == vault::kPhaseCompleted || r.phase == vault::kPhasePartiallyFailed) {
      ++restored;
      bytes += static_cast<int64_t>(r.bytes);
    }
  }
  if (records.empty()) return;
  ledger.Update([&](vault::RunStatus& st) {
    st.extra["volumes"] = list.dump();
    st.counts["volumes"] = restored;
    st.sizes["volumeBytes"] = bytes;
  });
}

// The record of a claim made from a snapshot: Completed once the claim is created with the
// snapshot as its data source; else why its data is not restored.
VolumeRecord SnapshotRecordOf(const Options& opts, const vault::SnapshotRecord& s,
                              const std::map<std::string, nlohmann::json>& claim_sources,
                              Ledger& ledger) {
  VolumeRecord rec;
  rec.namespace_name = s.namespace_name;
  rec.pvc = s.pvc;
  rec.target_namespace = TargetNamespace(opts, s.namespace_name);
  rec.source = "snapshot";
  rec.snapshot = s.volume_snapshot;
  rec.phase = "Skipped";
  auto source = claim_sources.find(s.namespace_name + "/" + s.pvc);
  if (source == claim_sources.end()) {
    rec.message = "no volume could be made from snapshot " + s.volume_snapshot +
                  ": the claim comes back empty (the warnings say why)";
    return rec;
  }
  rec.snapshot = source->second.value("name", s.volume_snapshot);  // the one made here
  const std::string action = ledger.ClaimAction(s.namespace_name, s.pvc);
  if (action != "created") {
    rec.message = SkipReason(opts, action);
    if (rec.message.empty()) rec.message = "its claim already exists: it keeps its own data";
    return rec;
  }
  rec.phase = vault::kPhaseCompleted;
  rec.message = "claim created from VolumeSnapshot " + rec.snapshot +
                "; the CSI driver provisions its data when it binds";
  return rec;
}

}  // namespace

std::vector<BackedUpVolume> VolumesOf(const vault::Manifest& manifest) {
  std::vector<BackedUpVolume> out;
  for (const vault::StoredObject& o : manifest.objects) {
    auto member = o.extra.find("volume");
    if (!o.key.starts_with("volumes/") || member == o.extra.end()) continue;
    auto v = nlohmann::json::parse(member->second, nullptr, false);
    if (!v.is_object() || !v.value("namespace", nlohmann::json()).is_string() ||
        !v.value("pvc", nlohmann::json()).is_string()) {
      continue;  // the restore mover refuses it by its manifest entry
    }
    out.push_back({v["namespace"].get<std::string>(), v["pvc"].get<std::string>(), &o});
  }
  return out;
}

void RestoreVolumes(Deps& deps, const Options& opts, kube::Client& kube,
                    const std::vector<BackedUpVolume>& volumes,
                    const std::vector<vault::SnapshotRecord>& snapshots,
                    const std::map<std::string, nlohmann::json>& claim_sources, Ledger& ledger) {
  std::vector<VolumeRecord> records;
  for (const vault::SnapshotRecord& s : snapshots) {
    records.push_back(SnapshotRecordOf(opts, s, claim_sources, ledger));
  }
  std::vector<mover::VolumeTask> tasks;
  std::vector<size_t> task_record;
  for (const BackedUpVolume& v : volumes) {
    VolumeRecord rec;
    rec.namespace_name = v.namespace_name;
    rec.pvc = v.pvc;
    rec.target_namespace = TargetNamespace(opts, v.namespace_name);
    rec.phase = "Skipped";
    rec.message = SkipReason(opts, ledger.ClaimAction(v.namespace_name, v.pvc));
    if (rec.message.empty() && deps.movers == nullptr) {
      rec.message = "volume data is not restored by this run: " + deps.no_movers_reason;
    }
    if (rec.message.empty()) {
      auto task = PlanTask(deps, opts, kube, v, rec.target_namespace);
      if (task.ok()) {
        tasks.push_back(std::move(*task));
        task_record.push_back(records.size());
      } else {
        rec.phase = vault::kPhaseFailed;
        rec.message = "volume " + v.namespace_name + "/" + v.pvc + ": " + task.status().message();
        ledger.Error(vault::NamespaceScope(rec.target_namespace), rec.message,
                     ClaimObject(rec.target_namespace, v.pvc));
      }
    } else if (rec.message.starts_with("its claim already exists") ||
               rec.message.starts_with("volume data is not")) {
      ledger.Warn(vault::NamespaceScope(rec.target_namespace),
                  "volume data not restored: " + rec.message,
                  ClaimObject(rec.target_namespace, v.pvc));
    }
    records.push_back(std::move(rec));
  }
  if (!tasks.empty()) {
    base::LogInfo("volume data", {{"movers", std::to_string(tasks.size())}});
    mover::SchedulerOptions so;
    so.per_node = opts.movers.concurrency;
    so.volume_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(opts.movers.volume_timeout);
    so.cancel = &deps.cancel;
    auto ran = mover::RunMovers(deps.movers->launcher, std::move(tasks), so, deps.clock);
    for (size_t i = 0; i < ran.size() && !deps.cancel.load(); ++i) {
      Collect(deps, opts, ran[i], ledger, records[task_record[i]]);
    }
  }
  Record(records, ledger);
}

}  // namespace cairn::ops::restore
