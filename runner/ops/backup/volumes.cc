#include "ops/backup/volumes.h"

#include <map>

#include "base/log.h"
#include "mover/job_spec.h"
#include "mover/placement.h"
#include "mover/scheduler.h"
#include "ops/backup/snapshots.h"
#include "snapshot/names.h"
#include "vault/volume_result.h"

namespace cairn::ops::backup {
namespace {

using base::Code;
using base::Result;
using base::Status;

std::string Meta(const nlohmann::json& obj, const char* key) {
  return snapshot::StringAt(obj, std::string("metadata.") + key);
}

std::string ClaimObject(const std::string& ns, const std::string& pvc) {
  return "persistentvolumeclaims " + ns + "/" + pvc;
}

// The pods of each namespace that has a claim to copy, listed once.
Result<std::map<std::string, std::vector<nlohmann::json>>> PodsByNamespace(
    kube::Client& kube, const std::vector<nlohmann::json>& claims) {
  std::map<std::string, std::vector<nlohmann::json>> pods;
  for (const auto& c : claims) {
    const std::string ns = Meta(c, "namespace");
    if (pods.count(ns)) continue;
    auto& list = pods[ns];
    kube::ListOptions lo;
    lo.namespace_name = ns;
    RETURN_IF_ERROR(kube.List({"", "v1", "pods", true}, lo, [&](const nlohmann::json& page) {
      for (const auto& p : page.value("items", nlohmann::json::array())) list.push_back(p);
      return true;
    }));
  }
  return pods;
}

mover::JobSpecInput JobInput(const mover::Setup& movers, const Options& opts, const std::string& ns,
                             const std::string& pvc, const mover::Placement& placement) {
  mover::JobSpecInput in;
  in.direction = mover::Direction::kBackup;
  in.backup_name = opts.name;
  in.namespace_name = ns;
  in.pvc = pvc;
  const config::MoverSettings& ms = opts.policy.movers;
  in.image = ms.image.empty() ? movers.image : ms.image;
  in.vault_args = movers.vault_args;
  in.extra_args = {"--compression-level", std::to_string(opts.policy.compression_level)};
  in.secret_name = mover::SecretName(mover::JobName(in.direction, opts.name, pvc));
  in.credential_keys = movers.credential_keys;
  in.ca_bundle = movers.secret.count(mover::kCaKey) > 0;
  in.placement = placement;
  auto nodes = mover::ParseNodePolicy(ms.nodes);  // the config checked the word
  in.node_policy = nodes.ok() ? *nodes : mover::NodePolicy::kExclude;
  in.resources = {{"requests", ms.resources.requests}, {"limits", ms.resources.limits}};
  in.active_deadline_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(ms.volume_timeout).count();
  return in;
}

// What the planning leaves: mover tasks, the claims done already, the snapshots taken.
struct Planned {
  std::vector<mover::VolumeTask> tasks;
  std::vector<VolumeOutcome> done;
  std::map<std::pair<std::string, std::string>, vault::SnapshotRecord> snapshots;
};

void Fail(RunState& state, Planned& plan, const std::string& ns, const std::string& pvc,
          const std::string& why) {
  plan.done.push_back({ns, pvc, "Failed", why, std::nullopt, 0, 0, "", std::nullopt});
  state.AddError(vault::NamespaceScope(ns), "volume data not copied: " + why, ClaimObject(ns, pvc));
}

// A claim whose data cannot be reached at all: a warning naming it, not an error.
void Skip(RunState& state, Planned& plan, const std::string& ns, const std::string& pvc,
          const std::string& why) {
  plan.done.push_back({ns, pvc, "Skipped", why, std::nullopt, 0, 0, "", std::nullopt});
  state.AddWarning(vault::NamespaceScope(ns), "volume data not copied: " + why,
                   ClaimObject(ns, pvc));
}

// A claim taken through its CSI snapshot; with `exporting`, its files are also copied by a
// mover that mounts a temporary claim made from the snapshot. Non-ok only when cancelled.
Status PlanSnapshot(Deps& deps, const Options& opts, RunState& state, const nlohmann::json& c,
                    const Result<mover::Placement>& placed, bool exporting, SnapshotPhase& snaps,
                    Planned& plan) {
  const std::string ns = Meta(c, "namespace"), pvc = Meta(c, "name");
  Result<vault::SnapshotRecord> rec = snaps.Take(c);
  if (!rec.ok()) {
    if (deps.cancel.load()) return base::Error(Code::kCancelled, "cancelled while snapshotting");
    plan.done.push_back(
        {ns, pvc, "Failed", rec.status().message(), std::nullopt, 0, 0, "", std::nullopt});
    return Status::Ok();
  }
  plan.snapshots[{ns, pvc}] = *rec;
  VolumeOutcome out{ns,           pvc, "Completed", "snapshot " + rec->volume_snapshot + " ready",
                    std::nullopt, 0,   0,           "",
                    *rec};
  std::string why = !exporting ? "" : !placed.ok() ? placed.status().message() : "";
  Result<std::string> temp = why.empty() && exporting ? snaps.CreateTemporaryClaim(c, *rec)
                                                      : Result<std::string>(std::string());
  if (!temp.ok()) why = temp.status().message();
  if (!why.empty() || !exporting) {
    if (!why.empty()) {
      out.phase = "Failed";
      out.message = why;
      state.AddError(vault::NamespaceScope(ns), "volume data not copied: " + why,
                     ClaimObject(ns, pvc));
    }
    plan.done.push_back(out);
    return Status::Ok();
  }
  mover::Placement p = *placed;  // the workload's identity; the new claim is mounted anywhere
  p.node_name.clear();
  p.mountable = true;
  p.reason.clear();
  mover::JobSpecInput in = JobInput(*deps.movers, opts, ns, pvc, p);
  in.claim_name = *temp;
  plan.tasks.push_back({ns, pvc, "", mover::BuildJob(in), deps.movers->secret});
  return Status::Ok();
}

// The claims to copy (not opted out, bound); the others are outcomes already.
std::vector<nlohmann::json> Wanted(RunState& state, const std::vector<nlohmann::json>& claims,
                                   Planned& plan) {
  std::vector<nlohmann::json> wanted;
  for (const auto& c : claims) {
    const std::string ns = Meta(c, "namespace"), pvc = Meta(c, "name");
    if (std::string why = SkipReason(c); !why.empty()) {
      plan.done.push_back({ns, pvc, "Skipped", why, std::nullopt, 0, 0, "", std::nullopt});
      if (why.rfind("not bound", 0) == 0) {
        state.AddWarning(vault::NamespaceScope(ns), "volume data not copied: " + why,
                         ClaimObject(ns, pvc));
      }
      continue;
    }
    wanted.push_back(c);
  }
  return wanted;
}

// Each claim: a snapshot (mode snapshot/all, or a ReadWriteOncePod claim in use whose driver
// has a snapshot class), a mover task, or a failure.
Status PlanTasks(Deps& deps, const Options& opts, RunState& state,
                 const std::vector<nlohmann::json>& claims, SnapshotPhase& snaps, Planned& plan) {
  const std::string& mode = opts.policy.volumes;
  std::vector<nlohmann::json> wanted = Wanted(state, claims, plan);
  std::map<std::string, std::vector<nlohmann::json>> pods;
  if (mode != "snapshot") {
    ASSIGN_OR_RETURN(pods, PodsByNamespace(deps.kube, wanted));
  }
  for (const auto& c : wanted) {
    const std::string ns = Meta(c, "namespace"), pvc = Meta(c, "name");
    auto placed = mover::Place(c, pods[ns], opts.policy.movers.privileged);
    const bool unmountable = placed.ok() && !placed->mountable;
    if (SnapshotsEveryClaim(mode) || (unmountable && snaps.HasClass(c))) {
      RETURN_IF_ERROR(PlanSnapshot(deps, opts, state, c, placed, mode != "snapshot", snaps, plan));
      continue;
    }
    if (unmountable) {  // ReadWriteOncePod in use, no class to snapshot it with
      Skip(state, plan, ns, pvc,
           placed->reason + ", and its driver has no VolumeSnapshotClass to snapshot it with");
      continue;
    }
    if (!placed.ok()) {
      Fail(state, plan, ns, pvc, placed.status().message());
      continue;
    }
    mover::JobSpecInput in = JobInput(*deps.movers, opts, ns, pvc, *placed);
    plan.tasks.push_back({ns, pvc, placed->node_name, mover::BuildJob(in), deps.movers->secret});
  }
  return Status::Ok();
}

// The mover's result document, read back as hostile input, checked against what was asked and
// against the archive the vault holds.
Result<vault::VolumeResult> ReadResult(Deps& deps, const Options& opts, const std::string& ns,
                                       const std::string& pvc) {
  const std::string key = deps.layout.BackupObjectKey(opts.name, vault::VolumeResultRel(ns, pvc));
  ASSIGN_OR_RETURN(std::string bytes, deps.store.GetAll(key, vault::kMaxVolumeResultBytes));
  ASSIGN_OR_RETURN(vault::VolumeResult r, vault::ParseVolumeResult(bytes, key));
  if (r.kind != vault::kKindVolumeBackup || r.backup != opts.name || r.namespace_name != ns ||
      r.pvc != pvc) {
    return base::Error(Code::kDataLoss, key + ": the result is of another volume or backup");
  }
  if (!r.object) return r;
  if (r.object->key != VolumeArchiveName(ns, pvc)) {
    return base::Error(Code::kDataLoss, key + ": the archive key is not the volume's");
  }
  ASSIGN_OR_RETURN(store::ObjectInfo head,
                   deps.store.Head(deps.layout.BackupObjectKey(opts.name, r.object->key)));
  if (head.size != r.object->stored_size) {
    return base::Error(Code::kDataLoss, key + ": the archive holds " + std::to_string(head.size) +
                                            " bytes, the result records " +
                                            std::to_string(r.object->stored_size));
  }
  return r;
}

vault::StoredObject Describe(const vault::VolumeResult& r) {
  const vault::VolumeObject& o = *r.object;
  vault::StoredObject s;
  s.key = o.key;
  s.stored_size = o.stored_size;
  s.stored_sha256 = o.stored_sha256;
  s.logical_size = o.logical_size;
  s.logical_sha256 = o.logical_sha256;
  s.compression = o.compression;
  s.content_type = o.content_type;
  s.extra["volume"] = nlohmann::json{
      {"namespace", r.namespace_name},
      {"pvc", r.pvc},
      {"files", r.counts.files},
      {"bytes",
       r.counts.bytes}}.dump();
  return s;
}

// One finished mover: its result, issues and outcome.
VolumeOutcome Collect(Deps& deps, const Options& opts, RunState& state,
                      const mover::VolumeOutcome& ran) {
  const std::string& ns = ran.namespace_name;
  const std::string& pvc = ran.pvc;
  const std::string scope = vault::NamespaceScope(ns), object = ClaimObject(ns, pvc);
  VolumeOutcome out{ns, pvc, "Failed", "", std::nullopt, 0, 0, ran.node, std::nullopt};
  auto result = ReadResult(deps, opts, ns, pvc);
  if (!result.ok()) {
    // No result: the mover's own reason says most (it failed before writing one).
    out.message = ran.completed || result.status().code() != Code::kNotFound
                      ? "volume " + ns + "/" + pvc + ": " + result.status().message()
                      : ran.reason;
    state.AddError(scope, out.message, object);
    return out;
  }
  for (const auto& w : result->warnings) state.AddWarning(scope, "volume: " + w, object);
  for (const auto& e : result->errors) state.AddError(scope, "volume: " + e, object);
  out.phase = result->phase;
  out.message = result->message;
  out.files = result->counts.files;
  out.bytes = result->counts.bytes;
  if (result->object && result->phase != vault::kPhaseFailed) out.object = Describe(*result);
  if (result->phase == vault::kPhaseFailed) {
    state.AddError(scope, "volume " + ns + "/" + pvc + ": " + result->message, object);
  }
  return out;
}

}  // namespace

Result<std::vector<VolumeOutcome>> BackupVolumes(Deps& deps, const Options& opts, RunState& state,
                                                 const std::vector<nlohmann::json>& claims,
                                                 std::vector<vault::SnapshotRecord>* taken) {
  if (claims.empty()) return std::vector<VolumeOutcome>();
  if (deps.movers == nullptr && opts.policy.volumes != "snapshot") {
    return base::Error(Code::kFailedPrecondition, "volume data asked for, but no mover is set up");
  }
  SnapshotPhase snaps(deps, opts, state, taken);  // its temporary claims go with it
  Planned plan;
  RETURN_IF_ERROR(PlanTasks(deps, opts, state, claims, snaps, plan));
  base::LogInfo("volume data", {{"movers", std::to_string(plan.tasks.size())},
                                {"snapshots", std::to_string(plan.snapshots.size())}});
  mover::SchedulerOptions so;
  so.per_node = opts.policy.movers.concurrency;
  so.volume_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts.policy.movers.volume_timeout);
  so.cancel = &deps.cancel;
  std::vector<mover::VolumeOutcome> ran;
  if (!plan.tasks.empty()) {  // "snapshot" plans none (and may have no mover set up)
    ran = mover::RunMovers(deps.movers->launcher, std::move(plan.tasks), so, deps.clock);
  }
  snaps.DeleteTemporaryClaims();
  if (deps.cancel.load()) return base::Error(Code::kCancelled, "cancelled while copying volumes");
  std::vector<VolumeOutcome> outcomes = std::move(plan.done);
  for (const auto& r : ran) {
    VolumeOutcome out = Collect(deps, opts, state, r);
    auto snap = plan.snapshots.find({r.namespace_name, r.pvc});
    if (snap != plan.snapshots.end()) out.snapshot = snap->second;
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

}  // namespace cairn::ops::backup
