#include <gtest/gtest.h>

#include "config/config.h"

namespace cairn::config {
namespace {

TEST(MetricsConfig, KeysAreReadAndCheckedWithTheirPosition) {
  auto cfg = ParseConfig(R"([metrics]
pushgateway = "http://pg:9091"
bearer_token_file = "/run/token"
basic_auth_file = "/run/basic"
push_timeout = "3s"
failure_info_limit = 4
kubedr_metrics = false
)",
                         "c.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->metrics.pushgateway, "http://pg:9091");
  EXPECT_EQ(cfg->metrics.bearer_token_file, "/run/token");
  EXPECT_EQ(cfg->metrics.basic_auth_file, "/run/basic");
  EXPECT_EQ(cfg->metrics.push_timeout, base::Duration(std::chrono::seconds(3)));
  EXPECT_EQ(cfg->metrics.failure_info_limit, 4);
  EXPECT_FALSE(cfg->metrics.kubedr_metrics);

  auto bad = ParseConfig("[metrics]\npushgateway = \"ftp://x\"\nbearer_token = \"t\"\n", "c.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.toml:2:"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("unknown key 'metrics.bearer_token'"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace cairn::config
