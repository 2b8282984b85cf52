#include "ops/restore/apply_plans.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace cairn::ops::restore {
namespace {

using base::Status;
using ResourceKey = Spool::ResourceKey;

// Whether a restored object waits for an owner this restore has not written yet.
bool WaitsForOwner(const SpooledObject& so, const OwnerTable& owners) {
  auto obj = nlohmann::json::parse(so.text, nullptr, false);
  if (!obj.is_object()) return false;
  for (const auto& uid : OwnerUids(obj)) {
    if (owners.Get(uid).kind == OwnerState::Kind::kPending) return true;
  }
  return false;
}

// Hands restored objects of `p` to the pool. The first round (`first`) hands over every
// restored object except those waiting for an owner, which it marks deferred; later rounds
// hand over the deferred ones whose owners are written, or all of them with `force`.
base::Status PushResource(Spool& spool, ResourcePlan& p, ApplyPool& pool, const OwnerTable& owners,
                          bool first, bool force, const std::atomic<bool>& cancel, size_t* pushed) {
  if (first) p.deferred.assign(p.restore.size(), false);
  size_t i = 0;
  return ForEachChosen(spool, p, [&](SpooledObject& so) {
    const size_t at = i++;
    if (cancel.load() || at >= p.restore.size() || !p.restore[at]) return;
    if (!first && !p.deferred[at]) return;
    const bool owned = at < p.has_owners.size() && p.has_owners[at];
    if (owned && !force && WaitsForOwner(so, owners)) {
      if (first) {
        p.deferred[at] = true;
        ++p.deferred_count;
      }
      return;
    }
    if (!first) {
      p.deferred[at] = false;
      --p.deferred_count;
    }
    pool.Push({&p, std::move(so.ref), std::move(so.text)});
    ++*pushed;
  });
}

}  // namespace

// Calls `fn` for each object of the plan's resource the restore considers, in spool order:
// those stored in the chosen version, and those stored only in other versions (an object
// created while the backup listed its versions), in the highest of those (VersionPrecedes).
// Only resources stored in several versions cost memory per object here.
base::Status ForEachChosen(const Spool& spool, const ResourcePlan& plan,
                           const std::function<void(SpooledObject&)>& fn) {
  const Spool::ResourceInfo* info = spool.Find(plan.key);
  const bool several = info && info->versions.size() > 1;
  using Key = std::pair<std::string, std::string>;
  std::set<Key> in_version, seen;
  std::map<Key, std::string> fallback;  // objects without the chosen version: their best one
  if (several) {
    RETURN_IF_ERROR(spool.ForEach(plan.key, [&](std::vector<SpooledObject>& batch) {
      for (const auto& o : batch) {
        Key k{o.ref.namespace_name, o.ref.name};
        if (o.ref.version == plan.version) {
          in_version.insert(k);
          continue;
        }
        auto [it, added] = fallback.emplace(k, o.ref.version);
        if (!added && VersionPrecedes(o.ref.version, it->second)) it->second = o.ref.version;
      }
      return Status::Ok();
    }));
  }
  return spool.ForEach(plan.key, [&](std::vector<SpooledObject>& batch) {
    for (auto& o : batch) {
      if (several && o.ref.version != plan.version) {
        Key k{o.ref.namespace_name, o.ref.name};
        if (in_version.count(k) || fallback[k] != o.ref.version || !seen.insert(k).second) {
          continue;
        }
      }
      fn(o);
    }
    return Status::Ok();
  });
}

// Applies the restored objects of `plans`, tier by tier (the pool drains between tiers), and
// frees each resource's spooled objects once they are handed over. Objects whose owner is
// written by this restore in the same or a later tier wait until it is, in rounds after the
// tiers. `after_claims` runs once the tier that holds PersistentVolumeClaims is applied (the
// volume data goes in before the workloads that use it); `before_claims` just before that tier
// (the claims' namespaces exist then). Returns with the pool drained, also on
// error.
base::Status ApplyPlans(Spool& spool, std::vector<ResourcePlan>& plans, ApplyPool& pool,
                        const OwnerTable& owners, const std::atomic<bool>& cancel,
                        const std::function<void()>& after_claims,
                        const std::function<void()>& before_claims) {
  std::optional<std::pair<bool, int>> current;
  size_t pushed = 0;
  bool claims_pending = false;
  auto claims_done = [&] {
    if (!claims_pending) return;
    claims_pending = false;
    if (after_claims && !cancel.load()) after_claims();
  };
  for (ResourcePlan& p : plans) {
    if (cancel.load()) break;
    std::pair<bool, int> tier{p.custom, p.tier.first};
    if (current && *current != tier) {
      pool.Drain();
      claims_done();
    }
    current = tier;
    if (p.key == ResourceKey{"", "persistentvolumeclaims"}) {
      claims_pending = true;
      if (before_claims && !cancel.load()) before_claims();  // the earlier tiers are applied
    }
    Status read = PushResource(spool, p, pool, owners, true, false, cancel, &pushed);
    if (!read.ok()) {
      pool.Drain();  // what was handed over is applied and recorded before the run fails
      return read;
    }
    if (p.deferred_count == 0) spool.Release(p.key);
  }
  pool.Drain();
  claims_done();
  auto waiting = [&] {
    size_t n = 0;
    for (const ResourcePlan& p : plans) n += p.deferred_count;
    return n;
  };
  while (waiting() > 0 && !cancel.load()) {
    size_t round = 0;
    for (bool force : {false, true}) {  // force: no owner was written (a cycle); write them
      for (ResourcePlan& p : plans) {
        if (p.deferred_count == 0) continue;
        Status read = PushResource(spool, p, pool, owners, false, force, cancel, &round);
        if (!read.ok()) {
          pool.Drain();
          return read;
        }
        if (p.deferred_count == 0) spool.Release(p.key);
      }
      pool.Drain();
      if (round > 0) break;
    }
    if (round == 0) break;  // cancelled
  }
  return Status::Ok();
}

}  // namespace cairn::ops::restore
