#include "ops/gc/plan.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "ops/gc/retention.h"

namespace cairn::ops::gc {
namespace {

using vault::BackupEntry;

// A string member kept as JSON text in RunStatus::extra ("\"...\""), unquoted.
std::optional<std::string> ExtraString(const vault::RunStatus& st, const std::string& key) {
  auto it = st.extra.find(key);
  if (it == st.extra.end()) return std::nullopt;
  const std::string& v = it->second;
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::nullopt;
  return v.substr(1, v.size() - 2);
}

// Among the candidates for the retention rules, an InProgress backup is one whose run stopped
// after publishing its manifest (DecideByState keeps live runs): complete, hence successful.
bool IsSuccessful(const BackupEntry& e) {
  return e.complete &&
         (e.phase == vault::kPhaseCompleted || e.phase == vault::kPhaseInProgress || !e.status);
}

std::string Policy(const BackupEntry& e) { return e.status ? e.status->policy : ""; }

std::string Rules(const config::Retention& r) {
  std::string s;
  auto add = [&](const char* k, int v) {
    if (v != 0) s += (s.empty() ? "" : ", ") + std::string(k) + "=" + std::to_string(v);
  };
  add("keep_last", r.keep_last);
  add("keep_hourly", r.keep_hourly);
  add("keep_daily", r.keep_daily);
  add("keep_weekly", r.keep_weekly);
  add("keep_monthly", r.keep_monthly);
  add("keep_yearly", r.keep_yearly);
  if (r.keep_within > base::Duration::zero()) {
    s +=
        (s.empty() ? "" : ", ") + std::string("keep_within=") + base::FormatDuration(r.keep_within);
  }
  return s;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The retention of `policy` for this run: nullopt for manual backups (TTL only).
std::optional<config::Retention> RetentionOf(const std::string& policy, const PlanOptions& opts,
                                             std::set<std::string>* unknown) {
  if (policy.empty()) return std::nullopt;
  if (opts.retention_override) return opts.retention_override;
  auto it = opts.policies.find(policy);
  if (it != opts.policies.end()) return it->second;
  unknown->insert(policy);
  return std::nullopt;
}

// Steps 7-11 of plan.h for the backups that reached them.
struct Retained {
  std::map<std::string, std::vector<std::string>> reasons;  // backup → rules keeping it
  std::map<std::string, std::string> rules;                 // policy → its rules, for messages
};

Retained ApplyPolicies(const std::vector<const BackupEntry*>& candidates, const PlanOptions& opts,
                       std::set<std::string>* unknown) {
  std::map<std::string, std::pair<std::vector<Dated>, std::vector<Dated>>> by_policy;
  for (const BackupEntry* e : candidates) {
    auto& [ok, failed] = by_policy[Policy(*e)];
    (IsSuccessful(*e) ? ok : failed).push_back({e->name, e->created});
  }
  Retained out;
  for (const auto& [policy, groups] : by_policy) {
    std::optional<config::Retention> r = RetentionOf(policy, opts, unknown);
    if (!r) continue;
    if (r->Any()) {
      out.rules[policy] = Rules(*r);
      auto reasons = ApplyRetention(groups.first, *r);
      for (size_t i = 0; i < reasons.size(); ++i) {
        out.reasons[groups.first[i].name] = std::move(reasons[i]);
      }
    }
    auto keep = KeepNewest(groups.second, r->keep_failed_last);
    for (size_t i = 0; i < keep.size(); ++i) {
      if (keep[i]) {
        out.reasons[groups.second[i].name].push_back("keep_failed_last (" +
                                                     std::to_string(r->keep_failed_last) + ")");
      }
    }
  }
  return out;
}

void DecideByRules(const BackupEntry& e, const Retained& retained, const PlanOptions& opts,
                   BackupDecision& d) {
  auto kept = retained.reasons.find(e.name);
  if (kept != retained.reasons.end() && !kept->second.empty()) {
    d.action = Action::kKeep;
    d.reason = Join(kept->second);
    d.purge_partial =
        !e.complete && e.object_count > 1 && opts.now - e.last_modified >= opts.stale_after;
    if (d.purge_partial) d.reason += "; its partial objects go";
    return;
  }
  std::optional<base::TimePoint> expires = Expiration(e, opts.ttl_override);
  if (expires && opts.now < *expires) {
    d.action = Action::kKeep;
    d.reason = "within its TTL (expires " + base::FormatRfc3339(*expires) + ")";
  } else if (expires) {
    d.action = Action::kExpire;
    d.reason = "TTL expired at " + base::FormatRfc3339(*expires);
  } else if (auto rules = retained.rules.find(Policy(e)); rules != retained.rules.end()) {
    d.action = Action::kRetention;
    d.reason = "not kept by retention (" + rules->second + ")";
  } else {
    d.action = Action::kKeep;
    d.reason = Policy(e).empty() ? "manual backup without TTL" : "no TTL and no retention rule";
  }
}

// Steps 1-6 of plan.h; false when the backup goes on to the retention rules.
bool DecideByState(const BackupEntry& e, const Inputs& in, const PlanOptions& opts,
                   BackupDecision& d) {
  const bool in_progress = e.status && e.phase == vault::kPhaseInProgress;
  const bool lost = in_progress && opts.now - e.status->heartbeat_time >= opts.stale_after;
  if (e.phase == "Deleting") {
    d.action = Action::kFinishDeleting;
    d.reason = "an earlier deletion was interrupted";
  } else if (lost && !e.complete) {
    d.action = Action::kAbandon;
    d.heartbeat = e.status->heartbeat_time;
    d.reason = "run stopped without finishing (heartbeat lost at " +
               base::FormatRfc3339(d.heartbeat) + ")";
  } else if (in_progress && !lost) {
    d.live_run = true;
    d.reason = "run in progress (heartbeat " + base::FormatRfc3339(e.status->heartbeat_time) + ")";
  } else if (auto leases = in.read_leases.find(e.name);
             leases != in.read_leases.end() && !leases->second.empty()) {
    const vault::Lease& l = leases->second.front();
    d.reason = "read by " + l.operation + " '" + l.holder.id + "' (lease until " +
               base::FormatRfc3339(l.expires) + ")";
  } else if (!d.requests.empty()) {
    d.action = Action::kRequest;
    d.reason = "deletion requested" + (d.requests.front().empty()
                                           ? std::string(" (--delete)")
                                           : " by ConfigMap '" + d.requests.front() + "'");
  } else if (!e.complete && !e.status) {
    const bool old = opts.now - e.last_modified >= opts.stale_after;
    d.action = old ? Action::kOrphan : Action::kKeep;
    d.reason = std::string("no manifest and no readable status; newest object ") +
               base::FormatRfc3339(e.last_modified) + (old ? "" : " (younger than stale_after)");
  } else {
    // With `lost`, a complete backup whose run stopped after publishing it: a backup like any.
    if (lost) d.heartbeat = e.status->heartbeat_time;
    return false;
  }
  return true;
}

void AttachUploads(const Inputs& in, const PlanOptions& opts, Plan& plan) {
  std::map<std::string, BackupDecision*> by_name;
  for (BackupDecision& d : plan.backups) by_name[d.name] = &d;
  for (const store::PendingUpload& u : in.uploads) {
    BackupDecision* owner = nullptr;
    if (u.key.rfind(opts.backups_prefix, 0) == 0) {
      const std::string rest = u.key.substr(opts.backups_prefix.size());
      auto it = by_name.find(rest.substr(0, rest.find('/')));
      if (it != by_name.end()) owner = it->second;
    }
    const bool old = opts.now - u.initiated >= opts.stale_after;
    if (owner && (DeletesBackup(owner->action) || owner->action == Action::kAbandon)) {
      owner->uploads.push_back(u);
    } else if (owner && owner->live_run) {
      continue;  // a live run's upload, however old
    } else if (old && !opts.only_requests) {
      plan.uploads.push_back(u);
    }
  }
}

void AnswerRequests(const Inputs& in, const PlanOptions& opts, Plan& plan) {
  for (const DeleteRequest& r : opts.requests) {
    RequestAnswer a;
    a.request = r;
    for (const BackupDecision& d : plan.backups) {
      if (d.name != r.backup) continue;
      a.found = true;
      if (d.action != Action::kRequest && !DeletesBackup(d.action)) a.refusal = d.reason;
    }
    (void)in;
    plan.requests.push_back(std::move(a));
  }
}

}  // namespace

const char* ActionWord(Action a) {
  switch (a) {
    case Action::kKeep: return "KEEP";
    case Action::kExpire: return "EXPIRE";
    case Action::kRetention: return "DELETE";
    case Action::kRequest: return "DELETE";
    case Action::kFinishDeleting: return "FINISH";
    case Action::kOrphan: return "ORPHAN";
    case Action::kAbandon: return "ABANDON";
  }
  return "?";
}

bool DeletesBackup(Action a) {
  return a == Action::kExpire || a == Action::kRetention || a == Action::kRequest ||
         a == Action::kFinishDeleting || a == Action::kOrphan;
}

std::optional<base::TimePoint> Expiration(const BackupEntry& e,
                                          const std::optional<base::Duration>& ttl_override) {
  if (ttl_override) {
    return e.created + std::chrono::duration_cast<base::TimePoint::duration>(*ttl_override);
  }
  if (!e.status) return std::nullopt;
  if (auto ttl = ExtraString(*e.status, "ttl")) {
    auto d = base::ParseDuration(*ttl);
    if (d.ok() && *d == base::Duration::zero()) return std::nullopt;
  }
  auto text = ExtraString(*e.status, "expiration");
  if (!text) return std::nullopt;
  auto t = base::ParseRfc3339(*text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

Plan MakePlan(const Inputs& in, const PlanOptions& opts) {
  Plan plan;
  plan.now = opts.now;
  plan.stale_after = opts.stale_after;
  std::vector<const BackupEntry*> candidates;
  for (const BackupEntry& e : in.backups) {
    BackupDecision d;
    d.name = e.name;
    d.policy = Policy(e);
    d.phase = e.phase;
    d.complete = e.complete;
    d.created = e.created;
    d.size = e.size;
    for (const DeleteRequest& r : opts.requests) {
      if (r.backup == e.name) d.requests.push_back(r.configmap);
    }
    if (opts.only_requests && d.requests.empty()) continue;
    if (!DecideByState(e, in, opts, d)) candidates.push_back(&e);
    plan.backups.push_back(std::move(d));
  }
  std::set<std::string> unknown;
  Retained retained = ApplyPolicies(candidates, opts, &unknown);
  for (BackupDecision& d : plan.backups) {
    for (const BackupEntry* e : candidates) {
      if (e->name == d.name) DecideByRules(*e, retained, opts, d);
    }
    if (d.heartbeat != base::TimePoint{} && d.action != Action::kAbandon) {
      d.reason += "; its run stopped after publishing it (heartbeat lost at " +
                  base::FormatRfc3339(d.heartbeat) + ")";
    }
  }
  for (const std::string& p : unknown) {
    plan.warnings.push_back("policy '" + p +
                            "' is not defined in the config: its backups are governed by TTL only");
  }
  for (const vault::RunStatus& r : in.restores) {
    if (!opts.only_requests && r.phase == vault::kPhaseInProgress &&
        opts.now - r.heartbeat_time >= opts.stale_after) {
      plan.restores.push_back({r.name, r.heartbeat_time});
    }
  }
  AttachUploads(in, opts, plan);
  AnswerRequests(in, opts, plan);
  return plan;
}

std::string FormatPlan(const Plan& plan) {
  std::ostringstream out;
  std::map<Action, int> n;
  for (const BackupDecision& d : plan.backups) {
    ++n[d.action];
    out << "  " << ActionWord(d.action)
        << std::string(8 - std::string(ActionWord(d.action)).size(), ' ') << d.name << "  "
        << base::FormatRfc3339(d.created) << "  "
        << (d.policy.empty() ? "(manual)" : "policy " + d.policy) << "  " << d.phase
        << (d.complete ? "" : " (incomplete)") << "  " << d.reason << "\n";
    for (const store::PendingUpload& u : d.uploads) {
      out << "          pending upload of " << u.key << " goes\n";
    }
  }
  for (const RunDecision& r : plan.restores) {
    out << "  ABANDON restore " << r.name << ": run stopped without finishing (heartbeat lost at "
        << base::FormatRfc3339(r.heartbeat) << ")\n";
  }
  for (const store::PendingUpload& u : plan.uploads) {
    out << "  ABORT   upload of " << u.key << " (started " << base::FormatRfc3339(u.initiated)
        << "): older than stale_after " << base::FormatDuration(plan.stale_after) << "\n";
  }
  for (const RequestAnswer& a : plan.requests) {
    if (!a.found) out << "  request for unknown backup '" << a.request.backup << "'\n";
    if (!a.refusal.empty()) {
      out << "  request for '" << a.request.backup << "' waits: " << a.refusal << "\n";
    }
  }
  for (const std::string& w : plan.warnings) out << "  warning: " << w << "\n";
  const int deleted = n[Action::kExpire] + n[Action::kRetention] + n[Action::kRequest] +
                      n[Action::kFinishDeleting] + n[Action::kOrphan];
  out << plan.backups.size() << " backups: " << n[Action::kKeep] << " kept, " << deleted
      << " to delete (" << n[Action::kExpire] << " expired, " << n[Action::kRetention]
      << " by retention, " << n[Action::kRequest] << " requested, " << n[Action::kFinishDeleting]
      << " unfinished, " << n[Action::kOrphan] << " orphans), " << n[Action::kAbandon]
      << " abandoned runs; " << plan.restores.size() << " abandoned restores; "
      << plan.uploads.size() << " stale uploads\n";
  return out.str();
}

}  // namespace cairn::ops::gc
