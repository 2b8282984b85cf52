#include "ops/convert/capabilities.h"

#include <gtest/gtest.h>

#include <set>

namespace cairn::ops::convert {
namespace {

constexpr uint64_t kGi = uint64_t{1} << 30;

TEST(CapabilityTableTest, KnowsTheWellKnownDrivers) {
  CapabilityTable t;
  std::set<std::string> names;
  for (const auto& b : BuiltinProvisioners()) names.insert(std::string(b.name));
  for (const char* n : {"ebs.csi.aws.com", "efs.csi.aws.com", "pd.csi.storage.gke.io",
                        "filestore.csi.storage.gke.io", "disk.csi.azure.com", "file.csi.azure.com",
                        "diskplugin.csi.alibabacloud.com", "nasplugin.csi.alibabacloud.com",
                        "ossplugin.csi.alibabacloud.com", "rbd.csi.ceph.com", "cephfs.csi.ceph.com",
                        "nfs.csi.k8s.io", "rancher.io/local-path", "hostpath.csi.k8s.io"}) {
    EXPECT_TRUE(names.count(n)) << n;
    EXPECT_TRUE(t.Known(n)) << n;
  }
  Capabilities ebs = t.Lookup("ebs.csi.aws.com");
  EXPECT_TRUE(ebs.zonal);
  EXPECT_FALSE(ebs.multi_node);
  EXPECT_TRUE(ebs.block_multi_attach);
  EXPECT_EQ(ebs.source, "built-in");
  Capabilities disk = t.Lookup("diskplugin.csi.alibabacloud.com");
  EXPECT_EQ(disk.min_size, 20 * kGi);
  EXPECT_TRUE(disk.zonal);
  for (const char* shared : {"efs.csi.aws.com", "cephfs.csi.ceph.com", "nfs.csi.k8s.io",
                             "nasplugin.csi.alibabacloud.com", "file.csi.azure.com"}) {
    EXPECT_TRUE(t.Lookup(shared).multi_node) << shared;
    EXPECT_FALSE(t.Lookup(shared).zonal) << shared;
  }
  EXPECT_TRUE(t.Lookup("rbd.csi.ceph.com").block_multi_attach);
  EXPECT_FALSE(t.Lookup("rbd.csi.ceph.com").multi_node);
}

TEST(CapabilityTableTest, UnknownProvisionerIsCapable) {
  CapabilityTable t;
  Capabilities c = t.Lookup("example.com/new-driver");
  EXPECT_FALSE(t.Known("example.com/new-driver"));
  EXPECT_FALSE(c.zonal);
  EXPECT_TRUE(c.multi_node);
  EXPECT_EQ(c.min_size, 0u);
  EXPECT_EQ(c.source, "unknown");
}

TEST(CapabilityTableTest, ConfigOverridesOnlyTheKeysItSets) {
  config::ProvisionerConfig ebs;
  ebs.name = "ebs.csi.aws.com";
  ebs.min_size = 4 * kGi;
  ebs.origin = "c.toml:3";
  config::ProvisionerConfig custom;
  custom.name = "example.com/x";
  custom.zonal = true;
  custom.multi_node = false;
  CapabilityTable t({{ebs.name, ebs}, {custom.name, custom}});
  Capabilities c = t.Lookup("ebs.csi.aws.com");
  EXPECT_EQ(c.min_size, 4 * kGi);
  EXPECT_TRUE(c.zonal);  // built-in, kept
  EXPECT_EQ(c.source, "config c.toml:3");
  EXPECT_TRUE(t.Known("example.com/x"));
  EXPECT_TRUE(t.Lookup("example.com/x").zonal);
  EXPECT_FALSE(t.Lookup("example.com/x").multi_node);
}

}  // namespace
}  // namespace cairn::ops::convert
