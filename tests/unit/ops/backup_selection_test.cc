#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/backup/selection.h"

namespace cairn::ops::backup {
namespace {

using config::BackupPolicy;
using nlohmann::json;

// --- Namespaces ------------------------------------------------------------------------------

BackupPolicy Namespaces(std::vector<std::string> include, std::vector<std::string> exclude = {}) {
  BackupPolicy p;
  p.include_namespaces = std::move(include);
  p.exclude_namespaces = std::move(exclude);
  return p;
}

TEST(NamespaceSelectedTest, Table) {
  struct Case {
    const char* what;
    BackupPolicy policy;
    const char* ns;
    bool selected;
  };
  const std::vector<Case> cases = {
      {"empty include takes all", Namespaces({}), "shop", true},
      {"literal include", Namespaces({"shop"}), "shop", true},
      {"not included", Namespaces({"shop"}), "billing", false},
      {"glob include", Namespaces({"team-*"}), "team-a", true},
      {"glob ? include", Namespaces({"team-?"}), "team-ab", false},
      {"class include", Namespaces({"team-[a-c]"}), "team-b", true},
      {"exclude wins over include", Namespaces({"team-*"}, {"team-b"}), "team-b", false},
      {"exclude glob", Namespaces({}, {"*-tmp"}), "ci-tmp", false},
      {"exclude glob leaves others", Namespaces({}, {"*-tmp"}), "ci", true},
      {"kube-system excluded by default", Namespaces({}), "kube-system", false},
      {"kube-public excluded by default", Namespaces({}), "kube-public", false},
      {"kube-node-lease excluded by default", Namespaces({}), "kube-node-lease", false},
      {"own namespace excluded by default", Namespaces({}), "cairn", false},
      {"a glob does not name kube-system", Namespaces({"kube-*"}), "kube-system", false},
      {"a glob does not name the own namespace", Namespaces({"*"}), "cairn", false},
      {"a glob still takes kube-flannel", Namespaces({"kube-*"}), "kube-flannel", true},
      {"kube-system named literally", Namespaces({"kube-system"}), "kube-system", true},
      {"own namespace named literally", Namespaces({"cairn", "shop"}), "cairn", true},
      {"literal system namespace still excluded by exclude",
       Namespaces({"kube-system"}, {"kube-*"}), "kube-system", false},
      {"a class spelling is not literal", Namespaces({"kube-syste[m]"}), "kube-system", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NamespaceSelected(c.ns, c.policy, "cairn"), c.selected) << c.what;
  }
  // Without an own namespace (not running in a pod), nothing extra is excluded.
  EXPECT_TRUE(NamespaceSelected("cairn", Namespaces({}), ""));
  EXPECT_FALSE(NamespaceSelected("", Namespaces({"shop"}), ""));
}

// --- Resources -------------------------------------------------------------------------------

kube::ApiResource Res(std::string group, std::string version, std::string resource,
                      std::string kind, bool namespaced,
                      std::vector<std::string> verbs = {"get", "list", "watch", "create"}) {
  kube::ApiResource r;
  r.group = std::move(group);
  r.version = std::move(version);
  r.resource = std::move(resource);
  r.kind = std::move(kind);
  r.namespaced = namespaced;
  r.verbs = std::move(verbs);
  return r;
}

// A small but realistic cluster: the built-in groups cairn cares about, a CRD group whose
// preferred version does not serve every resource, an aggregated metrics API, and a broken one.
kube::Discovery TestDiscovery() {
  kube::Discovery d;
  d.groups = {
      {"", "v1", {"v1"}},
      {"apiextensions.k8s.io", "v1", {"v1"}},
      {"apiregistration.k8s.io", "v1", {"v1"}},
      {"apps", "v1", {"v1"}},
      {"authentication.k8s.io", "v1", {"v1"}},
      {"autoscaling", "v2", {"v2", "v1"}},
      {"batch", "v1", {"v1"}},
      {"coordination.k8s.io", "v1", {"v1"}},
      {"discovery.k8s.io", "v1", {"v1"}},
      {"events.k8s.io", "v1", {"v1"}},
      {"example.com", "v1", {"v1", "v1beta1", "v1alpha1"}},
      {"metrics.k8s.io", "v1beta1", {"v1beta1"}},
      {"rbac.authorization.k8s.io", "v1", {"v1"}},
      {"storage.k8s.io", "v1", {"v1"}},
  };
  d.resources = {
      Res("", "v1", "pods", "Pod", true),
      Res("", "v1", "configmaps", "ConfigMap", true),
      Res("", "v1", "secrets", "Secret", true),
      Res("", "v1", "services", "Service", true),
      Res("", "v1", "serviceaccounts", "ServiceAccount", true),
      Res("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true),
      Res("", "v1", "events", "Event", true),
      Res("", "v1", "endpoints", "Endpoints", true),
      Res("", "v1", "bindings", "Binding", true, {"create"}),
      Res("", "v1", "namespaces", "Namespace", false),
      Res("", "v1", "nodes", "Node", false),
      Res("", "v1", "persistentvolumes", "PersistentVolume", false),
      Res("", "v1", "componentstatuses", "ComponentStatus", false, {"get", "list"}),
      Res("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          false),
      Res("apiregistration.k8s.io", "v1", "apiservices", "APIService", false),
      Res("apps", "v1", "deployments", "Deployment", true),
      Res("apps", "v1", "statefulsets", "StatefulSet", true),
      Res("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, {"create"}),
      Res("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true),
      Res("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true),
      Res("batch", "v1", "jobs", "Job", true),
      Res("batch", "v1", "cronjobs", "CronJob", true),
      Res("coordination.k8s.io", "v1", "leases", "Lease", true),
      Res("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true),
      Res("events.k8s.io", "v1", "events", "Event", true),
      Res("example.com", "v1alpha1", "databases", "Database", true),
      Res("example.com", "v1", "databases", "Database", true),
      Res("example.com", "v1alpha1", "widgets", "Widget", true),
      Res("example.com", "v1beta1", "widgets", "Widget", true),
      Res("example.com", "v1", "watchonly", "WatchOnly", true, {"watch"}),
      Res("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", true, {"get", "list"}),
      Res("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", false, {"get", "list"}),
      Res("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
      Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
      Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
      Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
      Res("storage.k8s.io", "v1", "storageclasses", "StorageClass", false),
      Res("storage.k8s.io", "v1", "csinodes", "CSINode", false),
      Res("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", false),
  };
  d.failed = {"broken.example.org/v1"};
  return d;
}

// "resource.group[versions]" plus "*" for cluster_auto, for compact comparisons.
std::vector<std::string> Describe(const std::vector<ResourceChoice>& choices) {
  std::vector<std::string> out;
  for (const ResourceChoice& c : choices) {
    std::string s = QualifiedResource(*c.resource) + "[";
    for (size_t i = 0; i < c.versions.size(); ++i) s += (i ? "," : "") + c.versions[i];
    s += "]";
    if (c.cluster_auto) s += "*";
    EXPECT_EQ(c.resource->version, c.versions.front()) << s;
    out.push_back(s);
  }
  return out;
}

TEST(SelectResourcesTest, DefaultPolicy) {
  const kube::Discovery d = TestDiscovery();
  std::vector<std::string> skipped;
  const std::vector<ResourceChoice> got = SelectResources(d, BackupPolicy{}, &skipped);
  EXPECT_EQ(Describe(got), (std::vector<std::string>{
                               "configmaps[v1]",
                               "endpoints[v1]",  // hand-written ones are kept (EndpointsTest)
                               "namespaces[v1]*",
                               "persistentvolumeclaims[v1]",
                               "persistentvolumes[v1]*",
                               "pods[v1]",
                               "secrets[v1]",
                               "serviceaccounts[v1]",
                               "services[v1]",
                               "customresourcedefinitions.apiextensions.k8s.io[v1]*",
                               "apiservices.apiregistration.k8s.io[v1]*",
                               "deployments.apps[v1]",
                               "statefulsets.apps[v1]",
                               "horizontalpodautoscalers.autoscaling[v2,v1]",
                               "cronjobs.batch[v1]",
                               "jobs.batch[v1]",
                               "endpointslices.discovery.k8s.io[v1]",
                               "databases.example.com[v1,v1alpha1]",
                               "widgets.example.com[v1beta1,v1alpha1]",
                               "clusterrolebindings.rbac.authorization.k8s.io[v1]*",
                               "clusterroles.rbac.authorization.k8s.io[v1]*",
                               "rolebindings.rbac.authorization.k8s.io[v1]",
                               "roles.rbac.authorization.k8s.io[v1]",
                               "storageclasses.storage.k8s.io[v1]*",
                           }));
  // Namespaced resources the cluster regenerates are named; cluster-scoped ones under auto are
  // never candidates, so they are not.
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         "events: regenerated by the cluster",
                         "leases.coordination.k8s.io: regenerated by the cluster",
                         "events.events.k8s.io: regenerated by the cluster",
                         "pods.metrics.k8s.io: regenerated by the cluster",
                         "broken.example.org/v1: not discovered, its resources are not backed up",
                     }));
  // Pointers point into the discovery given.
  EXPECT_EQ(got[13].resource, d.Find("autoscaling", "v2", "horizontalpodautoscalers"));
}

TEST(SelectResourcesTest, PreferredVersionOnly) {
  BackupPolicy p;
  p.api_versions = "preferred";
  p.include_resources = {"horizontalpodautoscalers", "databases.example.com", "Widget"};
  std::vector<std::string> skipped;
  EXPECT_EQ(
      Describe(SelectResources(TestDiscovery(), p, &skipped)),
      (std::vector<std::string>{"horizontalpodautoscalers.autoscaling[v2]",
                                "databases.example.com[v1]", "widgets.example.com[v1beta1]"}));
  EXPECT_EQ(skipped.size(), 1u);  // only the broken group version
}

TEST(SelectResourcesTest, IncludeAndExcludeForms) {
  struct Case {
    const char* what;
    std::vector<std::string> include, exclude;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"resource", {"deployments"}, {}, {"deployments.apps[v1]"}},
      {"resource.group", {"deployments.apps"}, {}, {"deployments.apps[v1]"}},
      {"wrong group", {"deployments.batch"}, {}, {}},
      {"Kind", {"Deployment"}, {}, {"deployments.apps[v1]"}},
      {"kind in any case", {"configmap", "CONFIGMAP"}, {}, {"configmaps[v1]"}},
      {"Kind.group", {"Job.batch"}, {}, {"jobs.batch[v1]"}},
      {"exclude wins", {"deployments", "Secret"}, {"secret"}, {"deployments.apps[v1]"}},
      {"cluster resource by name under auto",
       {"storageclasses", "pods"},
       {},
       {"pods[v1]", "storageclasses.storage.k8s.io[v1]*"}},
  };
  for (const Case& c : cases) {
    BackupPolicy p;
    p.include_resources = c.include;
    p.exclude_resources = c.exclude;
    EXPECT_EQ(Describe(SelectResources(TestDiscovery(), p, nullptr)), c.want) << c.what;
  }
  BackupPolicy all_but;
  all_but.exclude_resources = {"pods",
                               "Secret",
                               "customresourcedefinitions.apiextensions.k8s.io",
                               "databases.example.com",
                               "widgets",
                               "Deployment.apps"};
  const std::vector<std::string> got = Describe(SelectResources(TestDiscovery(), all_but, nullptr));
  for (const char* gone : {"pods[v1]", "secrets[v1]", "deployments.apps[v1]",
                           "customresourcedefinitions.apiextensions.k8s.io[v1]*",
                           "databases.example.com[v1,v1alpha1]"}) {
    EXPECT_EQ(std::count(got.begin(), got.end(), gone), 0) << gone;
  }
  EXPECT_EQ(got.size(), 18u);
}

TEST(SelectResourcesTest, NeverBackedUpEvenWhenAskedFor) {
  BackupPolicy p;
  p.include_resources = {"events", "Lease", "pods", "widgetz"};
  std::vector<std::string> skipped;
  EXPECT_EQ(Describe(SelectResources(TestDiscovery(), p, &skipped)),
            (std::vector<std::string>{"pods[v1]"}));
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         "events: regenerated by the cluster",
                         "leases.coordination.k8s.io: regenerated by the cluster",
                         "events.events.k8s.io: regenerated by the cluster",
                         "pods.metrics.k8s.io: regenerated by the cluster",
                         "include_resources 'widgetz': matches no listable resource",
                         "broken.example.org/v1: not discovered, its resources are not backed up",
                     }));
}

TEST(SelectResourcesTest, ClusterResourcesTrueTakesAllButRegenerated) {
  BackupPolicy p;
  p.include_cluster_resources = "true";
  p.include_resources = {"Node",
                         "nodes",
                         "componentstatuses",
                         "csinodes",
                         "volumeattachments",
                         "PersistentVolume",
                         "ClusterRole",
                         "tokenreviews"};
  std::vector<std::string> skipped;
  EXPECT_EQ(Describe(SelectResources(TestDiscovery(), p, &skipped)),
            (std::vector<std::string>{"persistentvolumes[v1]",
                                      "clusterroles.rbac.authorization.k8s.io[v1]"}));
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         "componentstatuses: regenerated by the cluster",
                         "nodes: regenerated by the cluster",
                         "nodes.metrics.k8s.io: regenerated by the cluster",
                         "csinodes.storage.k8s.io: regenerated by the cluster",
                         "volumeattachments.storage.k8s.io: regenerated by the cluster",
                         // create-only: not listable, so not a resource at all
                         "include_resources 'tokenreviews': matches no listable resource",
                         "broken.example.org/v1: not discovered, its resources are not backed up",
                     }));
}

TEST(SelectResourcesTest, ClusterResourcesFalse) {
  BackupPolicy p;
  p.include_cluster_resources = "false";
  std::vector<std::string> skipped;
  const std::vector<std::string> got = Describe(SelectResources(TestDiscovery(), p, &skipped));
  EXPECT_EQ(got.size(), 17u);
  for (const std::string& s : got) EXPECT_EQ(s.find('*'), std::string::npos) << s;
  // Naming a cluster-scoped resource that the policy then drops deserves a warning.
  p.include_resources = {"storageclasses", "pods", "nodes"};
  skipped.clear();
  EXPECT_EQ(Describe(SelectResources(TestDiscovery(), p, &skipped)),
            (std::vector<std::string>{"pods[v1]"}));
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         // "pods" names every group's pods, the metrics API's too
                         "pods.metrics.k8s.io: regenerated by the cluster",
                         "storageclasses.storage.k8s.io: cluster-scoped, and "
                         "include_cluster_resources is false",
                         "broken.example.org/v1: not discovered, its resources are not backed up",
                     }));
}

TEST(SelectResourcesTest, VersionPriority) {
  const std::vector<std::string> want = {"v2",        "v1",       "v11beta2", "v10beta3", "v3beta1",
                                         "v12alpha1", "v1alpha2", "v1alpha1", "foo1",     "foo10"};
  std::vector<std::string> got = {"v1alpha1", "foo10", "v1",       "v3beta1",  "v12alpha1",
                                  "v2",       "foo1",  "v10beta3", "v11beta2", "v1alpha2"};
  std::sort(got.begin(), got.end(),
            [](const std::string& a, const std::string& b) { return VersionPrecedes(a, b); });
  EXPECT_EQ(got, want);
  EXPECT_FALSE(VersionPrecedes("v1", "v1"));
  EXPECT_FALSE(VersionPrecedes("v01", "v2"));  // not a Kubernetes version: sorts last
}

// --- Objects ---------------------------------------------------------------------------------

TEST(ObjectFiltersTest, ExcludeLabel) {
  EXPECT_TRUE(ObjectExcludedByLabel(
      json::parse(R"({"metadata":{"labels":{"cairn.io/exclude-from-backup":"true"}}})")));
  EXPECT_FALSE(ObjectExcludedByLabel(
      json::parse(R"({"metadata":{"labels":{"cairn.io/exclude-from-backup":"false"}}})")));
  EXPECT_FALSE(ObjectExcludedByLabel(json::parse(R"({"metadata":{"labels":{"app":"x"}}})")));
  EXPECT_FALSE(ObjectExcludedByLabel(json::parse(R"({"metadata":{}})")));
  EXPECT_FALSE(ObjectExcludedByLabel(json::parse(R"([1])")));
}

TEST(ObjectFiltersTest, RegeneratedObjects) {
  const kube::Discovery d = TestDiscovery();
  const kube::ApiResource& apiservices = *d.Find("apiregistration.k8s.io", "v1", "apiservices");
  const kube::ApiResource& pods = *d.Find("", "v1", "pods");
  const kube::ApiResource& configmaps = *d.Find("", "v1", "configmaps");
  EXPECT_EQ(
      RegeneratedObjectReason(apiservices, json::parse(R"({"metadata":{"name":"v1.apps"},"spec":{
                "group":"apps","version":"v1","groupPriorityMinimum":17800}})")),
      "regenerated by the cluster: APIService served by the kube-apiserver itself");
  EXPECT_EQ(RegeneratedObjectReason(apiservices,
                                    json::parse(R"({"metadata":{"name":"v1beta1.metrics.k8s.io"},
                "spec":{"service":{"name":"metrics-server","namespace":"kube-system"}}})")),
            std::nullopt);
  EXPECT_EQ(RegeneratedObjectReason(pods, json::parse(R"({"metadata":{"name":"etcd-cp",
                "annotations":{"kubernetes.io/config.mirror":"abc"}}})")),
            "regenerated by the cluster: mirror pod of a static pod, recreated by the kubelet");
  EXPECT_EQ(RegeneratedObjectReason(pods, json::parse(R"({"metadata":{"name":"web-1",
                "ownerReferences":[{"kind":"ReplicaSet","name":"web"}]}})")),
            std::nullopt);  // pods are kept, owned or not
  EXPECT_EQ(
      RegeneratedObjectReason(configmaps, json::parse(R"({"metadata":{"name":"kube-root-ca.crt",
                "namespace":"shop"}})")),
      "regenerated by the cluster: published in every namespace by the root CA publisher");
  EXPECT_EQ(RegeneratedObjectReason(configmaps, json::parse(R"({"metadata":{"name":"app"}})")),
            std::nullopt);
  const kube::ApiResource& slices = *d.Find("discovery.k8s.io", "v1", "endpointslices");
  EXPECT_EQ(RegeneratedObjectReason(slices, json::parse(R"({"metadata":{"name":"web-x7k2p",
                "labels":{"endpointslice.kubernetes.io/managed-by":
                "endpointslice-controller.k8s.io"}}})")),
            "regenerated by the cluster: EndpointSlice maintained by "
            "endpointslice-controller.k8s.io");
  EXPECT_NE(RegeneratedObjectReason(slices, json::parse(R"({"metadata":{"name":"db",
                "labels":{"endpointslice.kubernetes.io/managed-by":
                "endpointslicemirroring-controller.k8s.io"}}})")),
            std::nullopt);
  // Written by hand (the managed-by value names a person or a tool of the user's): kept.
  EXPECT_EQ(RegeneratedObjectReason(slices, json::parse(R"({"metadata":{"name":"db",
                "labels":{"endpointslice.kubernetes.io/managed-by":"staff"}}})")),
            std::nullopt);
}

TEST(EndpointsTest, OnlyThoseOfServicesWithoutASelectorAreHandWritten) {
  EXPECT_FALSE(ServiceEndpointsWrittenByHand(
      json::parse(R"({"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}})")));
  EXPECT_TRUE(ServiceEndpointsWrittenByHand(json::parse(R"({"spec":{"ports":[{"port":5432}]}})")));
  EXPECT_TRUE(ServiceEndpointsWrittenByHand(json::parse(R"({"spec":{"selector":{}}})")));
  EXPECT_TRUE(ServiceEndpointsWrittenByHand(
      json::parse(R"({"spec":{"type":"ExternalName","externalName":"db.example.com"}})")));
  const std::set<std::string> hand = {"shop/external-db"};
  EXPECT_TRUE(EndpointsWrittenByHand(
      json::parse(R"({"metadata":{"name":"external-db","namespace":"shop"}})"), hand));
  EXPECT_FALSE(EndpointsWrittenByHand(
      json::parse(R"({"metadata":{"name":"web","namespace":"shop"}})"), hand));
  // The apiserver's own default/kubernetes Endpoints.
  EXPECT_FALSE(EndpointsWrittenByHand(json::parse(R"({"metadata":{"name":"external-db",
      "namespace":"shop","labels":{"endpointslice.kubernetes.io/skip-mirror":"true"}}})"),
                                      hand));
}

// --- Label selectors -------------------------------------------------------------------------

TEST(LabelSelectorTest, MatchTable) {
  const LabelMap web = {{"app", "web"}, {"tier", "frontend"}, {"env", ""}};
  struct Case {
    const char* selector;
    bool match;
  };
  const Case cases[] = {
      {"", true},
      {"app=web", true},
      {"app==web", true},
      {"app=db", false},
      {"missing=x", false},
      {"app!=db", true},
      {"app!=web", false},
      {"missing!=x", true},  // absent keys satisfy != and notin, as in Kubernetes
      {"app in (db, web)", true},
      {"app in (db)", false},
      {"missing in (x)", false},
      {"app notin (db)", true},
      {"app notin (web, db)", false},
      {"missing notin (x)", true},
      {"app", true},
      {"missing", false},
      {"!missing", true},
      {"!app", false},
      {"env=", true},
      {"env", true},
      {"app=web,tier=frontend", true},
      {"app=web,tier=backend", false},
      {"app=web,!missing,tier in (frontend)", true},
  };
  for (const Case& c : cases) {
    base::Result<LabelSelector> s = LabelSelector::Parse(c.selector);
    ASSERT_TRUE(s.ok()) << c.selector << ": " << s.status().message();
    EXPECT_EQ(s->Matches(web), c.match) << c.selector;
  }
  EXPECT_EQ(LabelSelector::Parse("app in (web").status().message(),
            "invalid label selector 'app in (web': missing ')'");
  EXPECT_EQ(LabelSelector::Parse("a=b")->requirements().size(), 1u);
}

TEST(LabelSelectorTest, LabelsOf) {
  EXPECT_EQ(LabelsOf(json::parse(R"({"metadata":{"labels":{"a":"1","b":"","n":3}}})")),
            (LabelMap{{"a", "1"}, {"b", ""}}));
  EXPECT_TRUE(LabelsOf(json::parse(R"({"metadata":{"name":"x"}})")).empty());
  EXPECT_TRUE(LabelsOf(json::parse("null")).empty());
}

TEST(LabelSelectorTest, PolicySelectorsOrSemantics) {
  BackupPolicy none;
  BackupPolicy one;
  one.label_selector = "app=web";
  BackupPolicy ors;
  ors.or_label_selectors = {"app=db", "tier in (cache)"};
  BackupPolicy both;
  both.label_selector = "app=web";
  both.or_label_selectors = {"tier=cache"};
  BackupPolicy single_or;
  single_or.or_label_selectors = {"backup=always"};

  const LabelMap web = {{"app", "web"}}, db = {{"app", "db"}}, cache = {{"tier", "cache"}},
                 other = {{"app", "other"}};
  EXPECT_TRUE(MatchesPolicySelectors(other, none));
  EXPECT_TRUE(MatchesPolicySelectors(web, one));
  EXPECT_FALSE(MatchesPolicySelectors(db, one));
  EXPECT_TRUE(MatchesPolicySelectors(db, ors));
  EXPECT_TRUE(MatchesPolicySelectors(cache, ors));
  EXPECT_FALSE(MatchesPolicySelectors(web, ors));
  EXPECT_TRUE(MatchesPolicySelectors(web, both));
  EXPECT_TRUE(MatchesPolicySelectors(cache, both));
  EXPECT_FALSE(MatchesPolicySelectors(other, both));

  EXPECT_EQ(ServerSideSelector(none), std::nullopt);
  EXPECT_EQ(ServerSideSelector(one), "app=web");
  EXPECT_EQ(ServerSideSelector(single_or), "backup=always");
  EXPECT_EQ(ServerSideSelector(ors), std::nullopt);
  EXPECT_EQ(ServerSideSelector(both), std::nullopt);

  BackupPolicy broken;  // never produced by config/, which validates selectors
  broken.label_selector = "a in (";
  EXPECT_FALSE(MatchesPolicySelectors(web, broken));
  EXPECT_FALSE(PolicySelectors::Create(broken).ok());
}

// --- Archive paths ---------------------------------------------------------------------------

TEST(ObjectEntryPathTest, Layout) {
  const kube::Discovery d = TestDiscovery();
  EXPECT_EQ(ObjectEntryPath(*d.Find("", "v1", "configmaps"), "v1", "shop", "app-config"),
            "resources/core/configmaps/v1/namespaces/shop/app-config.json");
  EXPECT_EQ(ObjectEntryPath(*d.Find("autoscaling", "v1", "horizontalpodautoscalers"), "v1", "shop",
                            "web"),
            "resources/autoscaling/horizontalpodautoscalers/v1/namespaces/shop/web.json");
  EXPECT_EQ(ObjectEntryPath(*d.Find("", "v1", "persistentvolumes"), "v1", "", "pvc-0a1b"),
            "resources/core/persistentvolumes/v1/cluster/pvc-0a1b.json");
  EXPECT_EQ(ObjectEntryPath(*d.Find("rbac.authorization.k8s.io", "v1", "clusterroles"), "v1", "",
                            "system:aggregate-to-view"),
            "resources/rbac.authorization.k8s.io/clusterroles/v1/cluster/"
            "system:aggregate-to-view.json");
  EXPECT_EQ(ObjectEntryPath(*d.Find("example.com", "v1alpha1", "databases"), "v1alpha1", "shop",
                            "orders"),
            "resources/example.com/databases/v1alpha1/namespaces/shop/orders.json");
}

}  // namespace
}  // namespace cairn::ops::backup
