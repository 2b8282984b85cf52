#include "config/provisioners.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "config/quantity.h"

namespace cairn::config {
namespace {

TEST(QuantityTest, ParsesKubernetesQuantities) {
  EXPECT_EQ(*ParseQuantity("20Gi"), uint64_t{20} << 30);
  EXPECT_EQ(*ParseQuantity("500M"), 500'000'000u);
  EXPECT_EQ(*ParseQuantity("1.5Gi"), uint64_t{3} << 29);
  EXPECT_EQ(*ParseQuantity("1e9"), 1'000'000'000u);
  EXPECT_EQ(*ParseQuantity("1073741824"), uint64_t{1} << 30);
  EXPECT_EQ(*ParseQuantity("1500m"), 2u);  // 1.5 bytes round up
  EXPECT_EQ(*ParseQuantity("2k"), 2000u);
  for (const char* bad : {"", "Gi", "-1Gi", "20GB", "1.2.3", "20 Gi", "9Ei9"}) {
    EXPECT_FALSE(ParseQuantity(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseQuantity("20GB").status().message().rfind("invalid quantity '20GB'", 0), 0u);
}

TEST(QuantityTest, FormatsCanonically) {
  EXPECT_EQ(FormatQuantity(uint64_t{20} << 30), "20Gi");
  EXPECT_EQ(FormatQuantity(uint64_t{1536} << 20), "1536Mi");
  EXPECT_EQ(FormatQuantity(500'000'000), "500M");
  EXPECT_EQ(FormatQuantity(1001), "1001");
  EXPECT_EQ(FormatQuantity(0), "0");
}

TEST(ProvisionersConfigTest, ReadsEveryKey) {
  auto cfg = ParseConfig(
      "[provisioners.\"ebs.csi.aws.com\"]\nzonal = false\nmulti_node = true\n"
      "block_multi_attach = false\nmin_size = \"20Gi\"\n",
      "c.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const ProvisionerConfig& p = cfg->provisioners.at("ebs.csi.aws.com");
  EXPECT_EQ(p.zonal, false);
  EXPECT_EQ(p.multi_node, true);
  EXPECT_EQ(p.block_multi_attach, false);
  EXPECT_EQ(p.min_size, uint64_t{20} << 30);
  EXPECT_EQ(p.origin, "c.toml:1");
}

TEST(ProvisionersConfigTest, ErrorsNameFileLineAndKey) {
  auto cfg = ParseConfig(
      "[provisioners.\"nfs.csi.k8s.io\"]\nzonl = true\nmin_size = \"20GB\"\nzonal = 1\n", "c.toml");
  ASSERT_FALSE(cfg.ok());
  const std::string m = cfg.status().message();
  EXPECT_NE(m.find("c.toml:2:1: unknown key 'provisioners."), std::string::npos) << m;
  EXPECT_NE(m.find("zonl' (did you mean 'zonal'?)"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:3:1:"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid quantity '20GB'"), std::string::npos) << m;
  EXPECT_NE(m.find("c.toml:4:1:"), std::string::npos) << m;
  auto bad_name = ParseConfig("[provisioners.\"a b\"]\nzonal = true\n", "c.toml");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("invalid provisioner name 'a b'"), std::string::npos);
}

}  // namespace
}  // namespace cairn::config
