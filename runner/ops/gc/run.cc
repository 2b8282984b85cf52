#include "base/log.h"
#include "ops/gc/execute.h"
#include "ops/gc/gc.h"
#include "vault/catalog.h"
#include "vault/read_lease.h"
#include "vault/vault_info.h"

namespace cairn::ops::gc {
namespace {

using base::Code;
using base::Result;
using base::Status;

// Reads the restore statuses (one listing of <p>/restores/, one GET per status.json).
Status GatherRestores(Deps& deps, Inputs& in) {
  store::ListOptions opts;
  opts.prefix = deps.layout.RestoresPrefix();
  ASSIGN_OR_RETURN(auto objects, deps.store.ListAll(opts));
  for (const store::ObjectInfo& o : objects) {
    const std::string rest = o.key.substr(opts.prefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.substr(slash + 1) != vault::kStatusObject) continue;
    auto st = vault::ReadStatus(deps.store, o.key);
    if (st.ok() && st->kind == vault::kKindRestore && st->name == rest.substr(0, slash)) {
      in.restores.push_back(std::move(*st));
    }
  }
  return Status::Ok();
}

Result<Inputs> Gather(Deps& deps, base::TimePoint now) {
  Inputs in;
  ASSIGN_OR_RETURN(in.backups, vault::ListBackups(deps.store, deps.layout));
  Status restores = GatherRestores(deps, in);
  if (!restores.ok()) return restores.Wrap("unable to list restores");
  // Only cairn's own directories: a foreign upload under the prefix is not ours to abort.
  for (const std::string& prefix : {deps.layout.BackupsPrefix(), deps.layout.RestoresPrefix(),
                                    deps.layout.ConversionsPrefix(), deps.layout.GcPrefix()}) {
    auto uploads = deps.store.ListPendingUploads(prefix);
    if (!uploads.ok()) return uploads.status().Wrap("unable to list pending uploads");
    in.uploads.insert(in.uploads.end(), uploads->begin(), uploads->end());
  }
  ASSIGN_OR_RETURN(in.read_leases, vault::LiveReadLeases(deps.store, deps.layout, now));
  return in;
}

// The lease stays ours: renewed when a third of its duration has passed.
class LeaseKeeper {
 public:
  LeaseKeeper(Deps& deps, vault::Lease lease) : deps_(deps), lease_(std::move(lease)) {}
  Status Keep() {
    const auto age = deps_.clock.Now() - lease_.renewed;
    if (age < std::chrono::seconds(lease_.lease_seconds) / 3) return Status::Ok();
    return vault::RenewLease(deps_.store, lease_, deps_.clock);
  }
  void Release() {
    store::ObjectStore& store = deps_.final_store ? *deps_.final_store : deps_.store;
    Status st = vault::ReleaseLease(store, lease_, deps_.clock);
    if (!st.ok()) base::LogWarn("gc lease not released", {{"error", st.message()}});
  }

 private:
  Deps& deps_;
  vault::Lease lease_;
};

struct Tally {
  vault::RunStatus& st;
  void Count(const char* what, int64_t n = 1) { st.counts[what] += n; }
};

const char* CountName(Action a) {
  switch (a) {
    case Action::kExpire: return "expired";
    case Action::kRetention: return "deletedByRetention";
    case Action::kRequest: return "deletedByRequest";
    case Action::kFinishDeleting: return "deletionsFinished";
    case Action::kOrphan: return "orphansRemoved";
    case Action::kAbandon: return "abandonedRuns";
    case Action::kKeep: return "kept";
  }
  return "kept";
}

// One backup's decision carried out; the event says what happened.
Status ExecuteBackup(Deps& deps, ExecContext& ctx, const BackupDecision& d, Outcome& out,
                     std::vector<std::string>* warnings) {
  vault::RunStatus& st = out.status;
  if (d.action == Action::kKeep) {
    return d.purge_partial ? PurgePartial(ctx, d) : Status::Ok();
  }
  if (d.action == Action::kAbandon) return AbandonBackup(ctx, d, st, warnings);
  RETURN_IF_ERROR(DeleteBackup(ctx, d));
  out.deleted.push_back(d.name);
  st.sizes["freedBytes"] += static_cast<int64_t>(d.size);
  if (deps.cluster && (d.action == Action::kExpire || d.action == Action::kRetention ||
                       d.action == Action::kRequest)) {
    report::Event ev{"Normal", d.action == Action::kExpire ? "BackupExpired" : "BackupDeleted",
                     "backup " + d.name + " deleted: " + d.reason};
    Status told = deps.cluster->Emit(st, ev);
    if (!told.ok()) warnings->push_back(told.message());
  }
  return Status::Ok();
}

// Every decision of the plan, in order; stops when the lease is lost or the run cancelled.
void Execute(Deps& deps, LeaseKeeper& lease, Outcome& out) {
  vault::RunStatus& st = out.status;
  ExecContext ctx{deps.store, deps.layout, deps.cluster, deps.clock.Now()};
  std::vector<std::string> warnings;
  ctx.warnings = &warnings;
  auto step = [&](const std::function<Status()>& work, const std::string& object) {
    if (deps.cancel.load()) return false;
    Status kept = lease.Keep();
    if (!kept.ok()) {
      st.AddError(vault::kScopeRunner, "gc stopped: " + kept.message());
      return false;
    }
    ctx.now = deps.clock.Now();
    Status done = work();
    if (!done.ok()) st.AddError(vault::kScopeRunner, done.message(), object);
    return true;
  };
  for (const BackupDecision& d : out.plan.backups) {
    const bool go = d.action != Action::kKeep || d.purge_partial;
    if (!go) {
      st.counts["kept"]++;
      continue;
    }
    int64_t errors = st.errors.count;
    if (!step([&] { return ExecuteBackup(deps, ctx, d, out, &warnings); },
              deps.layout.BackupDir(d.name))) {
      break;
    }
    if (st.errors.count == errors) st.counts[CountName(d.action)]++;
  }
  for (const RunDecision& r : out.plan.restores) {
    if (!step([&] { return AbandonRestore(ctx, r, st, &warnings); }, r.name)) break;
    st.counts["abandonedRuns"]++;
  }
  for (const store::PendingUpload& u : out.plan.uploads) {
    if (!step([&] { return deps.store.AbortPendingUpload(u); }, u.key)) break;
    st.counts["uploadsAborted"]++;
  }
  for (const BackupDecision& d : out.plan.backups) {
    st.counts["uploadsAborted"] += static_cast<int64_t>(d.uploads.size());
  }
  for (const std::string& w : warnings) st.AddWarning(vault::kScopeCluster, w);
}

void Finish(Deps& deps, Outcome& out, std::string_view phase, const std::string& message,
            int code) {
  vault::RunStatus& st = out.status;
  st.phase = std::string(phase);
  st.message = message;
  st.completion_time = deps.clock.Now();
  st.heartbeat_time = *st.completion_time;
  st.duration_seconds = std::chrono::duration<double>(*st.completion_time - st.start_time).count();
  st.counts["errors"] = st.errors.count;
  out.message = message;
  out.exit_code = code;
}

std::string Summary(const vault::RunStatus& st) {
  auto n = [&](const char* k) {
    auto it = st.counts.find(k);
    return std::to_string(it == st.counts.end() ? 0 : it->second);
  };
  return n("expired") + " expired, " + n("deletedByRetention") + " deleted by retention, " +
         n("deletedByRequest") + " deleted by request, " + n("deletionsFinished") +
         " unfinished deletions finished, " + n("orphansRemoved") + " orphans removed, " +
         n("abandonedRuns") + " abandoned runs reaped, " + n("uploadsAborted") +
         " uploads aborted, " + n("kept") + " kept";
}

// A run stopped by SIGTERM or its timeout: Failed, saying why and what was done before.
Outcome& Stopped(Deps& deps, Outcome& out) {
  const std::string why = deps.cancel_reason ? deps.cancel_reason() : "";
  const std::string message = "gc stopped (" + (why.empty() ? std::string("cancelled") : why) +
                              ") before it finished: " + Summary(out.status);
  out.status.AddError(vault::kScopeRunner, message);
  Finish(deps, out, vault::kPhaseFailed, message, 1);
  return out;
}

}  // namespace

Outcome Run(Deps& deps, const Options& opts) {
  Outcome out;
  vault::RunStatus& st = out.status;
  st.kind = std::string(vault::kKindGc);
  st.name = opts.run_name;
  st.vault = opts.vault_name;
  st.start_time = st.heartbeat_time = deps.clock.Now();
  auto fail = [&](const Status& why) {
    if (deps.cancel.load()) return Stopped(deps, out);
    st.AddError(vault::kScopeRunner, why.message());
    Finish(deps, out, vault::kPhaseFailed, "gc failed: " + why.message(), 1);
    return out;
  };
  // 1. A vault of a format we write (no vault yet: nothing to collect).
  auto info = vault::ReadVaultInfo(deps.store, deps.layout);
  if (!info.ok()) return fail(info.status());
  if (!*info) {  // not a vault (yet): writing a lease or a status would make one
    out.skipped = true;
    out.exit_code = 0;
    out.message = "gc skipped: no vault here yet (no cairn-vault.json): nothing to collect";
    return out;
  }
  // 2. The lease (not for a dry run: it changes nothing).
  std::optional<LeaseKeeper> lease;
  if (!opts.dry_run) {
    auto acquired = vault::AcquireLease(deps.store, deps.layout, "gc", opts.holder,
                                        opts.lease_duration, deps.clock);
    if (!acquired.ok() && acquired.status().code() == Code::kConflict) {
      out.skipped = true;
      out.exit_code = 0;
      out.message =
          "gc skipped: another gc is running on this vault (" + acquired.status().message() + ")";
      return out;
    }
    if (!acquired.ok()) return fail(acquired.status());
    lease.emplace(deps, std::move(*acquired));
  }
  // 3-4. Gather, plan.
  const base::TimePoint now = deps.clock.Now();
  auto in = Gather(deps, now);
  if (!in.ok()) {
    if (lease) lease->Release();
    return fail(in.status());
  }
  PlanOptions po = opts.plan;
  po.now = now;
  po.backups_prefix = deps.layout.BackupsPrefix();
  out.plan = MakePlan(*in, po);
  for (const std::string& w : out.plan.warnings) st.AddWarning(vault::kScopeRunner, w);
  if (opts.dry_run) {
    Finish(deps, out, vault::kPhaseCompleted, "dry run: nothing changed", 0);
    return out;
  }
  // 5. Execute, 6. report.
  for (const auto& w : deps.reporter.Publish(st, std::nullopt, "")) {
    st.AddWarning(vault::kScopeCluster, w);
  }
  Execute(deps, *lease, out);
  lease->Release();
  if (deps.cancel.load()) return Stopped(deps, out);
  if (st.errors.count > 0) {
    Finish(deps, out, vault::kPhasePartiallyFailed,
           "gc finished with " + std::to_string(st.errors.count) + " errors: " + Summary(st), 3);
  } else {
    Finish(deps, out, vault::kPhaseCompleted, "gc completed: " + Summary(st), 0);
  }
  return out;
}

}  // namespace cairn::ops::gc
