#include "vault/layout.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn::vault {
namespace {

using base::Code;

TEST(LayoutTest, NormalisesPrefix) {
  EXPECT_EQ(Layout("").prefix(), "");
  EXPECT_EQ(Layout("/").prefix(), "");
  EXPECT_EQ(Layout("//").prefix(), "");
  EXPECT_EQ(Layout("prod").prefix(), "prod");
  EXPECT_EQ(Layout("/prod/").prefix(), "prod");
  EXPECT_EQ(Layout("/team//prod///").prefix(), "team/prod");
}

TEST(LayoutTest, KeysUnderPrefix) {
  Layout l("/team/prod/");
  EXPECT_EQ(l.VaultInfoKey(), "team/prod/cairn-vault.json");
  EXPECT_EQ(l.VaultStatusKey(), "team/prod/vault-status.json");
  EXPECT_EQ(l.BackupsPrefix(), "team/prod/backups/");
  EXPECT_EQ(l.BackupDir("b1"), "team/prod/backups/b1/");
  EXPECT_EQ(l.BackupObjectKey("b1", kResourcesObject), "team/prod/backups/b1/resources.tar.zst");
  EXPECT_EQ(l.BackupObjectKey("b1", VolumeObjectKey("shop", "data-0")),
            "team/prod/backups/b1/volumes/shop/data-0.tar.zst");
  EXPECT_EQ(l.BackupObjectKey("b1", kLogsObject), "team/prod/backups/b1/logs.jsonl.zst");
  EXPECT_EQ(l.ManifestKey("b1"), "team/prod/backups/b1/manifest.json");
  EXPECT_EQ(l.RestoresPrefix(), "team/prod/restores/");
  EXPECT_EQ(l.GcPrefix(), "team/prod/gc/");
  EXPECT_EQ(l.ConversionsPrefix(), "team/prod/conversions/");
  EXPECT_EQ(l.ConversionDir("b1", "c1"), "team/prod/conversions/b1/c1/");
  EXPECT_EQ(l.ConversionObjectKey("b1", "c1", "resources.tar.zst"),
            "team/prod/conversions/b1/c1/resources.tar.zst");
  EXPECT_EQ(l.ConversionManifestKey("b1", "c1"), "team/prod/conversions/b1/c1/manifest.json");
  EXPECT_EQ(l.ConversionStatusKey("b1", "c1"), "team/prod/conversions/b1/c1/status.json");
  EXPECT_EQ(l.LocksPrefix(), "team/prod/locks/");
  EXPECT_EQ(l.LockKey("gc"), "team/prod/locks/gc.json");
  EXPECT_EQ(l.ProbePrefix(), "team/prod/.cairn-probe/");
  EXPECT_EQ(l.ProbeKey("abc123"), "team/prod/.cairn-probe/abc123");
}

TEST(LayoutTest, KeysAtBucketRoot) {
  Layout l("");
  EXPECT_EQ(l.VaultInfoKey(), "cairn-vault.json");
  EXPECT_EQ(l.ManifestKey("b1"), "backups/b1/manifest.json");
  EXPECT_EQ(l.LockKey("gc"), "locks/gc.json");
  EXPECT_EQ(l.ProbeKey("r"), ".cairn-probe/r");
}

TEST(LayoutTest, StatusKeys) {
  Layout l("p");
  EXPECT_EQ(l.StatusKey("backup", "b1").value(), "p/backups/b1/status.json");
  EXPECT_EQ(l.StatusKey("restore", "r1").value(), "p/restores/r1/status.json");
  EXPECT_EQ(l.StatusKey("gc", "gc-1").value(), "p/gc/gc-1/status.json");
  auto bad_kind = l.StatusKey("snapshot", "b1");
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_EQ(bad_kind.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_kind.status().message().find("'snapshot'"), std::string::npos);
  auto bad_name = l.StatusKey("backup", "../x");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().message().find("invalid backup name '../x'"), 0u);
}

TEST(LayoutTest, ValidNames) {
  for (const std::string& name :
       std::vector<std::string>{"a", "0", "ab", "a1", "shop-nightly-20261121044800", "a.b", "a..b",
                                "a-b.c-d", std::string(63, 'x')}) {
    EXPECT_TRUE(ValidateName(name).ok()) << name;
  }
}

TEST(LayoutTest, InvalidNames) {
  for (const std::string& name :
       std::vector<std::string>{"", "-a", "a-", ".a", "a.", "A", "shop_1", "a/b", ".", "..", "a b",
                                "é", std::string(64, 'x'), std::string("a\0b", 3)}) {
    EXPECT_FALSE(ValidateName(name).ok()) << name;
  }
  base::Status s = ValidateName("Shop_1", "backup name");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "invalid backup name 'Shop_1': must be 1 to 63 characters of lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit");
}

TEST(LayoutTest, DerivedNamesStayValid) {
  EXPECT_EQ(DerivedName("shop-1", "-restore-20261202103000"), "shop-1-restore-20261202103000");
  const std::string longest(63, 'a');
  const std::string derived = DerivedName(longest, "-restore-20261202103000");
  EXPECT_EQ(derived, std::string(40, 'a') + "-restore-20261202103000");
  EXPECT_TRUE(ValidateName(derived).ok());
  // Cut back past the separators the cut would leave at the end.
  const std::string dotted = std::string(38, 'b') + "-.c" + std::string(20, 'c');
  EXPECT_EQ(DerivedName(dotted, "-restore-20261202103000"),
            std::string(38, 'b') + "-restore-20261202103000");
  EXPECT_TRUE(ValidateName(DerivedName(dotted, "-restore-20261202103000")).ok());
}

TEST(LayoutTest, ObjectKeys) {
  for (const std::string& k : std::vector<std::string>{
           "resources.tar.zst", "volumes/shop/data-0.tar.zst", "a", "A_b-c.d/e"}) {
    EXPECT_TRUE(ValidateObjectKey(k).ok()) << k;
  }
  for (const std::string& k :
       std::vector<std::string>{"", "/a", "a/", "a//b", "./a", "a/../b", "..", "a b", "a\\b", "ü",
                                std::string(513, 'a'), std::string(256, 'a')}) {
    EXPECT_FALSE(ValidateObjectKey(k).ok()) << k;
  }
  EXPECT_TRUE(ValidateObjectKey(std::string(255, 'a') + "/" + std::string(255, 'b')).ok());
}

TEST(LayoutTest, ParseBackupKey) {
  Layout l("p");
  auto parts = l.ParseBackupKey("p/backups/b1/volumes/shop/data-0.tar.zst");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->name, "b1");
  EXPECT_EQ(parts->rel, "volumes/shop/data-0.tar.zst");
  EXPECT_EQ(l.ParseBackupNameFromKey("p/backups/b1/manifest.json"), "b1");

  EXPECT_FALSE(l.ParseBackupKey("p/backups/b1").has_value());          // no directory
  EXPECT_FALSE(l.ParseBackupKey("p/backups/b1/").has_value());         // nothing inside
  EXPECT_FALSE(l.ParseBackupKey("p/backups/Bad_Name/x").has_value());  // invalid name
  EXPECT_FALSE(l.ParseBackupKey("p/backups//x").has_value());
  EXPECT_FALSE(l.ParseBackupKey("p/restores/b1/status.json").has_value());
  EXPECT_FALSE(l.ParseBackupKey("q/backups/b1/status.json").has_value());
  EXPECT_FALSE(l.ParseBackupKey("p/backupsx/b1/status.json").has_value());
  EXPECT_FALSE(l.ParseBackupNameFromKey("p/backups/").has_value());

  Layout root("");
  EXPECT_EQ(root.ParseBackupNameFromKey("backups/b2/status.json"), "b2");
  EXPECT_FALSE(root.ParseBackupKey("p/backups/b2/status.json").has_value());
}

}  // namespace
}  // namespace cairn::vault
