#include "ops/convert/rules.h"

#include <gtest/gtest.h>

#include "content/spool.h"
#include "ops/convert/plan.h"

namespace cairn::ops::convert {
namespace {

using nlohmann::json;

json ClaimSpec(const std::string& cls, const std::vector<std::string>& modes,
               const std::string& size, const std::string& volume_mode = "Filesystem") {
  return {{"storageClassName", cls},
          {"accessModes", modes},
          {"volumeMode", volume_mode},
          {"resources", {{"requests", {{"storage", size}}}}}};
}

class RulesTest : public ::testing::Test {
 protected:
  RulesTest() {
    target_.classes["disk"] = {"disk", "diskplugin.csi.alibabacloud.com", "WaitForFirstConsumer"};
    target_.classes["disk-now"] = {"disk-now", "diskplugin.csi.alibabacloud.com", "Immediate"};
    target_.classes["nas"] = {"nas", "nasplugin.csi.alibabacloud.com", "Immediate"};
    target_.classes["rbd"] = {"rbd", "rbd.csi.ceph.com", "Immediate"};
    target_.classes["odd"] = {"odd", "example.com/odd", "Immediate"};
    rules_.table = &table_;
    rules_.target = &target_;
  }
  ClaimResult CheckPvc(const json& spec, ClaimKind kind = ClaimKind::kPvc) {
    return Check({kind, "PVC shop/data", spec}, rules_);
  }
  std::string Only(const ClaimResult& r, const char* severity) {
    EXPECT_EQ(r.issues.size(), 1u);
    if (r.issues.size() != 1) return "";
    EXPECT_EQ(r.issues[0].severity, severity);
    return r.issues[0].message;
  }

  CapabilityTable table_;
  Target target_;
  Rules rules_;
};

TEST_F(RulesTest, MissingTargetClassFails) {
  rules_.storage_class_mapping = {{"old", "fast"}};
  ClaimResult r = CheckPvc(ClaimSpec("old", {"ReadWriteOnce"}, "30Gi"));
  EXPECT_EQ(Only(r, "error"),
            "storageclass 'fast' not exists in the target cluster (PVC shop/data maps "
            "storageclass 'old' to it)");
  EXPECT_EQ(r.issues[0].object, "PVC shop/data");
  EXPECT_EQ(r.issues[0].storage_class, "fast");
}

TEST_F(RulesTest, ImmediateZonalClassFailsOnlyInAMultiZoneCluster) {
  rules_.storage_class_mapping = {{"old", "disk-now"}};
  json spec = ClaimSpec("old", {"ReadWriteOnce"}, "30Gi");
  target_.zones = {"a"};
  EXPECT_TRUE(CheckPvc(spec).issues.empty());
  target_.zones = {"a", "b"};
  std::string m = Only(CheckPvc(spec), "error");
  EXPECT_EQ(m.rfind("current cluster is multi-zoned: storageclass 'disk-now' binds immediately "
                    "and would pin volumes to one zone (PVC shop/data",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("\nHINT: map it to a StorageClass with volumeBindingMode: "
                   "WaitForFirstConsumer"),
            std::string::npos);
  // Not zonal (a shared file system) or binding late: fine.
  rules_.storage_class_mapping = {{"old", "nas"}};
  EXPECT_TRUE(CheckPvc(spec).issues.empty());
  rules_.storage_class_mapping = {{"old", "disk"}};
  EXPECT_TRUE(CheckPvc(spec).issues.empty());
}

TEST_F(RulesTest, MultiNodeModesNeedAMultiNodeProvisioner) {
  rules_.storage_class_mapping = {{"old", "disk"}};
  json rwx = ClaimSpec("old", {"ReadWriteMany"}, "30Gi");
  const std::string m = Only(CheckPvc(rwx), "error");
  EXPECT_EQ(m.rfind("multi-node writing is only supported for block volume or shared file "
                    "systems: PVC shop/data is ReadWriteMany, storageclass 'disk' (provisioner "
                    "diskplugin.csi.alibabacloud.com) is single-node\nHINT: "
                    "--convert-to-access-modes ReadWriteMany=ReadWriteOnce",
                    0),
            0u)
      << m;
  EXPECT_NE(Only(CheckPvc(ClaimSpec("old", {"ReadOnlyMany"}, "30Gi")), "error")
                .find("PVC shop/data is ReadOnlyMany"),
            std::string::npos);
  // Converted to ReadWriteOnce (duplicates dropped): fine.
  rules_.access_mode_mapping = {{"ReadWriteMany", "ReadWriteOnce"}};
  ClaimResult r = CheckPvc(ClaimSpec("old", {"ReadWriteOnce", "ReadWriteMany"}, "30Gi"));
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.spec["accessModes"], json::array({"ReadWriteOnce"}));
  // Ceph RBD attaches raw block volumes to several nodes, file systems to one.
  rules_.access_mode_mapping.clear();
  rules_.storage_class_mapping = {{"old", "rbd"}};
  EXPECT_TRUE(CheckPvc(ClaimSpec("old", {"ReadWriteMany"}, "1Gi", "Block")).issues.empty());
  EXPECT_EQ(CheckPvc(ClaimSpec("old", {"ReadWriteMany"}, "1Gi")).issues.size(), 1u);
  rules_.storage_class_mapping = {{"old", "nas"}};
  EXPECT_TRUE(CheckPvc(rwx).issues.empty());
}

TEST_F(RulesTest, SizeBelowTheMinimumIsRaisedWithAWarning) {
  rules_.storage_class_mapping = {{"old", "disk"}};
  ClaimResult r = CheckPvc(ClaimSpec("old", {"ReadWriteOnce"}, "5Gi"));
  EXPECT_EQ(Only(r, "warning"),
            "PVC shop/data requests 5Gi, below the minimum of storageclass 'disk' (provisioner "
            "diskplugin.csi.alibabacloud.com): raised from 5Gi to 20Gi");
  EXPECT_TRUE(r.size_raised);
  EXPECT_EQ(r.spec["resources"]["requests"]["storage"], "20Gi");
  EXPECT_EQ(r.spec["storageClassName"], "disk");
  EXPECT_TRUE(r.changed);
  // At or above the minimum: unchanged size. PVs keep their capacity.
  EXPECT_TRUE(CheckPvc(ClaimSpec("old", {"ReadWriteOnce"}, "20Gi")).issues.empty());
  json pv = {{"storageClassName", "old"}, {"capacity", {{"storage", "1Gi"}}}};
  ClaimResult p = CheckPvc(pv, ClaimKind::kPv);
  EXPECT_TRUE(p.issues.empty());
  EXPECT_EQ(p.spec["capacity"]["storage"], "1Gi");
}

TEST_F(RulesTest, UnmappedClassMissingInTargetIsAWarning) {
  ClaimResult r = CheckPvc(ClaimSpec("legacy", {"ReadWriteOnce"}, "1Gi"));
  EXPECT_EQ(Only(r, "warning"),
            "PVC shop/data uses storageclass 'legacy', which has no mapping and does not exist "
            "in the target cluster: it will stay Pending until a class 'legacy' exists");
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(CheckPvc(ClaimSpec("disk", {"ReadWriteOnce"}, "1Gi")).issues.empty());
  // No class at all (the default class): left alone.
  json spec = ClaimSpec("x", {"ReadWriteOnce"}, "1Gi");
  spec.erase("storageClassName");
  EXPECT_TRUE(CheckPvc(spec).issues.empty());
}

TEST(PlanTest, ConvertsClaimsAndTemplatesAndWarnsAboutUnknownProvisioners) {
  content::Spool spool;
  auto add = [&](content::EntryRef ref, std::string_view kind, const json& obj) {
    ASSERT_TRUE(spool.Add(ref, kind, obj.dump()).ok());
  };
  add({"", "persistentvolumeclaims", "v1", "shop", "data"}, "PersistentVolumeClaim",
      {{"apiVersion", "v1"},
       {"kind", "PersistentVolumeClaim"},
       {"metadata", {{"name", "data"}, {"namespace", "shop"}}},
       {"spec", ClaimSpec("old", {"ReadWriteOnce"}, "1Gi")}});
  add({"apps", "statefulsets", "v1", "shop", "db"}, "StatefulSet",
      {{"apiVersion", "apps/v1"},
       {"kind", "StatefulSet"},
       {"metadata", {{"name", "db"}, {"namespace", "shop"}}},
       {"spec",
        {{"volumeClaimTemplates",
          {{{"metadata", {{"name", "pgdata"}}},
            {"spec", ClaimSpec("old", {"ReadWriteOnce"}, "1Gi")}}}}}}});
  ASSERT_TRUE(spool.Finish().ok());
  Target target;
  target.classes["odd"] = {"odd", "example.com/odd", "Immediate"};
  target.zones = {"a", "b"};
  CapabilityTable table;
  auto plan = MakePlan(spool, {"b1", "sha256:x", "c1", {{"old", "odd"}}, {}, &table, &target});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->pvcs, 1);
  EXPECT_EQ(plan->templates, 1);
  ASSERT_EQ(plan->conversion.objects.size(), 2u);
  EXPECT_EQ(plan->conversion.objects[0].resource, "persistentvolumeclaims");
  EXPECT_EQ(plan->conversion.objects[1].template_name, "pgdata");
  EXPECT_EQ(plan->conversion.objects[1].spec["storageClassName"], "odd");
  EXPECT_EQ(plan->errors(), 0);  // unknown: capable, even Immediate in two zones
  ASSERT_EQ(plan->warnings(), 1);
  EXPECT_NE(plan->conversion.validation[0].message.find(
                "uses provisioner 'example.com/odd', which cairn does not know"),
            std::string::npos);
  const std::string text = FormatPlan(*plan);
  EXPECT_NE(text.find("PVC shop/data: class old -> odd, access modes ReadWriteOnce, size 1Gi"),
            std::string::npos)
      << text;
  // The same input makes the same document (what makes a rerun a no-op).
  auto again = MakePlan(spool, {"b1", "sha256:x", "c1", {{"old", "odd"}}, {}, &table, &target});
  EXPECT_EQ(content::SerializeConversion(again->conversion),
            content::SerializeConversion(plan->conversion));
  auto parsed = content::ParseConversion(content::SerializeConversion(plan->conversion), "x");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(content::SerializeConversion(*parsed), content::SerializeConversion(plan->conversion));
}

}  // namespace
}  // namespace cairn::ops::convert
