#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "ops/backup/dependencies.h"

namespace cairn::ops::backup {
namespace {

using nlohmann::json;

kube::ApiResource Res(std::string group, std::string resource, std::string kind, bool namespaced) {
  kube::ApiResource r;
  r.group = std::move(group);
  r.version = "v1";
  r.resource = std::move(resource);
  r.kind = std::move(kind);
  r.namespaced = namespaced;
  r.verbs = {"get", "list"};
  return r;
}

const kube::ApiResource kPvcs = Res("", "persistentvolumeclaims", "PersistentVolumeClaim", true);
const kube::ApiResource kPods = Res("", "pods", "Pod", true);
const kube::ApiResource kConfigMaps = Res("", "configmaps", "ConfigMap", true);
const kube::ApiResource kDeployments = Res("apps", "deployments", "Deployment", true);
const kube::ApiResource kStatefulSets = Res("apps", "statefulsets", "StatefulSet", true);
const kube::ApiResource kCronJobs = Res("batch", "cronjobs", "CronJob", true);
const kube::ApiResource kRoleBindings =
    Res("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true);
const kube::ApiResource kSnapshots =
    Res("snapshot.storage.k8s.io", "volumesnapshots", "VolumeSnapshot", true);
const kube::ApiResource kIngresses = Res("networking.k8s.io", "ingresses", "Ingress", true);
const kube::ApiResource kDatabases = Res("example.com", "databases", "Database", true);

const kube::ApiResource kNamespaces = Res("", "namespaces", "Namespace", false);
const kube::ApiResource kPvs = Res("", "persistentvolumes", "PersistentVolume", false);
const kube::ApiResource kStorageClasses =
    Res("storage.k8s.io", "storageclasses", "StorageClass", false);
const kube::ApiResource kCrds =
    Res("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false);
const kube::ApiResource kClusterRoles =
    Res("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false);
const kube::ApiResource kClusterRoleBindings =
    Res("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false);
const kube::ApiResource kPriorityClasses =
    Res("scheduling.k8s.io", "priorityclasses", "PriorityClass", false);
const kube::ApiResource kRuntimeClasses =
    Res("node.k8s.io", "runtimeclasses", "RuntimeClass", false);
const kube::ApiResource kIngressClasses =
    Res("networking.k8s.io", "ingressclasses", "IngressClass", false);
const kube::ApiResource kSnapshotClasses =
    Res("snapshot.storage.k8s.io", "volumesnapshotclasses", "VolumeSnapshotClass", false);
const kube::ApiResource kSnapshotContents =
    Res("snapshot.storage.k8s.io", "volumesnapshotcontents", "VolumeSnapshotContent", false);
const kube::ApiResource kNodes = Res("", "nodes", "Node", false);

json Named(std::string_view name) { return {{"metadata", {{"name", name}}}}; }

// A PVC bound to a dynamically provisioned PV, as the API returns it.
const json kPvc = json::parse(R"({
  "apiVersion": "v1", "kind": "PersistentVolumeClaim",
  "metadata": {"name": "data-db-0", "namespace": "shop", "labels": {"app": "db"},
               "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
           "storageClassName": "fast-ssd", "volumeMode": "Filesystem",
           "volumeName": "pvc-3f2a9c1e-0b7d-4a54-9f0e-2c1d5e6f7a8b"},
  "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
})");

const json kPv = json::parse(R"({
  "apiVersion": "v1", "kind": "PersistentVolume",
  "metadata": {"name": "pvc-3f2a9c1e-0b7d-4a54-9f0e-2c1d5e6f7a8b"},
  "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
           "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop",
                        "name": "data-db-0", "uid": "3f2a9c1e"},
           "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "fast-ssd",
           "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"}},
  "status": {"phase": "Bound"}
})");

// A statically provisioned PV that names its claim but whose claim does not name it (yet).
const json kStaticPv = json::parse(R"({
  "metadata": {"name": "nfs-archive"},
  "spec": {"claimRef": {"namespace": "shop", "name": "archive"}, "storageClassName": "nfs",
           "nfs": {"server": "10.0.0.5", "path": "/exports/archive"}}
})");

const json kArchivePvc = json::parse(R"({
  "metadata": {"name": "archive", "namespace": "shop",
               "annotations": {"volume.beta.kubernetes.io/storage-class": "nfs"}},
  "spec": {"accessModes": ["ReadWriteMany"]}
})");

TEST(DependencyCollectorTest, PvcToPvToStorageClassChain) {
  DependencyCollector c;
  c.Observe(kPvcs, kPvc);
  c.Observe(kPvcs, kArchivePvc);
  EXPECT_EQ(c.Reason(kPvs, kPv), "bound to PVC shop/data-db-0");
  EXPECT_EQ(c.Reason(kPvs, kStaticPv), "bound to PVC shop/archive");
  EXPECT_EQ(c.Reason(kStorageClasses, Named("fast-ssd")), "used by PVC shop/data-db-0");
  EXPECT_EQ(c.Reason(kStorageClasses, Named("nfs")), "used by PVC shop/archive");  // annotation
  EXPECT_EQ(c.Reason(kStorageClasses, Named("standard")), std::nullopt);
  EXPECT_EQ(c.Reason(kPvs, Named("pvc-other")), std::nullopt);
  json foreign = kPv;
  foreign["metadata"]["name"] = "pvc-foreign";
  foreign["spec"]["claimRef"]["namespace"] = "billing";
  EXPECT_EQ(c.Reason(kPvs, foreign), std::nullopt);
}

TEST(DependencyCollectorTest, StorageClassOfAPulledInPv) {
  // The PVC names no class (the default class was resolved on the PV), so only the PV knows.
  DependencyCollector c;
  json pvc = kPvc;
  pvc["spec"].erase("storageClassName");
  c.Observe(kPvcs, pvc);
  EXPECT_EQ(c.Reason(kStorageClasses, Named("fast-ssd")), std::nullopt);
  ASSERT_EQ(c.Reason(kPvs, kPv), "bound to PVC shop/data-db-0");
  c.ObserveCluster(kPvs, kPv);
  EXPECT_EQ(c.Reason(kStorageClasses, Named("fast-ssd")),
            "used by PersistentVolume pvc-3f2a9c1e-0b7d-4a54-9f0e-2c1d5e6f7a8b");
}

TEST(DependencyCollectorTest, StatefulSetVolumeClaimTemplates) {
  DependencyCollector c;
  c.Observe(kStatefulSets, json::parse(R"({
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {"serviceName": "db", "template": {"spec": {"containers": [{"name": "pg"}]}},
             "volumeClaimTemplates": [
               {"metadata": {"name": "data"}, "spec": {"storageClassName": "fast-ssd"}},
               {"metadata": {"name": "wal"}, "spec": {}}]}
  })"));
  EXPECT_EQ(c.Reason(kStorageClasses, Named("fast-ssd")), "used by StatefulSet shop/db");
}

TEST(DependencyCollectorTest, NamespacesOfSelectedObjects) {
  DependencyCollector c;
  c.Observe(kConfigMaps, json::parse(R"({"metadata":{"name":"cfg","namespace":"shop"}})"));
  c.Observe(kConfigMaps, json::parse(R"({"metadata":{"name":"cfg","namespace":"billing"}})"));
  EXPECT_EQ(c.Reason(kNamespaces, Named("shop")), "namespace of selected objects");
  EXPECT_EQ(c.Reason(kNamespaces, Named("billing")), "namespace of selected objects");
  EXPECT_EQ(c.Reason(kNamespaces, Named("kube-system")), std::nullopt);
  EXPECT_EQ(c.namespaces(), (std::set<std::string>{"billing", "shop"}));
  // A cluster-scoped object given to Observe by mistake records nothing.
  c.Observe(kNodes, Named("node-1"));
  EXPECT_EQ(c.namespaces().size(), 2u);
}

TEST(DependencyCollectorTest, CrdOfSelectedCustomResources) {
  DependencyCollector c;
  c.Observe(kDatabases, json::parse(R"({"apiVersion":"example.com/v1","kind":"Database",
    "metadata":{"name":"orders","namespace":"shop"},"spec":{"engine":"postgres"}})"));
  c.Observe(kDatabases, json::parse(R"({"metadata":{"name":"ledger","namespace":"billing"}})"));
  EXPECT_EQ(c.Reason(kCrds, json::parse(R"({"metadata":{"name":"databases.example.com"},
    "spec":{"group":"example.com","names":{"plural":"databases","kind":"Database"},
            "scope":"Namespaced"}})")),
            "defines databases.example.com used in namespace billing");  // smallest reason
  EXPECT_EQ(c.Reason(kCrds, Named("caches.example.com")), std::nullopt);
  EXPECT_EQ(c.Reason(kCrds, Named("databases.example.org")), std::nullopt);
}

TEST(DependencyCollectorTest, ClusterRoleBindingSubjects) {
  DependencyCollector c;
  c.Observe(kConfigMaps, json::parse(R"({"metadata":{"name":"cfg","namespace":"shop"}})"));
  const json crb = json::parse(R"({
    "metadata": {"name": "shop-app-view"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "User", "name": "alice"},
                 {"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]
  })");
  EXPECT_EQ(c.Reason(kClusterRoleBindings, crb), "binds ServiceAccount shop/app");
  EXPECT_EQ(c.Reason(kClusterRoleBindings, json::parse(R"({
    "metadata": {"name": "all-sa-in-shop"},
    "roleRef": {"kind": "ClusterRole", "name": "edit"},
    "subjects": [{"kind": "Group", "name": "system:serviceaccounts:shop"}]})")),
            "binds Group system:serviceaccounts:shop");
  // Negative: a ServiceAccount elsewhere, users and groups only, no subjects at all.
  EXPECT_EQ(c.Reason(kClusterRoleBindings, json::parse(R"({
    "metadata": {"name": "kube-proxy"},
    "roleRef": {"kind": "ClusterRole", "name": "system:node-proxier"},
    "subjects": [{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"},
                 {"kind": "Group", "name": "system:serviceaccounts:kube-system"},
                 {"kind": "User", "name": "shop"}]})")),
            std::nullopt);
  EXPECT_EQ(c.Reason(kClusterRoleBindings, Named("no-subjects")), std::nullopt);
}

TEST(DependencyCollectorTest, ClusterRolesFromRoleBindingsAndPulledInBindings) {
  DependencyCollector c;
  c.Observe(kRoleBindings, json::parse(R"({
    "metadata": {"name": "ci-edit", "namespace": "shop"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
    "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "shop"}]})"));
  c.Observe(kRoleBindings, json::parse(R"({
    "metadata": {"name": "local", "namespace": "shop"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "local-role"}})"));
  EXPECT_EQ(c.Reason(kClusterRoles, Named("edit")), "referenced by RoleBinding shop/ci-edit");
  EXPECT_EQ(c.Reason(kClusterRoles, Named("local-role")), std::nullopt);  // a Role, not a CR
  EXPECT_EQ(c.Reason(kClusterRoles, Named("shop-metrics-reader")), std::nullopt);

  // Second pass: a ClusterRoleBinding pulled in for its subject brings its ClusterRole.
  const json crb = json::parse(R"({
    "metadata": {"name": "shop-metrics"},
    "roleRef": {"kind": "ClusterRole", "name": "shop-metrics-reader"},
    "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "shop"}]})");
  ASSERT_EQ(c.Reason(kClusterRoleBindings, crb), "binds ServiceAccount shop/ci");
  c.ObserveCluster(kClusterRoleBindings, crb);
  EXPECT_EQ(c.Reason(kClusterRoles, Named("shop-metrics-reader")),
            "referenced by ClusterRoleBinding shop-metrics");
  EXPECT_LT(ClusterOrder(kClusterRoleBindings), ClusterOrder(kClusterRoles));
  EXPECT_LT(ClusterOrder(kPvs), ClusterOrder(kStorageClasses));
  EXPECT_LT(ClusterOrder(kSnapshotContents), ClusterOrder(kSnapshotClasses));
  EXPECT_EQ(ClusterOrder(kNamespaces), ClusterOrder(kCrds));
}

TEST(DependencyCollectorTest, PriorityClassesFromPodsAndTemplates) {
  DependencyCollector c;
  c.Observe(kCronJobs, json::parse(R"({
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "report", "namespace": "shop"},
    "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
      "priorityClassName": "batch-low", "runtimeClassName": "gvisor",
      "restartPolicy": "OnFailure", "containers": [{"name": "report", "image": "report:1"}]}}}}}
  })"));
  c.Observe(kDeployments, json::parse(R"({
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}},
             "spec": {"priorityClassName": "shop-critical", "containers": [{"name": "web"}]}}}
  })"));
  c.Observe(kPods, json::parse(R"({
    "metadata": {"name": "web-7d4b9-abcde", "namespace": "shop"},
    "spec": {"priorityClassName": "shop-critical", "priority": 1000000}})"));
  EXPECT_EQ(c.Reason(kPriorityClasses, Named("batch-low")), "used by CronJob shop/report");
  EXPECT_EQ(c.Reason(kPriorityClasses, Named("shop-critical")), "used by Deployment shop/web");
  EXPECT_EQ(c.Reason(kRuntimeClasses, Named("gvisor")), "used by CronJob shop/report");
  EXPECT_EQ(c.Reason(kPriorityClasses, Named("system-cluster-critical")), std::nullopt);
  // A CronJob's own spec has no pod spec: a priorityClassName there means nothing.
  DependencyCollector wrong_place;
  wrong_place.Observe(kCronJobs, json::parse(R"({"metadata":{"name":"x","namespace":"shop"},
    "spec":{"priorityClassName":"batch-low"}})"));
  EXPECT_EQ(wrong_place.Reason(kPriorityClasses, Named("batch-low")), std::nullopt);
}

TEST(DependencyCollectorTest, VolumeSnapshotClassesAndContents) {
  DependencyCollector c;
  c.Observe(kSnapshots, json::parse(R"({
    "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
    "metadata": {"name": "data-db-0-nightly", "namespace": "shop"},
    "spec": {"volumeSnapshotClassName": "csi-snap",
             "source": {"persistentVolumeClaimName": "data-db-0"}},
    "status": {"boundVolumeSnapshotContentName": "snapcontent-91ab", "readyToUse": true}})"));
  EXPECT_EQ(c.Reason(kSnapshotClasses, Named("csi-snap")),
            "used by VolumeSnapshot shop/data-db-0-nightly");
  EXPECT_EQ(c.Reason(kSnapshotClasses, Named("other-snap")), std::nullopt);
  const json content = json::parse(R"({
    "metadata": {"name": "snapcontent-91ab"},
    "spec": {"deletionPolicy": "Delete", "driver": "ebs.csi.aws.com",
             "volumeSnapshotClassName": "csi-snap-retain",
             "volumeSnapshotRef": {"name": "data-db-0-nightly", "namespace": "shop"}}})");
  ASSERT_EQ(c.Reason(kSnapshotContents, content), "bound to VolumeSnapshot shop/data-db-0-nightly");
  c.ObserveCluster(kSnapshotContents, content);
  EXPECT_EQ(c.Reason(kSnapshotClasses, Named("csi-snap-retain")),
            "used by VolumeSnapshotContent snapcontent-91ab");
  // A pre-provisioned content pointing at the snapshot by reference only.
  EXPECT_EQ(c.Reason(kSnapshotContents, json::parse(R"({"metadata":{"name":"imported"},
    "spec":{"volumeSnapshotRef":{"name":"data-db-0-nightly","namespace":"shop"}}})")),
            "bound to VolumeSnapshot shop/data-db-0-nightly");
  EXPECT_EQ(c.Reason(kSnapshotContents, json::parse(R"({"metadata":{"name":"elsewhere"},
    "spec":{"volumeSnapshotRef":{"name":"x","namespace":"billing"}}})")),
            std::nullopt);
}

TEST(DependencyCollectorTest, IngressClasses) {
  DependencyCollector c;
  c.Observe(kIngresses, json::parse(R"({"metadata":{"name":"web","namespace":"shop"},
    "spec":{"ingressClassName":"nginx","rules":[{"host":"shop.example.com"}]}})"));
  EXPECT_EQ(c.Reason(kIngressClasses, Named("nginx")), "used by Ingress shop/web");
  EXPECT_EQ(c.Reason(kIngressClasses, Named("traefik")), std::nullopt);
}

TEST(DependencyCollectorTest, NothingObservedNothingNeeded) {
  const DependencyCollector c;
  for (const kube::ApiResource* r :
       {&kNamespaces, &kPvs, &kStorageClasses, &kCrds, &kClusterRoles, &kClusterRoleBindings,
        &kPriorityClasses, &kSnapshotClasses, &kSnapshotContents, &kNodes}) {
    EXPECT_EQ(c.Reason(*r, Named("anything")), std::nullopt) << r->resource;
  }
  // Unnamed objects are never pulled in.
  EXPECT_EQ(c.Reason(kNamespaces, json::object()), std::nullopt);
}

TEST(DependencyCollectorTest, ReasonDoesNotDependOnArrivalOrder) {
  auto pvc = [](std::string ns, std::string name) {
    json j = kPvc;
    j["metadata"]["namespace"] = ns;
    j["metadata"]["name"] = name;
    j["spec"].erase("volumeName");
    return j;
  };
  std::vector<json> objects = {pvc("shop", "b"), pvc("billing", "z"), pvc("shop", "a")};
  DependencyCollector forward, backward;
  for (const json& o : objects) forward.Observe(kPvcs, o);
  std::reverse(objects.begin(), objects.end());
  for (const json& o : objects) backward.Observe(kPvcs, o);
  EXPECT_EQ(forward.Reason(kStorageClasses, Named("fast-ssd")), "used by PVC billing/z");
  EXPECT_EQ(backward.Reason(kStorageClasses, Named("fast-ssd")), "used by PVC billing/z");
}

TEST(DependencyCollectorTest, ConcurrentObservers) {
  DependencyCollector c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 500; ++i) {
        c.Observe(kConfigMaps, json{{"metadata",
                                     {{"name", "cm-" + std::to_string(i)},
                                      {"namespace", "ns-" + std::to_string((t * 500 + i) % 7)}}}});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.namespaces().size(), 7u);
}

}  // namespace
}  // namespace cairn::ops::backup
