#include "ops/backup/walker.h"

#include <algorithm>
#include <thread>

#include "base/log.h"

namespace cairn::ops::backup {
namespace {

std::string ResourceName(const kube::ApiResource& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

std::string StringAt(const nlohmann::json& obj, std::string_view a, std::string_view b) {
  auto m = obj.find(a);
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(b);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

bool HasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// The object with apiVersion and kind set (list items lack them).
nlohmann::json WithType(const nlohmann::json& obj, const kube::ApiResource& r,
                        const std::string& version) {
  nlohmann::json out = obj;
  out["apiVersion"] = r.group.empty() ? version : r.group + "/" + version;
  out["kind"] = r.kind;
  return out;
}

}  // namespace

Walker::Walker(kube::Client& kube, const kube::Discovery& discovery,
               const config::BackupPolicy& policy, std::string own_namespace, int parallel,
               const std::atomic<bool>& cancel)
    : kube_(kube),
      policy_(policy),
      own_namespace_(std::move(own_namespace)),
      parallel_(std::max(1, parallel)),
      cancel_(cancel) {
  choices_ = SelectResources(discovery, policy, &skipped_);
  // Config and flags validated the selectors; a failure here leaves the "match all" default.
  if (auto sel = PolicySelectors::Create(policy); sel.ok()) selectors_ = std::move(sel).value();
}

bool Walker::Wanted(const kube::ApiResource& r, const nlohmann::json& obj,
                    bool apply_selectors) const {
  if (ObjectExcludedByLabel(obj) || RegeneratedObjectReason(r, obj)) return false;
  if (r.group.empty() && r.resource == "endpoints" &&
      !EndpointsWrittenByHand(obj, hand_written_endpoints_)) {
    return false;  // maintained from its Service's selector by the endpoints controller
  }
  return !apply_selectors || selectors_.Matches(LabelsOf(obj));
}

void Walker::FindHandWrittenEndpoints(const std::vector<std::string>& namespaces,
                                      std::vector<WalkIssue>* issues) {
  const bool wanted = std::any_of(choices_.begin(), choices_.end(), [](const auto& c) {
    return c.resource->group.empty() && c.resource->resource == "endpoints";
  });
  if (!wanted) return;
  for (const std::string& ns : namespaces) {
    kube::ListOptions lo;
    lo.namespace_name = ns;
    base::Status st = kube_.ListItems({"", "v1", "services", true}, lo, [&](const auto& svc) {
      const std::string svc_ns = StringAt(svc, "metadata", "namespace");
      if (NamespaceSelected(svc_ns, policy_, own_namespace_) &&
          ServiceEndpointsWrittenByHand(svc)) {
        hand_written_endpoints_.insert(svc_ns + "/" + StringAt(svc, "metadata", "name"));
      }
      return !cancel_.load();
    });
    if (!st.ok()) {
      issues->push_back({ns.empty() ? "cluster" : "namespace/" + ns,
                         "endpoints not backed up: unable to tell hand-written ones from those "
                         "of Services with a selector: " +
                             st.message(),
                         "endpoints/v1"});
    }
  }
}

void Walker::Report(const kube::ApiResource& r, const std::string& version, const std::string& ns,
                    const base::Status& st, const kube::ListStats& stats,
                    std::vector<WalkIssue>* issues) {
  const std::string scope = ns.empty() ? "cluster" : "namespace/" + ns;
  const std::string object = ResourceName(r) + "/" + version;
  std::lock_guard<std::mutex> l(mu_);
  if (!st.ok()) {
    issues->push_back({scope, st.message(), object});
    base::LogWarn("unable to list resource",
                  {{"resource", ResourceName(r)}, {"version", version}, {"error", st.message()}});
  } else if (stats.inconsistent > 0 || stats.restarts > 0) {
    issues->push_back(
        {scope,
         "the list of " + object + (ns.empty() ? "" : " in namespace " + ns) +
             " is not one consistent snapshot: its continue token expired (etcd compaction) "
             "and the list went on at a newer resourceVersion, so objects changed meanwhile "
             "may be missing or newer than the rest",
         object, true});
  }
}

base::Status Walker::ListTask(const Task& t, const std::function<base::Status(const Visit&)>& visit,
                              std::vector<WalkIssue>* issues) {
  const kube::ApiResource& r = *t.choice->resource;
  kube::ResourceRef ref{r.group, t.version, r.resource, r.namespaced};
  kube::ListOptions lo;
  lo.namespace_name = t.namespace_name;
  if (auto sel = ServerSideSelector(policy_)) lo.label_selector = *sel;
  base::Status visit_error;
  kube::ListStats stats;
  // One object at a time: the client parses each item as the page streams in.
  base::Status st = kube_.ListItems(
      ref, lo,
      [&](const nlohmann::json& obj) {
        if (cancel_.load()) return false;
        std::string ns = StringAt(obj, "metadata", "namespace");
        if (r.namespaced && !NamespaceSelected(ns, policy_, own_namespace_)) return true;
        if (!Wanted(r, obj, true)) return true;
        // Items of a list carry no apiVersion and kind; store self-describing objects.
        const nlohmann::json typed = WithType(obj, r, t.version);
        if (t.primary) {
          std::lock_guard<std::mutex> l(mu_);
          deps_.Observe(r, typed);
        }
        // Outside the lock: the visitor may wait for room in the archive queue.
        base::Status vs = visit(Visit{r, t.version, t.primary, typed, ""});
        if (!vs.ok()) {
          visit_error = vs;
          return false;
        }
        return true;
      },
      &stats);
  if (!visit_error.ok()) return visit_error;
  if (!st.ok() && cancel_.load()) return base::Error(base::Code::kCancelled, st.message());
  Report(r, t.version, t.namespace_name, st, stats, issues);
  return base::Status::Ok();
}

base::Status Walker::Walk(const std::function<base::Status(const Visit&)>& visit,
                          std::vector<WalkIssue>* issues) {
  RETURN_IF_ERROR(WalkNamespaced(visit, issues));
  if (cancel_.load()) return base::Error(base::Code::kCancelled, "cancelled");
  return WalkCluster(visit, issues);
}

std::vector<std::string> Walker::ListedNamespaces() const {
  std::vector<std::string> namespaces;
  // A few named namespaces are listed one by one (only namespace RBAC needed); many, or globs,
  // are one list across all namespaces filtered here (a request per namespace and resource
  // would spend the client's rate limit on mostly empty lists).
  bool literal =
      !policy_.include_namespaces.empty() && policy_.include_namespaces.size() <= 5 &&
      std::none_of(policy_.include_namespaces.begin(), policy_.include_namespaces.end(), HasGlob);
  if (literal) {
    for (const auto& ns : policy_.include_namespaces) {
      bool repeated = std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
      if (!repeated && NamespaceSelected(ns, policy_, own_namespace_)) namespaces.push_back(ns);
    }
  } else {
    namespaces.push_back("");  // all namespaces, filtered by NamespaceSelected
  }
  return namespaces;
}

// Namespaced resources: one task per (resource, version[, namespace]), several at once.
base::Status Walker::WalkNamespaced(const std::function<base::Status(const Visit&)>& visit,
                                    std::vector<WalkIssue>* issues) {
  const std::vector<std::string> namespaces = ListedNamespaces();
  FindHandWrittenEndpoints(namespaces, issues);
  std::vector<Task> tasks;
  for (const auto& c : choices_) {
    if (!c.resource->namespaced) continue;
    for (size_t v = 0; v < c.versions.size(); ++v) {
      for (const auto& ns : namespaces) tasks.push_back({&c, c.versions[v], v == 0, ns});
    }
  }
  std::atomic<size_t> next{0};
  base::Status fatal;
  std::mutex fatal_mu;
  auto worker = [&] {
    while (true) {
      size_t i = next++;
      if (i >= tasks.size() || cancel_.load()) return;
      {
        std::lock_guard<std::mutex> l(fatal_mu);
        if (!fatal.ok()) return;
      }
      base::Status st = ListTask(tasks[i], visit, issues);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(fatal_mu);
        if (fatal.ok()) fatal = st;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < parallel_; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return fatal;
}

// Cluster-scoped resources, in dependency order (bindings before roles, PVs before classes).
base::Status Walker::WalkCluster(const std::function<base::Status(const Visit&)>& visit,
                                 std::vector<WalkIssue>* issues) {
  std::vector<const ResourceChoice*> cluster;
  for (const auto& c : choices_) {
    if (!c.resource->namespaced) cluster.push_back(&c);
  }
  std::stable_sort(cluster.begin(), cluster.end(), [](const auto* a, const auto* b) {
    return ClusterOrder(*a->resource) < ClusterOrder(*b->resource);
  });
  const bool all = policy_.include_cluster_resources == "true";
  for (const ResourceChoice* c : cluster) {
    const kube::ApiResource& r = *c->resource;
    for (size_t v = 0; v < c->versions.size(); ++v) {
      kube::ResourceRef ref{r.group, c->versions[v], r.resource, false};
      base::Status visit_error;
      kube::ListStats stats;
      base::Status st = kube_.ListItems(
          ref, {},
          [&](const nlohmann::json& obj) {
            if (cancel_.load()) return false;
            // Selectors pick namespaced objects; cluster objects come by rule (auto), or all of
            // them filtered by the selectors when include_cluster_resources = true.
            if (!Wanted(r, obj, all)) return true;
            std::optional<std::string> reason =
                all ? std::optional<std::string>("include_cluster_resources = true")
                    : deps_.Reason(r, obj);
            if (!reason) return true;
            const nlohmann::json typed = WithType(obj, r, c->versions[v]);
            if (v == 0) deps_.ObserveCluster(r, typed);
            base::Status vs = visit(Visit{r, c->versions[v], v == 0, typed, *reason});
            if (!vs.ok()) {
              visit_error = vs;
              return false;
            }
            return true;
          },
          &stats);
      RETURN_IF_ERROR(visit_error);
      if (!st.ok() && cancel_.load()) return base::Error(base::Code::kCancelled, st.message());
      Report(r, c->versions[v], "", st, stats, issues);
    }
  }
  return base::Status::Ok();
}

}  // namespace cairn::ops::backup
