#include "mover/placement.h"

#include <gtest/gtest.h>

namespace cairn::mover {
namespace {

using nlohmann::json;

json Pvc(const std::string& name, const std::string& mode) {
  return {{"metadata", {{"name", name}, {"namespace", "shop"}}},
          {"spec", {{"accessModes", {mode}}}}};
}

json Pod(const std::string& name, const std::string& claim, const std::string& node,
         const std::string& phase = "Running") {
  return {{"metadata", {{"name", name}, {"namespace", "shop"}}},
          {"spec",
           {{"nodeName", node},
            {"securityContext",
             {{"runAsUser", 1000},
              {"runAsGroup", 2000},
              {"fsGroup", 3000},
              {"supplementalGroups", {4000, 4001}}}},
            {"tolerations", {{{"key", "dedicated"}, {"operator", "Exists"}}}},
            {"containers", {{{"name", "app"}}}},
            {"volumes", {{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", claim}}}}}}}},
          {"status", {{"phase", phase}}}};
}

TEST(Placement, ReadWriteOnceInUseIsPinnedToThePodsNode) {
  std::vector<json> pods = {Pod("other", "x", "n0"), Pod("db-0", "data", "n2")};
  auto p = Place(Pvc("data", "ReadWriteOnce"), pods, false);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->node_name, "n2");
  EXPECT_EQ(p->workload_pod, "db-0");
  EXPECT_TRUE(p->mountable);
  EXPECT_EQ(*p->identity.uid, 1000);
  EXPECT_EQ(*p->identity.gid, 2000);
  EXPECT_EQ(*p->identity.fs_group, 3000);
  EXPECT_EQ(p->identity.supplemental_groups, (std::vector<int64_t>{4000, 4001}));
  EXPECT_EQ(p->tolerations.size(), 1u);
  EXPECT_FALSE(p->identity.root);
}

TEST(Placement, ReadWriteManyAndUnusedGoAnywhere) {
  std::vector<json> pods = {Pod("web", "shared", "n1")};
  auto rwx = Place(Pvc("shared", "ReadWriteMany"), pods, false);
  ASSERT_TRUE(rwx.ok());
  EXPECT_EQ(rwx->node_name, "");
  EXPECT_EQ(rwx->workload_pod, "web");  // identity and tolerations still from the workload
  EXPECT_EQ(*rwx->identity.uid, 1000);
  auto unused = Place(Pvc("idle", "ReadWriteOnce"), pods, false);
  ASSERT_TRUE(unused.ok());
  EXPECT_EQ(unused->node_name, "");
  EXPECT_EQ(unused->workload_pod, "");
  EXPECT_FALSE(unused->identity.uid.has_value());
}

TEST(Placement, FinishedPodsDoNotHoldTheClaim) {
  std::vector<json> pods = {Pod("done", "data", "n1", "Succeeded")};
  json deleting = Pod("going", "data", "n3");
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  pods.push_back(deleting);
  auto p = Place(Pvc("data", "ReadWriteOnce"), pods, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->node_name, "");
}

TEST(Placement, BoundAccessModesWinOverRequested) {
  json pvc = Pvc("data", "ReadWriteOnce");
  pvc["status"]["accessModes"] = {"ReadWriteMany"};
  auto p = Place(pvc, {Pod("a", "data", "n1")}, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->access_mode, "ReadWriteMany");
  EXPECT_EQ(p->node_name, "");
}

TEST(Placement, ReadWriteOncePodInUseIsNotMountable) {
  auto p = Place(Pvc("data", "ReadWriteOncePod"), {Pod("db-0", "data", "n1")}, false);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->mountable);
  EXPECT_NE(p->reason.find("shop/data"), std::string::npos);
  EXPECT_NE(p->reason.find("db-0"), std::string::npos);
  auto unused = Place(Pvc("data", "ReadWriteOncePod"), {}, false);
  ASSERT_TRUE(unused.ok());
  EXPECT_TRUE(unused->mountable);
}

TEST(Placement, ContainerSecurityContextOverridesThePods) {
  json pod = Pod("a", "data", "n1");
  pod["spec"]["containers"][0]["securityContext"] = {{"runAsUser", 7}, {"runAsGroup", 8}};
  Identity id = PodIdentity(pod);
  EXPECT_EQ(*id.uid, 7);
  EXPECT_EQ(*id.gid, 8);
  EXPECT_EQ(*id.fs_group, 3000);  // pod-level only
}

json RootPod(bool explicit_zero) {
  json pod = Pod("root-app", "data", "n1");
  pod["spec"]["securityContext"] = json::object();
  if (explicit_zero) pod["spec"]["securityContext"]["runAsUser"] = 0;
  return pod;
}

TEST(Placement, RootWorkloadNeedsMoverPrivileged) {
  for (bool zero : {true, false}) {
    auto refused = Place(Pvc("data", "ReadWriteOnce"), {RootPod(zero)}, false);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), base::Code::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find("shop/data"), std::string::npos);
    EXPECT_NE(refused.status().message().find("root-app"), std::string::npos);
    EXPECT_NE(refused.status().hint().find("mover_privileged = true"), std::string::npos);
    auto allowed = Place(Pvc("data", "ReadWriteOnce"), {RootPod(zero)}, true);
    ASSERT_TRUE(allowed.ok());
    EXPECT_TRUE(allowed->identity.root);
    EXPECT_TRUE(allowed->identity.privileged);
  }
}

TEST(Placement, UnsetUserWithRunAsNonRootIsNotRoot) {
  json pod = RootPod(false);
  pod["spec"]["securityContext"]["runAsNonRoot"] = true;
  auto p = Place(Pvc("data", "ReadWriteOnce"), {pod}, false);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->identity.root);
  EXPECT_FALSE(p->identity.uid.has_value());
}

TEST(Placement, NodePolicyNames) {
  EXPECT_EQ(*ParseNodePolicy("prefer"), NodePolicy::kPrefer);
  EXPECT_EQ(NodePolicyName(*ParseNodePolicy("include")), "include");
  auto bad = ParseNodePolicy("all");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'all'"), std::string::npos);
}

}  // namespace
}  // namespace cairn::mover
