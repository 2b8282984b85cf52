// The volume-data keys of a backup policy and restore policy, and their flags.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/policy.h"
#include "config/restore_policy.h"

namespace cairn::config {
namespace {

base::Result<Config> Parse(const std::string& text) { return ParseConfig(text, "t.toml"); }

std::string ErrorOf(const std::string& text) {
  base::Result<Config> cfg = Parse(text);
  return cfg.ok() ? "" : cfg.status().message();
}

TEST(VolumeKeysTest, DefaultsTakeNoVolumeData) {
  base::Result<Config> cfg = Parse("[policies.p]\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const BackupPolicy& p = cfg->policies.at("p");
  EXPECT_EQ(p.volumes, "none");
  EXPECT_EQ(p.movers.volume_timeout, std::chrono::hours(1));
  EXPECT_EQ(p.movers.concurrency, 1);
  EXPECT_EQ(p.movers.nodes, "exclude");
  EXPECT_EQ(p.movers.image, "");
  EXPECT_FALSE(p.movers.privileged);
  EXPECT_EQ(p.movers.resources.requests.at("memory"), "64Mi");
  EXPECT_EQ(p.movers.resources.limits.at("memory"), "256Mi");
}

TEST(VolumeKeysTest, EveryKeyIsBound) {
  base::Result<Config> cfg = Parse(
      "[policies.p]\nvolumes = \"fs\"\nvolume_timeout = \"20m\"\nmover_concurrency = 3\n"
      "mover_nodes = \"include\"\nmover_image = \"registry.example/cairn:1\"\n"
      "mover_privileged = true\n"
      "mover_resources = { requests = { cpu = \"100m\", memory = \"64Mi\" }, limits = { memory = "
      "\"256Mi\" } }\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const BackupPolicy& p = cfg->policies.at("p");
  EXPECT_EQ(p.volumes, "fs");
  EXPECT_EQ(p.movers.volume_timeout, std::chrono::minutes(20));
  EXPECT_EQ(p.movers.concurrency, 3);
  EXPECT_EQ(p.movers.nodes, "include");
  EXPECT_EQ(p.movers.image, "registry.example/cairn:1");
  EXPECT_TRUE(p.movers.privileged);
  EXPECT_EQ(p.movers.resources.requests.at("cpu"), "100m");
  EXPECT_EQ(p.movers.resources.requests.at("memory"), "64Mi");
  EXPECT_EQ(p.movers.resources.limits.at("memory"), "256Mi");
  EXPECT_EQ(p.movers.resources.limits.count("cpu"), 0u);
}

TEST(VolumeKeysTest, BadValuesNameTheirPlace) {
  EXPECT_EQ(ErrorOf("[policies.p]\nvolumes = \"disks\"\n"),
            "t.toml:2:1: policies.p.volumes: invalid value 'disks' (want \"none\", \"fs\", "
            "\"snapshot\" or \"all\")");
  EXPECT_NE(ErrorOf("[policies.p]\nmover_concurrency = 0\n")
                .find("t.toml:2:1: "
                      "policies.p.mover_concurrency"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[policies.p]\nmover_nodes = \"all\"\n").find("policies.p.mover_nodes"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[policies.p]\nmover_image = \"a b\"\n").find("policies.p.mover_image"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[policies.p]\nvolume_timeout = \"soon\"\n").find("policies.p.volume_timeout"),
            std::string::npos);
  const std::string bad_quantity =
      ErrorOf("[policies.p]\nmover_resources = { limits = { memory = \"lots\" } }\n");
  EXPECT_NE(bad_quantity.find("t.toml:2:"), std::string::npos) << bad_quantity;
  EXPECT_NE(bad_quantity.find("policies.p.mover_resources.limits.memory"), std::string::npos)
      << bad_quantity;
  EXPECT_NE(ErrorOf("[policies.p]\nmover_resources = { limits = { gpu = \"1\" } }\n")
                .find("unknown resource (want cpu, memory or ephemeral-storage)"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[policies.p]\nmover_resources = { caps = {} }\n").find("unknown key"),
            std::string::npos);
}

TEST(VolumeKeysTest, SnapshotModesAndClass) {
  base::Result<Config> cfg = Parse(
      "[policies.s]\nvolumes = \"snapshot\"\nvolume_snapshot_class = \"csi-hostpath.snapclass\"\n"
      "[policies.a]\nvolumes = \"all\"\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->policies.at("s").volumes, "snapshot");
  EXPECT_EQ(cfg->policies.at("s").volume_snapshot_class, "csi-hostpath.snapclass");
  EXPECT_EQ(cfg->policies.at("a").volumes, "all");
  EXPECT_EQ(cfg->policies.at("a").volume_snapshot_class, "");
  EXPECT_EQ(ErrorOf("[policies.p]\nvolume_snapshot_class = \"Fast_Class\"\n"),
            "t.toml:2:1: policies.p.volume_snapshot_class: invalid VolumeSnapshotClass name "
            "'Fast_Class': want lowercase letters, digits, '-' and '.', each dot-separated part "
            "starting and ending with a letter or digit, at most 253 characters");
  EXPECT_NE(ErrorOf("[policies.p]\nvolume_snapshot_class = \"a..b\"\n").find("a..b"),
            std::string::npos);
  FlagSet flags("backup-run", "backs up applications");
  AddPolicyFlags(flags);
  base::Result<ParsedFlags> parsed =
      flags.Parse({"--volumes", "all", "--volume-snapshot-class", "snap"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  base::Result<BackupPolicy> p = PolicyFromFlags(*parsed, BackupPolicy{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->volumes, "all");
  EXPECT_EQ(p->volume_snapshot_class, "snap");
  parsed = flags.Parse({"--volume-snapshot-class", "No"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(PolicyFromFlags(*parsed, BackupPolicy{}).ok());
}

TEST(VolumeKeysTest, FlagsOverrideThePolicy) {
  FlagSet flags("backup-run", "backs up applications");
  AddPolicyFlags(flags);
  base::Result<ParsedFlags> parsed = flags.Parse({"--volumes", "fs", "--volume-timeout", "5m"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  base::Result<BackupPolicy> p = PolicyFromFlags(*parsed, BackupPolicy{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->volumes, "fs");
  EXPECT_EQ(p->movers.volume_timeout, std::chrono::minutes(5));
  EXPECT_FALSE(flags.Parse({"--volumes", "disks"}).ok());
}

TEST(VolumeKeysTest, RestoreExistingData) {
  base::Result<Config> cfg = Parse("[restores.r]\nexisting_data = \"overwrite\"\n[restores.s]\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->restores.at("r").existing_data, "overwrite");
  EXPECT_EQ(cfg->restores.at("s").existing_data, "empty");
  base::Result<Config> movers = Parse(
      "[restores.r]\nmover_privileged = true\nvolume_timeout = \"2h\"\nmover_concurrency = 2\n");
  ASSERT_TRUE(movers.ok()) << movers.status().ToString();
  EXPECT_TRUE(movers->restores.at("r").movers.privileged);
  EXPECT_EQ(movers->restores.at("r").movers.volume_timeout, std::chrono::hours(2));
  EXPECT_EQ(movers->restores.at("r").movers.concurrency, 2);
  EXPECT_NE(ErrorOf("[restores.r]\nvolumes = \"fs\"\n").find("unknown key"), std::string::npos);
  EXPECT_NE(ErrorOf("[restores.r]\nexisting_data = \"merge\"\n").find("restores.r.existing_data"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::config
