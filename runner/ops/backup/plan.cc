// --dry-run: what a backup would hold, counted the same way the run walks it.
#include <mutex>
#include <sstream>

#include "ops/backup/backup.h"
#include "ops/backup/walker.h"

namespace cairn::ops::backup {

Plan MakePlan(Deps& deps, const Options& opts) {
  Plan plan;
  auto discovery = deps.kube.Discover();
  if (!discovery.ok()) {
    plan.errors.push_back(discovery.status().message());
    return plan;
  }
  Walker walker(deps.kube, *discovery, opts.policy, opts.own_namespace, opts.parallel_lists,
                deps.cancel);
  plan.skipped = walker.skipped();
  std::vector<WalkIssue> issues;
  std::mutex mu;  // the walker visits from several listing threads
  base::Status st = walker.Walk(
      [&](const Visit& v) {
        if (!v.primary) return base::Status::Ok();
        std::lock_guard<std::mutex> l(mu);
        const auto& meta = v.object.value("metadata", nlohmann::json::object());
        std::string ns = meta.value("namespace", "");
        std::string resource = v.resource.group.empty()
                                   ? v.resource.resource
                                   : v.resource.resource + "." + v.resource.group;
        plan.counts[ns.empty() ? "(cluster)" : ns][resource]++;
        if (!v.reason.empty()) {
          plan.pulled_in.emplace_back(resource + "/" + meta.value("name", ""), v.reason);
        }
        return base::Status::Ok();
      },
      &issues);
  if (!st.ok()) plan.errors.push_back(st.message());
  for (const auto& i : issues) {
    (i.warning ? plan.warnings : plan.errors).push_back(i.object + ": " + i.message);
  }
  return plan;
}

std::string FormatPlan(const Plan& plan) {
  std::ostringstream out;
  int64_t total = 0;
  for (const auto& [ns, resources] : plan.counts) {
    out << ns << "\n";
    for (const auto& [r, n] : resources) {
      out << "  " << r << ": " << n << "\n";
      total += n;
    }
  }
  out << "total: " << total << " objects\n";
  if (!plan.pulled_in.empty()) {
    out << "cluster objects pulled in:\n";
    for (const auto& [obj, why] : plan.pulled_in) out << "  " << obj << ": " << why << "\n";
  }
  if (!plan.skipped.empty()) {
    out << "not backed up:\n";
    for (const auto& s : plan.skipped) out << "  " << s << "\n";
  }
  for (const auto& w : plan.warnings) out << "warning: " << w << "\n";
  for (const auto& e : plan.errors) out << "error: " << e << "\n";
  return out.str();
}

}  // namespace cairn::ops::backup
