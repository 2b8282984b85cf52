// Tests of ops/restore/plan: entry paths, version selection, ordering and Decide.
#include <gtest/gtest.h>

#include <algorithm>

#include "ops/restore/plan.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

// --- Entry paths ------------------------------------------------------------------------------

TEST(ParseEntryPath, NamespacedAndClusterEntries) {
  auto e = ParseEntryPath("resources/apps/deployments/v1/namespaces/shop/web.json");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "apps");
  EXPECT_EQ(e->resource, "deployments");
  EXPECT_EQ(e->version, "v1");
  EXPECT_EQ(e->namespace_name, "shop");
  EXPECT_EQ(e->name, "web");

  e = ParseEntryPath("resources/core/persistentvolumes/v1/cluster/pv-1.json");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "");
  EXPECT_EQ(e->resource, "persistentvolumes");
  EXPECT_EQ(e->namespace_name, "");
  EXPECT_EQ(e->name, "pv-1");

  e = ParseEntryPath("resources/core/configmaps/v1/namespaces/shop/a.b.json.json");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "a.b.json");
}

TEST(ParseEntryPath, RejectsEverythingElse) {
  for (const char* bad : {
           "metadata/backup.json",
           "",
           "resources",
           "resources/core/pods/v1/namespaces/shop.json",
           "resources/core/pods/v1/cluster/x.yaml",
           "resources/core/pods/v1/cluster/.json",
           "resources/core/pods/v1/cluster/x.json/",
           "resources/core/pods/v1/clusters/x.json",
           "resources/core/pods/v1/namespaces/shop/extra/x.json",
           "resources//pods/v1/cluster/x.json",
           "resources/core/pods/v1/namespaces/../x.json",
           "other/core/pods/v1/cluster/x.json",
           "/resources/core/pods/v1/cluster/x.json",
       }) {
    EXPECT_FALSE(ParseEntryPath(bad).has_value()) << bad;
  }
}

TEST(EntryPath, InverseOfParse) {
  for (const char* path : {"resources/apps/deployments/v1/namespaces/shop/web.json",
                           "resources/core/namespaces/v1/cluster/shop.json"}) {
    auto e = ParseEntryPath(path);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(EntryPath(*e), path);
  }
}

// --- Versions ---------------------------------------------------------------------------------

TEST(VersionPrecedes, KubernetesPriority) {
  std::vector<std::string> v = {"v1alpha1", "v1beta1", "foo",     "v2",  "v1",
                                "v2beta2",  "v10",     "v1beta2", "bar", "v3alpha2"};
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return VersionPrecedes(a, b); });
  EXPECT_EQ(v, (std::vector<std::string>{"v10", "v2", "v1", "v2beta2", "v1beta2", "v1beta1",
                                         "v3alpha2", "v1alpha1", "bar", "foo"}));
}

struct VersionCase {
  const char* what;
  std::vector<std::string> stored;
  std::string backup_preferred;
  std::vector<std::string> served;
  std::string target_preferred;
  std::optional<std::string> want;
};

TEST(ChooseVersion, Table) {
  const std::vector<VersionCase> cases = {
      {"target preferred stored", {"v1", "v1beta1"}, "v1beta1", {"v1", "v1beta1"}, "v1", "v1"},
      {"backup preferred served when the target's is not stored",
       {"v1beta1", "v1alpha1"},
       "v1alpha1",
       {"v1", "v1beta1", "v1alpha1"},
       "v1",
       "v1alpha1"},
      {"highest common: GA over beta",
       {"v1beta1", "v1", "v1alpha1"},
       "v2",
       {"v1alpha1", "v1beta1", "v1", "v2"},
       "v3",
       "v1"},
      {"highest common: beta over alpha, higher beta first",
       {"v1alpha1", "v1beta1", "v1beta2"},
       "",
       {"v1beta2", "v1beta1", "v1alpha1"},
       "",
       "v1beta2"},
      {"none in common", {"v1beta1"}, "v1beta1", {"v1", "v2"}, "v2", std::nullopt},
      {"nothing stored", {}, "v1", {"v1"}, "v1", std::nullopt},
      // HorizontalPodAutoscalers from a 1.22 cluster (autoscaling preferred v1) into 1.30.
      {"autoscaling: old backup, new target",
       {"v1", "v2beta1", "v2beta2"},
       "v1",
       {"v2", "v1"},
       "v2",
       "v1"},
      {"autoscaling: backup with v2 into a target preferring v2",
       {"v2", "v1"},
       "v2",
       {"v2", "v1"},
       "v2",
       "v2"},
      {"autoscaling: v2 backup into an old target that prefers v1",
       {"v2", "v1"},
       "v2",
       {"v1", "v2beta1", "v2beta2"},
       "v1",
       "v1"},
      {"autoscaling: only v2beta2 stored, target dropped it",
       {"v2beta2"},
       "v2beta2",
       {"v2", "v1"},
       "v2",
       std::nullopt},
      {"target preferred not served for this resource", {"v1", "v2"}, "v1", {"v1"}, "v2", "v1"},
      {"backup preferred not stored (policy stored one version)",
       {"v1beta1"},
       "v1",
       {"v1beta1", "v1"},
       "v1",
       "v1beta1"},
  };
  for (const VersionCase& c : cases) {
    EXPECT_EQ(ChooseVersion(c.stored, c.backup_preferred, c.served, c.target_preferred), c.want)
        << c.what;
  }
}

// --- Order ------------------------------------------------------------------------------------

TEST(TierOf, DefaultOrder) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"apiextensions.k8s.io", "customresourcedefinitions"},
      {"", "namespaces"},
      {"storage.k8s.io", "storageclasses"},
      {"snapshot.storage.k8s.io", "volumesnapshotclasses"},
      {"", "persistentvolumes"},
      {"", "persistentvolumeclaims"},
      {"rbac.authorization.k8s.io", "clusterroles"},
      {"rbac.authorization.k8s.io", "roles"},
      {"", "serviceaccounts"},
      {"rbac.authorization.k8s.io", "clusterrolebindings"},
      {"rbac.authorization.k8s.io", "rolebindings"},
      {"", "secrets"},
      {"", "configmaps"},
      {"", "limitranges"},
      {"scheduling.k8s.io", "priorityclasses"},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto [tier, name] = TierOf(expected[i].first, expected[i].second, {});
    EXPECT_EQ(tier, static_cast<int>(i)) << name;
  }
  for (auto [group, resource] :
       std::vector<std::pair<std::string, std::string>>{{"apps", "deployments"},
                                                        {"apps", "statefulsets"},
                                                        {"apps", "daemonsets"},
                                                        {"apps", "replicasets"},
                                                        {"batch", "jobs"},
                                                        {"batch", "cronjobs"},
                                                        {"", "replicationcontrollers"},
                                                        {"", "pods"},
                                                        {"", "services"}}) {
    EXPECT_EQ(TierOf(group, resource, {}).first, kWorkloadTier) << resource;
  }
  EXPECT_EQ(TierOf("", "secrets", {}).second, "secrets");
  EXPECT_EQ(TierOf("apps", "deployments", {}).second, "deployments.apps");
  // Same resource name in another group: not the built-in one.
  EXPECT_EQ(TierOf("example.com", "secrets", {}).first, kOtherTier);
  EXPECT_EQ(TierOf("extensions", "deployments", {}).first, kOtherTier);
}

TEST(TierOf, EverythingElseAlphabetically) {
  std::vector<std::pair<std::string, std::string>> rs = {
      {"networking.k8s.io", "networkpolicies"},
      {"example.com", "widgets"},
      {"", "services"},
      {"autoscaling", "horizontalpodautoscalers"},
      {"policy", "poddisruptionbudgets"},
      {"apiextensions.k8s.io", "customresourcedefinitions"},
      {"", "resourcequotas"},
      {"example.com", "apples"},
  };
  std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) {
    return TierOf(a.first, a.second, {}) < TierOf(b.first, b.second, {});
  });
  std::vector<std::string> order;
  for (const auto& r : rs) order.push_back(r.second);
  EXPECT_EQ(order, (std::vector<std::string>{"customresourcedefinitions", "services", "apples",
                                             "horizontalpodautoscalers", "networkpolicies",
                                             "poddisruptionbudgets", "resourcequotas", "widgets"}));
}

TEST(TierOf, PrioritiesGoFirstThenTheDefaultOrder) {
  const std::vector<std::string> prio = {"widgets.example.com", "configmaps", "deployments"};
  EXPECT_EQ(TierOf("example.com", "widgets", prio).first, 0);
  EXPECT_EQ(TierOf("", "configmaps", prio).first, 1);
  EXPECT_EQ(TierOf("apps", "deployments", prio).first, 2);               // "resource": any group
  EXPECT_EQ(TierOf("other.io", "widgets", prio).first, 3 + kOtherTier);  // exact group only
  EXPECT_EQ(TierOf("apiextensions.k8s.io", "customresourcedefinitions", prio).first, 3);
  EXPECT_EQ(TierOf("", "namespaces", prio).first, 4);
  EXPECT_EQ(TierOf("", "secrets", prio).first, 3 + 11);
  EXPECT_EQ(TierOf("", "services", prio).first, 3 + kWorkloadTier);
  // Kinds, with the overload that knows the Kind.
  const std::vector<std::string> kinds = {"Secret", "Deployment.apps"};
  EXPECT_EQ(TierOf("", "secrets", "Secret", kinds).first, 0);
  EXPECT_EQ(TierOf("apps", "deployments", "Deployment", kinds).first, 1);
  EXPECT_EQ(TierOf("", "secrets", kinds).first, 2 + 11);  // without the Kind: no match
  EXPECT_EQ(TierOf("", "configmaps", "ConfigMap", {"*"}).first, 1 + 12);
  // The first matching item wins.
  EXPECT_EQ(TierOf("", "secrets", {"secrets", "secrets"}).first, 0);
}

// --- Decide -----------------------------------------------------------------------------------

EntryRef Entry(std::string path) {
  auto e = ParseEntryPath(path);
  EXPECT_TRUE(e.has_value()) << path;
  return e.value_or(EntryRef{});
}

json Obj(std::string kind, std::string name, json labels = json::object()) {
  return json{{"kind", kind}, {"metadata", {{"name", name}, {"labels", labels}}}};
}

const std::set<std::string> kNoKinds;

TEST(Decide, EverythingByDefault) {
  const Decision d = Decide(Entry("resources/core/configmaps/v1/namespaces/shop/c.json"),
                            Obj("ConfigMap", "c"), RestoreOptions{}, kNoKinds);
  EXPECT_TRUE(d.restore);
  EXPECT_EQ(d.reason, "");
}

TEST(Decide, NamespaceGlobs) {
  RestoreOptions o;
  o.include_namespaces = {"shop*", "billing"};
  o.exclude_namespaces = {"shop-te?t"};
  auto ns = [&](std::string name) {
    return Decide(Entry("resources/core/configmaps/v1/namespaces/" + name + "/c.json"),
                  Obj("ConfigMap", "c"), o, kNoKinds);
  };
  EXPECT_TRUE(ns("shop").restore);
  EXPECT_TRUE(ns("shop-prod").restore);
  EXPECT_TRUE(ns("billing").restore);
  EXPECT_FALSE(ns("billing-2").restore);
  const Decision d = ns("shop-test");
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.reason, "namespace 'shop-test' is not selected");

  // Namespace objects by name; other cluster-scoped objects are not namespace-filtered.
  EXPECT_TRUE(Decide(Entry("resources/core/namespaces/v1/cluster/shop.json"),
                     Obj("Namespace", "shop"), o, kNoKinds)
                  .restore);
  EXPECT_FALSE(Decide(Entry("resources/core/namespaces/v1/cluster/other.json"),
                      Obj("Namespace", "other"), o, kNoKinds)
                   .restore);
  EXPECT_TRUE(Decide(Entry("resources/rbac.authorization.k8s.io/clusterroles/v1/cluster/r.json"),
                     Obj("ClusterRole", "r"), o, kNoKinds)
                  .restore);

  // PVs follow their claim's namespace.
  json pv = Obj("PersistentVolume", "pv-1");
  pv["spec"] = {{"persistentVolumeReclaimPolicy", "Retain"},
                {"claimRef", {{"namespace", "other"}, {"name", "data"}}}};
  const EntryRef pv_entry = Entry("resources/core/persistentvolumes/v1/cluster/pv-1.json");
  const Decision pv_d = Decide(pv_entry, pv, o, kNoKinds);
  EXPECT_FALSE(pv_d.restore);
  EXPECT_EQ(pv_d.reason, "claimed from namespace 'other', which is not selected");
  pv["spec"]["claimRef"]["namespace"] = "shop";
  EXPECT_TRUE(Decide(pv_entry, pv, o, kNoKinds).restore);
}

TEST(Decide, ResourceFilters) {
  RestoreOptions o;
  o.include_resources = {"configmaps", "deployments.apps", "Secret", "widget.example.com"};
  auto decide = [&](std::string path, std::string kind) {
    return Decide(Entry(path), Obj(kind, "x"), o, kNoKinds);
  };
  EXPECT_TRUE(decide("resources/core/configmaps/v1/namespaces/a/x.json", "ConfigMap").restore);
  EXPECT_TRUE(decide("resources/apps/deployments/v1/namespaces/a/x.json", "Deployment").restore);
  EXPECT_TRUE(decide("resources/core/secrets/v1/namespaces/a/x.json", "Secret").restore);
  EXPECT_TRUE(decide("resources/example.com/widgets/v1/namespaces/a/x.json", "Widget").restore);
  EXPECT_FALSE(decide("resources/other.io/widgets/v1/namespaces/a/x.json", "Widget").restore);
  const Decision d = decide("resources/core/services/v1/namespaces/a/x.json", "Service");
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.reason, "not in include_resources");

  o.exclude_resources = {"secrets"};
  const Decision ex = decide("resources/core/secrets/v1/namespaces/a/x.json", "Secret");
  EXPECT_FALSE(ex.restore);
  EXPECT_EQ(ex.reason, "excluded by exclude_resources 'secrets'");

  o.include_resources = {"*"};
  o.exclude_resources = {"Deployment"};
  EXPECT_TRUE(decide("resources/core/services/v1/namespaces/a/x.json", "Service").restore);
  EXPECT_FALSE(decide("resources/apps/deployments/v1/namespaces/a/x.json", "Deployment").restore);
}

TEST(Decide, LabelSelectorOnNamespacedObjectsOnly) {
  RestoreOptions o;
  o.label_selector = "app=shop,tier in (web,db),!canary";
  const EntryRef cm = Entry("resources/core/configmaps/v1/namespaces/a/x.json");
  EXPECT_TRUE(
      Decide(cm, Obj("ConfigMap", "x", {{"app", "shop"}, {"tier", "db"}}), o, kNoKinds).restore);
  EXPECT_FALSE(
      Decide(cm, Obj("ConfigMap", "x", {{"app", "shop"}, {"tier", "cache"}}), o, kNoKinds).restore);
  EXPECT_FALSE(Decide(cm, Obj("ConfigMap", "x", {{"app", "shop"}, {"tier", "db"}, {"canary", ""}}),
                      o, kNoKinds)
                   .restore);
  const Decision d = Decide(cm, Obj("ConfigMap", "x"), o, kNoKinds);
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.reason, "labels do not match label_selector 'app=shop,tier in (web,db),!canary'");
  // A label of another type never matches.
  json odd = Obj("ConfigMap", "x", {{"app", "shop"}, {"tier", 7}});
  EXPECT_FALSE(Decide(cm, odd, o, kNoKinds).restore);
  // Cluster-scoped objects are restored whatever their labels.
  EXPECT_TRUE(Decide(Entry("resources/core/namespaces/v1/cluster/a.json"), Obj("Namespace", "a"), o,
                     kNoKinds)
                  .restore);

  o.label_selector = "app!=shop,env";
  EXPECT_TRUE(Decide(cm, Obj("ConfigMap", "x", {{"env", "prod"}}), o, kNoKinds).restore);
  EXPECT_FALSE(
      Decide(cm, Obj("ConfigMap", "x", {{"env", "prod"}, {"app", "shop"}}), o, kNoKinds).restore);
}

json Owned(std::string kind, std::string owner_api, std::string owner_kind, bool controller) {
  json o = Obj(kind, "child");
  o["metadata"]["ownerReferences"] = json::array({{{"apiVersion", owner_api},
                                                   {"kind", owner_kind},
                                                   {"name", "parent"},
                                                   {"uid", "u-1"},
                                                   {"controller", controller}}});
  return o;
}

TEST(Decide, OwnedObjectsAreLeftForRestoredControllers) {
  const std::set<std::string> kinds = {"apps/Deployment", "apps/ReplicaSet",      "batch/Job",
                                       "batch/CronJob",   "apps/StatefulSet",     "apps/DaemonSet",
                                       "Service",         "ReplicationController"};
  struct Case {
    std::string path, kind, owner_api, owner_kind;
  };
  const std::vector<Case> skipped = {
      {"resources/apps/replicasets/v1/namespaces/a/child.json", "ReplicaSet", "apps/v1",
       "Deployment"},
      {"resources/core/pods/v1/namespaces/a/child.json", "Pod", "apps/v1", "ReplicaSet"},
      {"resources/core/pods/v1/namespaces/a/child.json", "Pod", "apps/v1", "StatefulSet"},
      {"resources/core/pods/v1/namespaces/a/child.json", "Pod", "apps/v1", "DaemonSet"},
      {"resources/core/pods/v1/namespaces/a/child.json", "Pod", "v1", "ReplicationController"},
      {"resources/apps/controllerrevisions/v1/namespaces/a/child.json", "ControllerRevision",
       "apps/v1", "StatefulSet"},
      {"resources/discovery.k8s.io/endpointslices/v1/namespaces/a/child.json", "EndpointSlice",
       "v1", "Service"},
      {"resources/core/endpoints/v1/namespaces/a/child.json", "Endpoints", "v1", "Service"},
  };
  for (const Case& c : skipped) {
    const Decision d = Decide(Entry(c.path), Owned(c.kind, c.owner_api, c.owner_kind, true),
                              RestoreOptions{}, kinds);
    EXPECT_FALSE(d.restore) << c.kind << " of " << c.owner_kind;
    EXPECT_EQ(d.kind, SkipKind::kController);
    EXPECT_EQ(d.reason, "left for its controller: owned by " + c.owner_kind + " 'parent'");
    // Not when the owner's kind is not restored.
    EXPECT_TRUE(Decide(Entry(c.path), Owned(c.kind, c.owner_api, c.owner_kind, true),
                       RestoreOptions{}, kNoKinds)
                    .restore)
        << c.kind << " of " << c.owner_kind;
    // Not for a reference that is not the controller.
    EXPECT_TRUE(Decide(Entry(c.path), Owned(c.kind, c.owner_api, c.owner_kind, false),
                       RestoreOptions{}, kinds)
                    .restore)
        << c.kind << " of " << c.owner_kind;
  }
  const EntryRef pod = Entry("resources/core/pods/v1/namespaces/a/child.json");
  // An owner kind that does not recreate this kind, or another group's kind of the same name.
  EXPECT_TRUE(Decide(pod, Owned("Pod", "apps/v1", "Deployment", true), {}, kinds).restore);
  EXPECT_TRUE(Decide(pod, Owned("Pod", "example.com/v1", "ReplicaSet", true), {}, kinds).restore);
  const EntryRef pvc = Entry("resources/core/persistentvolumeclaims/v1/namespaces/a/child.json");
  EXPECT_TRUE(Decide(pvc, Owned("PersistentVolumeClaim", "apps/v1", "StatefulSet", true), {}, kinds)
                  .restore);
  // Core kinds may be given as "/Kind" or "core/Kind" too.
  for (const char* key : {"/ReplicationController", "core/ReplicationController"}) {
    EXPECT_FALSE(Decide(pod, Owned("Pod", "v1", "ReplicationController", true), {}, {key}).restore)
        << key;
  }
  // A malformed ownerReferences member is ignored.
  json odd = Obj("Pod", "p");
  odd["metadata"]["ownerReferences"] = "garbage";
  EXPECT_TRUE(Decide(pod, odd, {}, kinds).restore);
  odd["metadata"]["ownerReferences"] = json::array({1, json::object(), {{"controller", "yes"}}});
  EXPECT_TRUE(Decide(pod, odd, {}, kinds).restore);
}

TEST(Decide, EndpointsMaintainedByControllers) {
  const std::set<std::string> with_services = {"Service"};
  json slice = Obj("EndpointSlice", "web-abcde",
                   {{"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"},
                    {"kubernetes.io/service-name", "web"}});
  const EntryRef slice_entry =
      Entry("resources/discovery.k8s.io/endpointslices/v1/namespaces/a/web-abcde.json");
  const Decision d = Decide(slice_entry, slice, {}, with_services);
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.reason,
            "left for its controller: maintained from its Service by "
            "endpointslice-controller.k8s.io");
  EXPECT_TRUE(Decide(slice_entry, slice, {}, kNoKinds).restore);
  slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] = "my-operator";
  EXPECT_TRUE(Decide(slice_entry, slice, {}, with_services).restore);

  json endpoints = Obj("Endpoints", "web");
  const EntryRef ep_entry = Entry("resources/core/endpoints/v1/namespaces/a/web.json");
  EXPECT_TRUE(Decide(ep_entry, endpoints, {}, with_services).restore);  // manual Endpoints
  endpoints["metadata"]["annotations"] = {
      {"endpoints.kubernetes.io/last-change-trigger-time", "2024-01-01T00:00:00Z"}};
  EXPECT_FALSE(Decide(ep_entry, endpoints, {}, with_services).restore);
}

TEST(Decide, ServiceAccountTokenSecretsAreSkipped) {
  const EntryRef e = Entry("resources/core/secrets/v1/namespaces/a/default-token-x.json");
  json secret = Obj("Secret", "default-token-x");
  secret["type"] = "kubernetes.io/service-account-token";
  const Decision d = Decide(e, secret, {}, kNoKinds);
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.kind, SkipKind::kNotRestorable);
  EXPECT_EQ(d.reason,
            "not restored: a service-account token secret holds a token signed by the source "
            "cluster; the target issues its own tokens");
  secret["type"] = "Opaque";
  EXPECT_TRUE(Decide(e, secret, {}, kNoKinds).restore);
  secret["type"] = 3;
  EXPECT_TRUE(Decide(e, secret, {}, kNoKinds).restore);
}

TEST(Decide, PersistentVolumesWithDeletePolicyAreNotRestored) {
  const EntryRef e = Entry("resources/core/persistentvolumes/v1/cluster/pv-1.json");
  json pv = Obj("PersistentVolume", "pv-1");
  pv["spec"] = {{"persistentVolumeReclaimPolicy", "Delete"}};
  const Decision d = Decide(e, pv, {}, kNoKinds);
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.kind, SkipKind::kNotRestorable);
  EXPECT_EQ(d.reason,
            "not restored: persistentVolumeReclaimPolicy is Delete and this backup has no volume "
            "data for it; a claim of it comes back empty, bound to a new volume");
  // The claim is named as it is restored (namespace mapping).
  pv["spec"]["claimRef"] = {{"namespace", "store"}, {"name", "data"}};
  RestoreOptions mapped;
  mapped.namespace_mapping = {{"store", "store-copy"}};
  EXPECT_EQ(Decide(e, pv, mapped, kNoKinds).reason,
            "not restored: persistentVolumeReclaimPolicy is Delete and this backup has no volume "
            "data for it; its claim 'store-copy/data' comes back empty, bound to a new volume");
  // With the claim's data in the backup, the new volume gets it.
  mapped.claims_with_data = {"store/data"};
  EXPECT_EQ(Decide(e, pv, mapped, kNoKinds).reason,
            "not restored: persistentVolumeReclaimPolicy is Delete; its claim 'store-copy/data' "
            "is bound to a new volume, into which the backed-up data is restored");
  pv["spec"]["persistentVolumeReclaimPolicy"] = "Retain";
  EXPECT_TRUE(Decide(e, pv, {}, kNoKinds).restore);
  pv.erase("spec");
  EXPECT_TRUE(Decide(e, pv, {}, kNoKinds).restore);
}

TEST(Decide, NeverThrowsOnOddShapes) {
  const EntryRef e = Entry("resources/core/pods/v1/namespaces/a/p.json");
  RestoreOptions o;
  o.label_selector = "app=x";
  for (const json& odd : {json(), json(3), json::array(), json{{"metadata", 1}},
                          json{{"metadata", {{"labels", "x"}}}}, json{{"kind", 7}}}) {
    EXPECT_FALSE(Decide(e, odd, o, {"apps/ReplicaSet"}).restore);
    EXPECT_TRUE(Decide(e, odd, {}, {"apps/ReplicaSet"}).restore);
  }
}

TEST(Decide, FiltersAreFilteredSkips) {
  RestoreOptions o;
  o.exclude_resources = {"configmaps"};
  const Decision d = Decide(Entry("resources/core/configmaps/v1/namespaces/a/x.json"),
                            Obj("ConfigMap", "x"), o, kNoKinds);
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.kind, SkipKind::kFiltered);
  EXPECT_EQ(Decide(Entry("resources/core/configmaps/v1/namespaces/a/x.json"), Obj("ConfigMap", "x"),
                   {}, kNoKinds)
                .kind,
            SkipKind::kNone);
}

TEST(Decide, JobsOfRestoredCronJobsAreNotRestoredAndSaySo) {
  const EntryRef job = Entry("resources/batch/jobs/v1/namespaces/a/child.json");
  const json owned = Owned("Job", "batch/v1", "CronJob", true);
  const Decision d = Decide(job, owned, {}, {"batch/CronJob"});
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.kind, SkipKind::kController);
  EXPECT_EQ(d.reason,
            "not restored: created by CronJob 'parent', which is restored and creates the next "
            "Jobs on its schedule (a restored Job would run again at once: its completion is "
            "status, which cannot be restored)");
  // No CronJob restored: the Job is restored (as any other object whose owner is not).
  EXPECT_TRUE(Decide(job, owned, {}, kNoKinds).restore);
  // And a CronJob does not make its Jobs "exist" for their Pods.
  EXPECT_FALSE(WillExist(job, owned, d, {"batch/CronJob"}));
}

TEST(Decide, PodsOfJobsAreNeverRestoredAlone) {
  const EntryRef pod = Entry("resources/core/pods/v1/namespaces/a/child.json");
  for (const std::set<std::string>& kinds : {kNoKinds, std::set<std::string>{"batch/Job"}}) {
    const Decision d = Decide(pod, Owned("Pod", "batch/v1", "Job", true), {}, kinds);
    EXPECT_FALSE(d.restore);
    EXPECT_EQ(d.kind, SkipKind::kController);
    EXPECT_EQ(d.reason,
              "not restored: a Pod of Job 'parent' (a restored Job starts its own Pods; a Pod "
              "restored alone would run again outside its Job)");
  }
}

TEST(WillExist, ExcludedObjectsTheirControllersRecreate) {
  // --exclude-resources replicasets: the Deployments' ReplicaSets exist all the same, so their
  // Pods are left to them; a ReplicaSet without a restored Deployment does not exist.
  RestoreOptions o;
  o.exclude_resources = {"replicasets"};
  const EntryRef rs = Entry("resources/apps/replicasets/v1/namespaces/a/child.json");
  const json owned = Owned("ReplicaSet", "apps/v1", "Deployment", true);
  const Decision d = Decide(rs, owned, o, {"apps/Deployment"});
  EXPECT_FALSE(d.restore);
  EXPECT_EQ(d.kind, SkipKind::kFiltered);
  EXPECT_TRUE(WillExist(rs, owned, d, {"apps/Deployment"}));
  EXPECT_FALSE(WillExist(rs, owned, Decide(rs, owned, o, kNoKinds), kNoKinds));
  // Restored objects exist.
  const Decision restored = Decide(rs, owned, {}, kNoKinds);
  EXPECT_TRUE(restored.restore);
  EXPECT_TRUE(WillExist(rs, owned, restored, kNoKinds));
}

TEST(OwnerRank, OwnersBeforeTheirDependents) {
  EXPECT_EQ(OwnerRank("apps", "Deployment"), 0);
  EXPECT_EQ(OwnerRank("batch", "CronJob"), 0);
  EXPECT_EQ(OwnerRank("", "Service"), 0);
  EXPECT_EQ(OwnerRank("", "ConfigMap"), 0);
  EXPECT_EQ(OwnerRank("apps", "ReplicaSet"), 1);
  EXPECT_EQ(OwnerRank("batch", "Job"), 1);
  EXPECT_EQ(OwnerRank("apps", "ControllerRevision"), 1);
  EXPECT_EQ(OwnerRank("", "Endpoints"), 1);
  EXPECT_EQ(OwnerRank("discovery.k8s.io", "EndpointSlice"), 1);
  EXPECT_EQ(OwnerRank("", "Pod"), 2);
  EXPECT_EQ(OwnerRank("example.com", "Pod"), 0);
}

TEST(RepointOwnerReferences, WrittenOwnersGetTheirNewUidOthersAreDropped) {
  const json refs = json::array({
      {{"apiVersion", "apps/v1"},
       {"kind", "Deployment"},
       {"name", "web"},
       {"uid", "old-1"},
       {"controller", true},
       {"blockOwnerDeletion", true}},
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "gone"}, {"uid", "old-2"}},
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "broken"}, {"uid", "old-3"}},
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "late"}, {"uid", "old-4"}},
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "no-uid"}},
      "garbage",
  });
  auto owner = [](const std::string& uid) {
    if (uid == "old-1") return OwnerState{OwnerState::Kind::kWritten, "new-1"};
    if (uid == "old-3") return OwnerState{OwnerState::Kind::kFailed, ""};
    if (uid == "old-4") return OwnerState{OwnerState::Kind::kPending, ""};
    return OwnerState{};
  };
  std::vector<std::string> dropped;
  const json out = RepointOwnerReferences(refs, owner, &dropped);
  ASSERT_EQ(out.size(), 1u);
  json want = refs[0];
  want["uid"] = "new-1";
  EXPECT_EQ(out[0], want);  // everything else kept as backed up
  EXPECT_EQ(dropped, (std::vector<std::string>{
                         "ownerReference to ConfigMap 'gone' dropped: the owner is not restored "
                         "by this restore",
                         "ownerReference to ConfigMap 'broken' dropped: the owner failed to "
                         "restore",
                         "ownerReference to ConfigMap 'late' dropped: the owner was not written "
                         "before it"}));
  EXPECT_TRUE(RepointOwnerReferences("x", owner, &dropped).empty());
  EXPECT_EQ(OwnerUids({{"metadata", {{"ownerReferences", refs}}}}),
            (std::vector<std::string>{"old-1", "old-2", "old-3", "old-4"}));
  EXPECT_TRUE(OwnerUids(json(3)).empty());
}

TEST(QuotaCountedResources, HardKeysToResources) {
  const json hard = {{"count/deployments.apps", "4"},
                     {"count/configmaps", "10"},
                     {"secrets", "5"},
                     {"services.nodeports", "2"},
                     {"requests.storage", "10Gi"},
                     {"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1"},
                     {"requests.cpu", "2"},
                     {"limits.memory", "1Gi"}};
  EXPECT_EQ(QuotaCountedResources(hard),
            (std::set<std::string>{"deployments.apps", "configmaps", "secrets", "services",
                                   "persistentvolumeclaims", "pods"}));
  EXPECT_TRUE(QuotaCountedResources(json::array()).empty());
  EXPECT_EQ(QuotaCountedResources({{"count/widgets.example.com", "1"}}),
            (std::set<std::string>{"widgets.example.com"}));
}

TEST(KindKey, Forms) {
  EXPECT_EQ(KindKey("", "Service"), "Service");
  EXPECT_EQ(KindKey("apps", "Deployment"), "apps/Deployment");
  EXPECT_EQ(GroupOfApiVersion("apps/v1"), "apps");
  EXPECT_EQ(GroupOfApiVersion("v1"), "");
  EXPECT_EQ(QualifiedResource("", "pods"), "pods");
  EXPECT_EQ(QualifiedResource("apps", "deployments"), "deployments.apps");
}

}  // namespace
}  // namespace cairn::ops::restore
