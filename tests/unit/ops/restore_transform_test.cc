// Tests of ops/restore/transform: every transformation and DiffersFromLive.
#include <gtest/gtest.h>

#include "ops/restore/transform.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

EntryRef Entry(std::string path) {
  auto e = ParseEntryPath(path);
  EXPECT_TRUE(e.has_value()) << path;
  return e.value_or(EntryRef{});
}

// Runs Transform and returns the object (null on error, with a test failure).
json Xform(const std::string& path, json obj, const RestoreOptions& o,
           std::set<std::string> restored_pvs = {}, bool custom = false) {
  TransformContext ctx{&o, std::move(restored_pvs), custom, {}};
  base::Result<json> r = Transform(Entry(path), std::move(obj), ctx);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

const RestoreOptions kDefaults;

TEST(Transform, DropsServerMetadataAndStatus) {
  json obj = json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "shop", "uid": "u", "resourceVersion": "7",
      "generation": 2, "creationTimestamp": "2024-01-01T00:00:00Z",
      "deletionTimestamp": "2024-01-02T00:00:00Z", "deletionGracePeriodSeconds": 30,
      "managedFields": [{"manager": "kubectl"}], "selfLink": "/api/v1/x",
      "ownerReferences": [{"apiVersion": "v1", "kind": "Foo", "name": "f", "uid": "o"}],
      "finalizers": ["example.com/keep"], "annotations": {"a": "b"},
      "labels": {"app": "shop"}},
    "data": {"k": "v"},
    "status": {"whatever": true}
  })");
  const json out = Xform("resources/core/configmaps/v1/namespaces/shop/c.json", obj, kDefaults);
  EXPECT_EQ(out, json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "shop", "finalizers": ["example.com/keep"],
      "annotations": {"a": "b"}, "labels": {"app": "shop"}},
    "data": {"k": "v"}
  })"));
}

TEST(Transform, LabelsAdded) {
  RestoreOptions o;
  o.backup_name = "nightly-1";
  o.restore_name = "r-1";
  json out = Xform("resources/core/configmaps/v1/namespaces/shop/c.json",
                   {{"metadata", {{"name", "c"}}}}, o);
  EXPECT_EQ(out["metadata"]["labels"],
            json({{"cairn.io/backup-name", "nightly-1"}, {"cairn.io/restore-name", "r-1"}}));
  out = Xform("resources/core/configmaps/v1/namespaces/shop/c.json",
              {{"metadata", {{"name", "c"}, {"labels", {{"app", "x"}}}}}}, o);
  EXPECT_EQ(out["metadata"]["labels"], json({{"app", "x"},
                                             {"cairn.io/backup-name", "nightly-1"},
                                             {"cairn.io/restore-name", "r-1"}}));
  // A labels member of the wrong type is replaced.
  out = Xform("resources/core/namespaces/v1/cluster/shop.json",
              {{"metadata", {{"name", "shop"}, {"labels", nullptr}}}}, o);
  EXPECT_EQ(out["metadata"]["labels"].size(), 2u);
  EXPECT_FALSE(out["metadata"].contains("namespace"));
}

TEST(Transform, RejectsWhatIsNotAnObject) {
  TransformContext ctx{&kDefaults, {}, false, {}};
  const EntryRef e = Entry("resources/core/configmaps/v1/namespaces/shop/c.json");
  for (const json& bad :
       {json(), json::array(), json("x"), json{{"metadata", "x"}}, json{{"kind", "ConfigMap"}}}) {
    base::Result<json> r = Transform(e, bad, ctx);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              "unable to transform 'resources/core/configmaps/v1/namespaces/shop/c.json': not a "
              "kubernetes object (no metadata object)");
  }
  TransformContext no_options;
  EXPECT_FALSE(Transform(e, {{"metadata", json::object()}}, no_options).ok());
}

TEST(Transform, CustomResourceStatusOnlyWithRestoreStatus) {
  const json widget = {{"metadata", {{"name", "w"}}}, {"status", {{"ready", true}}}};
  const std::string path = "resources/example.com/widgets/v1/namespaces/a/w.json";
  RestoreOptions o;
  EXPECT_FALSE(Xform(path, widget, o, {}, true).contains("status"));
  o.restore_status = true;
  EXPECT_EQ(Xform(path, widget, o, {}, true)["status"], json({{"ready", true}}));
  // Built-in resources never keep their status.
  EXPECT_FALSE(Xform("resources/apps/deployments/v1/namespaces/a/w.json", widget, o, {}, false)
                   .contains("status"));
}

// --- Services ---------------------------------------------------------------------------------

json Service(json spec, json annotations = json::object()) {
  return {{"kind", "Service"},
          {"metadata", {{"name", "web"}, {"annotations", annotations}}},
          {"spec", spec},
          {"status", {{"loadBalancer", {{"ingress", {{{"ip", "1.2.3.4"}}}}}}}}};
}

const char kSvc[] = "resources/core/services/v1/namespaces/shop/web.json";

TEST(Transform, ServiceClusterIp) {
  json out = Xform(kSvc,
                   Service({{"type", "ClusterIP"},
                            {"clusterIP", "10.0.0.5"},
                            {"clusterIPs", {"10.0.0.5"}},
                            {"ports", {{{"port", 80}, {"targetPort", 8080}}}}}),
                   kDefaults);
  EXPECT_EQ(out["spec"],
            json({{"type", "ClusterIP"}, {"ports", {{{"port", 80}, {"targetPort", 8080}}}}}));
  EXPECT_FALSE(out.contains("status"));
}

TEST(Transform, HeadlessServiceKeepsNone) {
  const json spec = {{"clusterIP", "None"}, {"clusterIPs", {"None"}}, {"ports", json::array()}};
  EXPECT_EQ(Xform(kSvc, Service(spec), kDefaults)["spec"], spec);
}

TEST(Transform, NodePortsDroppedUnlessPreserved) {
  const json spec = {{"type", "NodePort"},
                     {"clusterIP", "10.0.0.5"},
                     {"ports", {{{"port", 80}, {"nodePort", 30080}}, {{"port", 443}}}}};
  EXPECT_EQ(Xform(kSvc, Service(spec), kDefaults)["spec"]["ports"],
            json({{{"port", 80}}, {{"port", 443}}}));
  RestoreOptions o;
  o.preserve_node_ports = true;
  const json kept = Xform(kSvc, Service(spec), o)["spec"];
  EXPECT_EQ(kept["ports"], spec["ports"]);
  EXPECT_FALSE(kept.contains("clusterIP"));
}

TEST(Transform, LoadBalancerHealthCheckNodePort) {
  const json spec = {{"type", "LoadBalancer"},
                     {"externalTrafficPolicy", "Local"},
                     {"healthCheckNodePort", 32000},
                     {"clusterIP", "10.0.0.9"},
                     {"clusterIPs", {"10.0.0.9", "fd00::9"}},
                     {"ports", {{{"port", 80}, {"nodePort", 31000}}}}};
  EXPECT_EQ(Xform(kSvc, Service(spec), kDefaults)["spec"], json({{"type", "LoadBalancer"},
                                                                 {"externalTrafficPolicy", "Local"},
                                                                 {"ports", {{{"port", 80}}}}}));
  RestoreOptions o;
  o.preserve_node_ports = true;
  const json kept = Xform(kSvc, Service(spec), o)["spec"];
  EXPECT_EQ(kept["healthCheckNodePort"], 32000);
  EXPECT_EQ(kept["ports"][0]["nodePort"], 31000);
}

TEST(Transform, NodePortsTheUserWroteAreKept) {
  const json applied = {{"spec",
                         {{"type", "NodePort"},
                          {"healthCheckNodePort", 32000},
                          {"ports", {{{"port", 80}, {"nodePort", 30080}}}}}}};
  const json spec = {
      {"type", "NodePort"},
      {"healthCheckNodePort", 32000},
      {"ports", {{{"port", 80}, {"nodePort", 30080}}, {{"port", 81}, {"nodePort", 31111}}}}};
  const json out = Xform(
      kSvc, Service(spec, {{"kubectl.kubernetes.io/last-applied-configuration", applied.dump()}}),
      kDefaults)["spec"];
  EXPECT_EQ(out["healthCheckNodePort"], 32000);
  EXPECT_EQ(out["ports"], json({{{"port", 80}, {"nodePort", 30080}}, {{"port", 81}}}));
  // An annotation that does not parse is ignored.
  const json garbled = Xform(
      kSvc, Service(spec, {{"kubectl.kubernetes.io/last-applied-configuration", "{not json"}}),
      kDefaults)["spec"];
  EXPECT_EQ(garbled["ports"], json({{{"port", 80}}, {{"port", 81}}}));
}

TEST(Transform, ServiceOfOddShapeIsLeftAlone) {
  json out = Xform(kSvc, {{"metadata", {{"name", "web"}}}, {"spec", {{"ports", "x"}}}}, kDefaults);
  EXPECT_EQ(out["spec"], json({{"ports", "x"}}));
  out = Xform(kSvc, {{"metadata", {{"name", "web"}}}, {"spec", 5}}, kDefaults);
  EXPECT_EQ(out["spec"], 5);
}

// --- Volumes ----------------------------------------------------------------------------------

json Pvc() {
  return json::parse(R"({
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data", "namespace": "shop", "annotations": {
      "pv.kubernetes.io/bind-completed": "yes",
      "pv.kubernetes.io/bound-by-controller": "yes",
      "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
      "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
      "volume.kubernetes.io/selected-node": "node-1",
      "team": "storage"}},
    "spec": {"accessModes": ["ReadWriteMany", "ReadWriteOnce"], "storageClassName": "gp2",
             "volumeName": "pvc-123", "resources": {"requests": {"storage": "1Gi"}}},
    "status": {"phase": "Bound"}
  })");
}

const char kPvc[] = "resources/core/persistentvolumeclaims/v1/namespaces/shop/data.json";

TEST(Transform, PvcLosesBindingWhenItsVolumeIsNotRestored) {
  const json out = Xform(kPvc, Pvc(), kDefaults);
  EXPECT_FALSE(out["spec"].contains("volumeName"));
  EXPECT_EQ(out["metadata"]["annotations"], json({{"team", "storage"}}));
  EXPECT_FALSE(out.contains("status"));
}

TEST(Transform, PvcKeepsBindingWhenItsVolumeIsRestored) {
  const json out = Xform(kPvc, Pvc(), kDefaults, {"pvc-123"});
  EXPECT_EQ(out["spec"]["volumeName"], "pvc-123");
  // Marked bind-completed, the claim would be misbound (Lost) against a volume whose claimRef
  // has no uid: the controller binds them anew.
  json annotations = Pvc()["metadata"]["annotations"];
  annotations.erase("pv.kubernetes.io/bind-completed");
  annotations.erase("pv.kubernetes.io/bound-by-controller");
  EXPECT_EQ(out["metadata"]["annotations"], annotations);
  // Another PV restored is not this one.
  EXPECT_FALSE(Xform(kPvc, Pvc(), kDefaults, {"pvc-999"})["spec"].contains("volumeName"));
}

TEST(Transform, PvcMadeFromASnapshotGetsItsDataSource) {
  const json source = {{"apiGroup", "snapshot.storage.k8s.io"},
                       {"kind", "VolumeSnapshot"},
                       {"name", "cairn-b-data"}};
  const std::map<std::string, json> sources = {{"shop/data", source}};
  TransformContext ctx{&kDefaults, {}, false, {}, nullptr, &sources};
  base::Result<json> out = Transform(Entry(kPvc), Pvc(), ctx);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["spec"]["dataSource"], source);
  EXPECT_EQ((*out)["spec"]["dataSourceRef"], source);
  EXPECT_FALSE((*out)["spec"].contains("volumeName"));
  // Another claim of the backup is not made from it.
  const std::map<std::string, json> others = {{"shop/other", source}};
  TransformContext other{&kDefaults, {}, false, {}, nullptr, &others};
  out = Transform(Entry(kPvc), Pvc(), other);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*out)["spec"].contains("dataSource"));
}

TEST(Transform, StorageClassAndAccessModesOnPvc) {
  RestoreOptions o;
  o.storage_class_mapping = {{"gp2", "standard"}, {"other", "x"}};
  o.convert_to_access_modes = {{"ReadWriteMany", "ReadWriteOnce"}};
  json pvc = Pvc();
  pvc["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"] = "gp2";
  const json out = Xform(kPvc, pvc, o);
  EXPECT_EQ(out["spec"]["storageClassName"], "standard");
  EXPECT_EQ(out["spec"]["accessModes"], json({"ReadWriteOnce"}));  // deduplicated
  EXPECT_EQ(out["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"], "standard");
  // Unmapped values stay.
  pvc["spec"]["storageClassName"] = "fast";
  pvc["spec"]["accessModes"] = {"ReadOnlyMany", "ReadWriteMany"};
  const json out2 = Xform(kPvc, pvc, o);
  EXPECT_EQ(out2["spec"]["storageClassName"], "fast");
  EXPECT_EQ(out2["spec"]["accessModes"], json({"ReadOnlyMany", "ReadWriteOnce"}));
}

TEST(Transform, ConvertedSpecsReplaceTheBackedUpOnesAndTheFlagMappings) {
  RestoreOptions o;
  o.storage_class_mapping = {{"gp2", "standard"}, {"disk", "chained"}};
  o.convert_to_access_modes = {{"ReadWriteOnce", "ReadWriteOncePod"}};
  ConvertedSpecs converted;
  converted.storage_class_mapping = {{"gp2", "disk"}};
  converted.claims["shop/data"] = {{"accessModes", {"ReadWriteOnce"}},
                                   {"storageClassName", "disk"},
                                   {"volumeName", "pvc-123"},
                                   {"resources", {{"requests", {{"storage", "20Gi"}}}}}};
  converted.templates[ConvertedSpecs::TemplateKey("shop", "db", "pgdata")] = {
      {"storageClassName", "disk"}, {"resources", {{"requests", {{"storage", "20Gi"}}}}}};
  TransformContext ctx{&o, {}, false, {}, &converted};
  json pvc = Pvc();
  pvc["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"] = "gp2";
  auto out = Transform(Entry(kPvc), pvc, ctx);
  ASSERT_TRUE(out.ok());
  // The conversion's spec as it is (no chained flag mapping), minus what a restore always drops.
  EXPECT_EQ((*out)["spec"], json::parse(R"({"accessModes": ["ReadWriteOnce"],
      "storageClassName": "disk", "resources": {"requests": {"storage": "20Gi"}}})"));
  EXPECT_EQ((*out)["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"], "disk");
  // A claim the conversion did not rewrite follows the flags.
  auto other = Transform(
      Entry("resources/core/persistentvolumeclaims/v1/namespaces/shop/other.json"), Pvc(), ctx);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)["spec"]["storageClassName"], "standard");
  json sts = {
      {"kind", "StatefulSet"},
      {"metadata", {{"name", "db"}, {"namespace", "shop"}}},
      {"spec",
       {{"volumeClaimTemplates",
         {{{"metadata", {{"name", "pgdata"}}},
           {"spec",
            {{"storageClassName", "gp2"}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}},
          {{"metadata", {{"name", "logs"}}}, {"spec", {{"storageClassName", "gp2"}}}}}}}}};
  auto s = Transform(Entry("resources/apps/statefulsets/v1/namespaces/shop/db.json"), sts, ctx);
  ASSERT_TRUE(s.ok());
  const json& t = (*s)["spec"]["volumeClaimTemplates"];
  EXPECT_EQ(t[0]["spec"]["storageClassName"], "disk");
  EXPECT_EQ(t[0]["spec"]["resources"]["requests"]["storage"], "20Gi");
  EXPECT_EQ(t[1]["spec"]["storageClassName"], "standard");
}

TEST(Transform, PersistentVolume) {
  RestoreOptions o;
  o.namespace_mapping = {{"shop", "shop-copy"}};
  o.storage_class_mapping = {{"gp2", "standard"}};
  o.convert_to_access_modes = {{"ReadWriteMany", "ReadWriteOnce"}};
  const json pv = json::parse(R"({
    "kind": "PersistentVolume",
    "metadata": {"name": "pvc-123", "uid": "x", "annotations": {
      "pv.kubernetes.io/bound-by-controller": "yes",
      "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com"}},
    "spec": {"accessModes": ["ReadWriteOnce", "ReadWriteMany"], "storageClassName": "gp2",
             "persistentVolumeReclaimPolicy": "Retain",
             "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data",
                          "uid": "c-1", "resourceVersion": "99", "apiVersion": "v1"},
             "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}},
    "status": {"phase": "Bound"}
  })");
  const json out = Xform("resources/core/persistentvolumes/v1/cluster/pvc-123.json", pv, o);
  EXPECT_EQ(out, json::parse(R"({
    "kind": "PersistentVolume",
    "metadata": {"name": "pvc-123",
                 "annotations": {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com"}},
    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
             "persistentVolumeReclaimPolicy": "Retain",
             "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop-copy",
                          "name": "data", "apiVersion": "v1"},
             "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}
  })"));
}

TEST(Transform, StorageClassObjectsAreNotRenamed) {
  RestoreOptions o;
  o.storage_class_mapping = {{"gp2", "standard"}};
  const json sc = {{"kind", "StorageClass"},
                   {"metadata", {{"name", "gp2"}}},
                   {"provisioner", "ebs.csi.aws.com"}};
  EXPECT_EQ(Xform("resources/storage.k8s.io/storageclasses/v1/cluster/gp2.json", sc, o), sc);
}

TEST(Transform, StatefulSetVolumeClaimTemplates) {
  RestoreOptions o;
  o.storage_class_mapping = {{"gp2", "standard"}};
  o.convert_to_access_modes = {{"ReadWriteMany", "ReadWriteOnce"}};
  const json sts = json::parse(R"({
    "kind": "StatefulSet", "metadata": {"name": "db"},
    "spec": {"volumeClaimTemplates": [
      {"metadata": {"name": "data"},
       "spec": {"storageClassName": "gp2", "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}},
      {"metadata": {"name": "logs"}, "spec": {"accessModes": ["ReadWriteMany"]}},
      "garbage"
    ], "template": {"spec": {"containers": []}}}
  })");
  const json out = Xform("resources/apps/statefulsets/v1/namespaces/a/db.json", sts, o);
  const json& t = out["spec"]["volumeClaimTemplates"];
  EXPECT_EQ(t[0]["spec"],
            json({{"storageClassName", "standard"}, {"accessModes", {"ReadWriteOnce"}}}));
  EXPECT_EQ(t[1]["spec"], json({{"accessModes", {"ReadWriteOnce"}}}));
  EXPECT_EQ(t[2], "garbage");
}

// --- Namespaces -------------------------------------------------------------------------------

TEST(Transform, NamespaceMappingEverywhere) {
  RestoreOptions o;
  o.namespace_mapping = {{"shop", "shop-copy"}, {"billing", "billing-2"}};
  // metadata.namespace comes from the entry.
  EXPECT_EQ(
      Xform("resources/core/configmaps/v1/namespaces/shop/c.json",
            {{"metadata", {{"name", "c"}, {"namespace", "shop"}}}}, o)["metadata"]["namespace"],
      "shop-copy");
  EXPECT_EQ(Xform("resources/core/configmaps/v1/namespaces/other/c.json",
                  {{"metadata", {{"name", "c"}}}}, o)["metadata"]["namespace"],
            "other");
  // Namespace objects.
  const json ns = Xform(
      "resources/core/namespaces/v1/cluster/shop.json",
      {{"kind", "Namespace"},
       {"metadata", {{"name", "shop"}, {"labels", {{"kubernetes.io/metadata.name", "shop"}}}}},
       {"spec", {{"finalizers", {"kubernetes"}}}},
       {"status", {{"phase", "Active"}}}},
      o);
  EXPECT_EQ(ns["metadata"]["name"], "shop-copy");
  EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "shop-copy");
  EXPECT_FALSE(ns.contains("status"));
  // Bindings: ServiceAccount subjects only.
  const json binding = json::parse(R"({
    "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
    "subjects": [
      {"kind": "ServiceAccount", "name": "app", "namespace": "shop"},
      {"kind": "ServiceAccount", "name": "app", "namespace": "billing"},
      {"kind": "ServiceAccount", "name": "app", "namespace": "kept"},
      {"kind": "User", "name": "shop", "namespace": "shop"},
      {"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"},
      {"kind": "Group", "name": "system:serviceaccounts:shop"},
      {"kind": "User", "name": "system:serviceaccount:billing:deployer"},
      {"kind": "User", "name": "system:serviceaccount:other:deployer"},
      {"kind": "Group", "name": "system:serviceaccounts"}]
  })");
  for (const char* path :
       {"resources/rbac.authorization.k8s.io/clusterrolebindings/v1/cluster/b.json",
        "resources/rbac.authorization.k8s.io/rolebindings/v1/namespaces/shop/b.json"}) {
    const json out = Xform(path, binding, o);
    EXPECT_EQ(out["subjects"][0]["namespace"], "shop-copy") << path;
    EXPECT_EQ(out["subjects"][1]["namespace"], "billing-2") << path;
    EXPECT_EQ(out["subjects"][2]["namespace"], "kept") << path;
    EXPECT_EQ(out["subjects"][3]["namespace"], "shop") << path;
    EXPECT_FALSE(out["subjects"][4].contains("namespace")) << path;
    // Service accounts named as users and groups.
    EXPECT_EQ(out["subjects"][5]["name"], "system:serviceaccounts:shop-copy") << path;
    EXPECT_EQ(out["subjects"][6]["name"], "system:serviceaccount:billing-2:deployer") << path;
    EXPECT_EQ(out["subjects"][7]["name"], "system:serviceaccount:other:deployer") << path;
    EXPECT_EQ(out["subjects"][8]["name"], "system:serviceaccounts") << path;
  }
  // PV claimRef: TEST(Transform, PersistentVolume).
  EXPECT_EQ(MapNamespace("shop", o), "shop-copy");
  EXPECT_EQ(MapNamespace("x", o), "x");
}

TEST(Transform, NetworkPolicyNamespaceSelectorsFollowTheMapping) {
  RestoreOptions o;
  o.namespace_mapping = {{"shop", "shop-copy"}, {"billing", "billing-2"}};
  const json policy = json::parse(R"({
    "kind": "NetworkPolicy", "metadata": {"name": "allow"},
    "spec": {"podSelector": {},
      "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}},
        {"namespaceSelector": {"matchExpressions": [
          {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["billing", "x"]},
          {"key": "kubernetes.io/metadata.name", "operator": "Exists"}]},
         "podSelector": {"matchLabels": {"app": "shop"}}},
        {"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
      "egress": [{"to": [
        {"namespaceSelector": {"matchExpressions": [
          {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["shop"]}]}},
        {"namespaceSelector": {"matchLabels": {"name": "billing", "team": "shop-team"}}}]}]}
  })");
  const char* path = "resources/networking.k8s.io/networkpolicies/v1/namespaces/shop/allow.json";
  TransformNotes notes;
  TransformContext ctx{&o, {}, false, {}};
  auto r = Transform(Entry(path), policy, ctx, &notes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& from = (*r)["spec"]["ingress"][0]["from"];
  EXPECT_EQ(from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "shop-copy");
  EXPECT_EQ(from[1]["namespaceSelector"]["matchExpressions"][0]["values"],
            json({"billing-2", "x"}));
  EXPECT_EQ(from[1]["podSelector"], policy["spec"]["ingress"][0]["from"][1]["podSelector"]);
  EXPECT_EQ(from[2], policy["spec"]["ingress"][0]["from"][2]);
  const json& to = (*r)["spec"]["egress"][0]["to"];
  EXPECT_EQ(to[0]["namespaceSelector"]["matchExpressions"][0]["values"], json({"shop-copy"}));
  // A mapped namespace's name under another label cannot be mapped: kept, and a warning.
  EXPECT_EQ(to[1], policy["spec"]["egress"][0]["to"][1]);
  ASSERT_EQ(notes.warnings.size(), 1u);
  EXPECT_EQ(notes.warnings[0],
            "NetworkPolicy 'shop-copy/allow': the namespaceSelector of spec.egress[0].to[1] "
            "selects label 'name' = 'billing', the name of a namespace mapped to 'billing-2'; "
            "only the kubernetes.io/metadata.name label is mapped, so this selector is restored "
            "unchanged");
  EXPECT_EQ(NoteWarnings(notes, *r), notes.warnings);
  // Without a mapping nothing changes.
  EXPECT_EQ(Xform(path, policy, kDefaults)["spec"], policy["spec"]);
}

// --- Jobs -------------------------------------------------------------------------------------

// A Job as the API server stores it after `kubectl create job`.
json KubectlJob() {
  return json::parse(R"({
    "kind": "Job", "metadata": {"name": "report", "uid": "11-22",
      "labels": {"batch.kubernetes.io/controller-uid": "11-22", "app": "report"}},
    "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "11-22"}},
      "template": {"metadata": {"labels": {
        "batch.kubernetes.io/controller-uid": "11-22", "batch.kubernetes.io/job-name": "report",
        "controller-uid": "11-22", "job-name": "report", "app": "report"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "r", "image": "busybox"}]}}}
  })");
}

const char kJob[] = "resources/batch/jobs/v1/namespaces/shop/report.json";

TEST(Transform, JobLosesTheGeneratedSelectorAndLabels) {
  const json out = Xform(kJob, KubectlJob(), kDefaults);
  EXPECT_FALSE(out["spec"].contains("selector"));
  EXPECT_EQ(out["spec"]["template"]["metadata"]["labels"], json({{"app", "report"}}));
  EXPECT_EQ(out["spec"]["template"]["spec"], KubectlJob()["spec"]["template"]["spec"]);
  // The API server copied the template's labels to the Job: those copies go too, the
  // user's stay (and a label that only shares a key with a generated one).
  EXPECT_EQ(out["metadata"]["labels"], json({{"app", "report"}}));
  json own = KubectlJob();
  own["metadata"]["labels"]["job-name"] = "mine";
  EXPECT_EQ(Xform(kJob, own, kDefaults)["metadata"]["labels"],
            json({{"app", "report"}, {"job-name", "mine"}}));
  // Legacy (before 1.27) selectors carry the unprefixed key.
  json legacy = KubectlJob();
  legacy["spec"]["selector"] = {{"matchLabels", {{"controller-uid", "11-22"}}}};
  EXPECT_FALSE(Xform(kJob, legacy, kDefaults)["spec"].contains("selector"));
}

TEST(Transform, JobKeepsWhatTheUserSelected) {
  // A selector the user wrote next to the generated key keeps the user's part.
  json job = KubectlJob();
  job["spec"]["selector"]["matchLabels"]["app"] = "report";
  EXPECT_EQ(Xform(kJob, job, kDefaults)["spec"]["selector"],
            json({{"matchLabels", {{"app", "report"}}}}));
  // manualSelector: true is the user's selector and labels, kept whole.
  json manual = KubectlJob();
  manual["spec"]["manualSelector"] = true;
  manual["spec"]["selector"] = {{"matchLabels", {{"app", "report"}}}};
  json out = Xform(kJob, manual, kDefaults);
  EXPECT_EQ(out["spec"]["selector"], manual["spec"]["selector"]);
  EXPECT_EQ(out["spec"]["template"]["metadata"]["labels"],
            manual["spec"]["template"]["metadata"]["labels"]);
  // manualSelector: false is the default: generated parts go.
  manual["spec"]["manualSelector"] = false;
  out = Xform(kJob, manual, kDefaults);
  EXPECT_EQ(out["spec"]["template"]["metadata"]["labels"], json({{"app", "report"}}));
}

// --- Images -----------------------------------------------------------------------------------

TEST(MapImage, Prefixes) {
  RestoreOptions o;
  o.image_registry_mapping = {{"docker.io/library/", "mirror.example.com/lib/"},
                              {"docker.io/", "mirror.example.com/hub/"},
                              {"quay.io/", "mirror.example.com/quay/"},
                              {"quay.io/prom/", "mirror.example.com/prom/"}};
  auto map = [&](std::string image) { return MapImage(image, o).value_or("(unchanged)"); };
  EXPECT_EQ(map("docker.io/library/nginx:1.25"), "mirror.example.com/lib/nginx:1.25");
  EXPECT_EQ(map("nginx:1.25"), "mirror.example.com/lib/nginx:1.25");
  EXPECT_EQ(map("nginx@sha256:abc"), "mirror.example.com/lib/nginx@sha256:abc");
  EXPECT_EQ(map("bitnami/redis:7"), "mirror.example.com/hub/bitnami/redis:7");
  EXPECT_EQ(map("quay.io/prom/prometheus"), "mirror.example.com/prom/prometheus");  // longest
  EXPECT_EQ(map("quay.io/x/y"), "mirror.example.com/quay/x/y");
  EXPECT_EQ(map("registry.k8s.io/pause:3.9"), "(unchanged)");
  EXPECT_EQ(map("localhost/x"), "(unchanged)");
  EXPECT_EQ(map("myregistry:5000/x"), "(unchanged)");
  EXPECT_EQ(map(""), "(unchanged)");
}

json PodSpec() {
  return json::parse(R"({
    "nodeName": "node-1", "priority": 1000, "priorityClassName": "high",
    "initContainers": [{"name": "init", "image": "busybox:1.36"}],
    "containers": [{"name": "app", "image": "docker.io/library/nginx:1.25"},
                   {"name": "side", "image": "registry.k8s.io/pause:3.9"},
                   {"name": "odd", "image": 7}],
    "ephemeralContainers": [{"name": "debug", "image": "docker.io/library/alpine"}]
  })");
}

void ExpectMapped(const json& spec) {
  EXPECT_EQ(spec["initContainers"][0]["image"], "mirror.example.com/lib/busybox:1.36");
  EXPECT_EQ(spec["containers"][0]["image"], "mirror.example.com/lib/nginx:1.25");
  EXPECT_EQ(spec["containers"][1]["image"], "registry.k8s.io/pause:3.9");
  EXPECT_EQ(spec["containers"][2]["image"], 7);
  EXPECT_EQ(spec["ephemeralContainers"][0]["image"], "mirror.example.com/lib/alpine");
}

TEST(Transform, ImageMappingOnPodsAndEveryPodTemplate) {
  RestoreOptions o;
  o.image_registry_mapping = {{"docker.io/library/", "mirror.example.com/lib/"}};
  const json pod = Xform("resources/core/pods/v1/namespaces/a/p.json",
                         {{"metadata", {{"name", "p"}}}, {"spec", PodSpec()}}, o);
  ExpectMapped(pod["spec"]);
  EXPECT_FALSE(pod["spec"].contains("nodeName"));
  EXPECT_FALSE(pod["spec"].contains("priority"));
  EXPECT_EQ(pod["spec"]["priorityClassName"], "high");

  const json templated = {{"metadata", {{"name", "w"}}},
                          {"spec", {{"template", {{"spec", PodSpec()}}}}}};
  for (const char* path : {"resources/apps/deployments/v1/namespaces/a/w.json",
                           "resources/apps/statefulsets/v1/namespaces/a/w.json",
                           "resources/apps/daemonsets/v1/namespaces/a/w.json",
                           "resources/apps/replicasets/v1/namespaces/a/w.json",
                           "resources/core/replicationcontrollers/v1/namespaces/a/w.json",
                           "resources/batch/jobs/v1/namespaces/a/w.json"}) {
    const json out = Xform(path, templated, o);
    SCOPED_TRACE(path);
    ExpectMapped(out["spec"]["template"]["spec"]);
    // Pod templates keep nodeName (a deliberate pin) and priority is not theirs to drop.
    EXPECT_EQ(out["spec"]["template"]["spec"]["nodeName"], "node-1");
  }
  const json cron =
      Xform("resources/batch/cronjobs/v1/namespaces/a/c.json",
            {{"metadata", {{"name", "c"}}},
             {"spec", {{"jobTemplate", {{"spec", {{"template", {{"spec", PodSpec()}}}}}}}}}},
            o);
  ExpectMapped(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
  const json pt = Xform("resources/core/podtemplates/v1/namespaces/a/t.json",
                        {{"metadata", {{"name", "t"}}}, {"template", {{"spec", PodSpec()}}}}, o);
  ExpectMapped(pt["template"]["spec"]);
  // Other resources are not touched, even with a pod-like shape.
  const json other = Xform("resources/example.com/widgets/v1/namespaces/a/w.json", templated, o);
  EXPECT_EQ(other["spec"]["template"]["spec"]["containers"][0]["image"],
            "docker.io/library/nginx:1.25");
  // Missing or odd templates are left alone.
  EXPECT_TRUE(Xform("resources/batch/cronjobs/v1/namespaces/a/c.json",
                    {{"metadata", {{"name", "c"}}}, {"spec", {{"jobTemplate", 3}}}}, o)
                  .is_object());
}

// --- DiffersFromLive --------------------------------------------------------------------------

TEST(DiffersFromLive, Cases) {
  const json desired = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop",
                 "labels": {"app": "web", "cairn.io/backup-name": "b2",
                            "cairn.io/restore-name": "r2"},
                 "annotations": {"deployment.kubernetes.io/revision": "3", "team": "a"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx"}],
                                   "securityContext": {}}}}
  })");
  json live = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "uid": "x", "resourceVersion": "5",
                 "labels": {"app": "web", "cairn.io/restore-name": "r1", "extra": "y"},
                 "annotations": {"deployment.kubernetes.io/revision": "1", "team": "a"},
                 "managedFields": []},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "progressDeadlineSeconds": 600,
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx",
                                                   "imagePullPolicy": "Always"}],
                                   "restartPolicy": "Always"}}},
    "status": {"replicas": 2}
  })");
  EXPECT_FALSE(DiffersFromLive(desired, live));  // defaults, server metadata, cairn labels

  json changed = live;
  changed["spec"]["replicas"] = 3;
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["spec"]["template"]["spec"]["containers"].push_back({{"name", "side"}});
  EXPECT_TRUE(DiffersFromLive(desired, changed));  // arrays compare by length too
  changed = live;
  changed["metadata"]["labels"]["app"] = "other";
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["metadata"]["annotations"].erase("team");
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["metadata"].erase("annotations");
  changed["metadata"]["annotations"] = {{"team", "a"}};
  EXPECT_FALSE(DiffersFromLive(desired, changed));  // the revision annotation is ignored
  changed = live;
  changed["spec"].erase("selector");
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["spec"] = "odd";
  EXPECT_TRUE(DiffersFromLive(desired, changed));
  changed = live;
  changed["status"] = {{"replicas", 0}};
  EXPECT_FALSE(DiffersFromLive(desired, changed));  // status is never compared

  // Numbers compare by value whatever their JSON representation.
  EXPECT_FALSE(DiffersFromLive(json{{"spec", {{"n", 1}}}}, json{{"spec", {{"n", 1.0}}}}));
  EXPECT_TRUE(DiffersFromLive(json{{"spec", {{"n", 1}}}}, json{{"spec", {{"n", "1"}}}}));
  // Shapes that are not objects.
  EXPECT_TRUE(DiffersFromLive(json::object(), json::array()));
  EXPECT_FALSE(DiffersFromLive(json::object(), json::object()));
}

TEST(DiffersFromLive, RestoredServiceAgainstItsLiveSelf) {
  RestoreOptions o;
  o.backup_name = "b";
  o.restore_name = "r2";
  const json backed_up = Service({{"type", "NodePort"},
                                  {"clusterIP", "10.0.0.5"},
                                  {"clusterIPs", {"10.0.0.5"}},
                                  {"ports", {{{"port", 80}, {"nodePort", 30080}}}}});
  const json desired = Xform(kSvc, backed_up, o);
  json live = backed_up;  // restored earlier: other IPs and ports, an older restore label
  live["spec"]["clusterIP"] = "10.9.9.9";
  live["spec"]["clusterIPs"] = {"10.9.9.9"};
  live["spec"]["ports"][0]["nodePort"] = 31999;
  live["metadata"]["labels"] = {{"cairn.io/backup-name", "a"}, {"cairn.io/restore-name", "r1"}};
  live["metadata"]["namespace"] = "shop";
  EXPECT_FALSE(DiffersFromLive(desired, live));
  live["spec"]["ports"][0]["port"] = 81;
  EXPECT_TRUE(DiffersFromLive(desired, live));
}

}  // namespace
}  // namespace cairn::ops::restore
