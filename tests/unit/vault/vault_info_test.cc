#include "vault/vault_info.h"

#include <gtest/gtest.h>

#include <string>

#include "store/memory/memory_store.h"
#include "test_support.h"
#include "vault/random_id.h"

namespace cairn::vault {
namespace {

using base::Code;
using vaulttest::At;
using vaulttest::HookStore;
using vaulttest::ReadFixture;

std::string Replaced(std::string s, std::string_view from, std::string_view to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(VaultInfoTest, GoldenRoundTrips) {
  const std::string golden = ReadFixture("cairn-vault-v1.json");
  auto info = ParseVaultInfo(golden);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format_version, "1.0");
  EXPECT_EQ(info->vault_id, "3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f");
  EXPECT_EQ(info->created, At("2026-11-20T09:15:02Z"));
  EXPECT_EQ(info->created_by, "cairn 0.1.0");
  EXPECT_EQ(info->encryption.mode, "none");
  EXPECT_EQ(ToJson(*info), golden);
}

TEST(VaultInfoTest, NewerMajorIsRefused) {
  const std::string golden = ReadFixture("cairn-vault-v1.json");
  auto info = ParseVaultInfo(Replaced(golden, "\"1.0\"", "\"2.0\""), "p/cairn-vault.json");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(info.status().message(),
            "vault info 'p/cairn-vault.json': vault format 2.0 is newer than this cairn "
            "understands (1.x); upgrade cairn");
  EXPECT_FALSE(info.status().hint().empty());
}

TEST(VaultInfoTest, NewerMinorIsReadAndItsFieldsKept) {
  std::string doc = Replaced(ReadFixture("cairn-vault-v1.json"), "\"1.0\"", "\"1.7\"");
  doc = Replaced(doc, "\"mode\": \"none\"", "\"mode\": \"none\",\n    \"note\": \"x\"");
  doc = Replaced(doc, "  \"vault_id\"", "  \"storage_class\": \"STANDARD_IA\",\n  \"vault_id\"");
  auto info = ParseVaultInfo(doc);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format_version, "1.7");
  EXPECT_EQ(info->extra.at("storage_class"), "\"STANDARD_IA\"");
  EXPECT_EQ(info->encryption.extra.at("note"), "\"x\"");
  EXPECT_EQ(ToJson(*info), doc);
}

TEST(VaultInfoTest, UnknownEncryptionModeIsRefused) {
  auto info =
      ParseVaultInfo(Replaced(ReadFixture("cairn-vault-v1.json"), "\"none\"", "\"aes-256-gcm\""));
  EXPECT_EQ(info.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(info.status().message().find("encryption mode 'aes-256-gcm' is not supported"),
            std::string::npos);
}

TEST(VaultInfoTest, MalformedIsDataLoss) {
  const std::string golden = ReadFixture("cairn-vault-v1.json");
  for (const std::string& bad :
       {std::string("{"), std::string("\"x\""), Replaced(golden, "\"vault_id\"", "\"id\""),
        Replaced(golden, "\"3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f\"", "\"\""),
        Replaced(golden, "\"1.0\"", "\"1.x\""), Replaced(golden, "\"1.0\"", "1.0"),
        Replaced(golden, "\"encryption\": {", "\"encryption\": 0, \"e\": {")}) {
    EXPECT_EQ(ParseVaultInfo(bad).status().code(), Code::kDataLoss) << bad;
  }
}

TEST(VaultInfoTest, ReadOfAnEmptyVaultIsNullopt) {
  store::MemoryStore store;
  auto info = ReadVaultInfo(store, Layout("p"));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_value());
}

TEST(VaultInfoTest, InitCreatesOnceThenAdopts) {
  base::FakeClock clock(At("2026-11-21T04:00:00Z"));
  store::MemoryStore store(clock);
  Layout layout("/team/prod/");
  auto first = InitVault(store, layout, clock, "cairn 0.1.0");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(IsUuidV4(first->info.vault_id)) << first->info.vault_id;
  EXPECT_EQ(first->info.created, At("2026-11-21T04:00:00Z"));
  EXPECT_EQ(first->info.created_by, "cairn 0.1.0");
  EXPECT_EQ(first->info.format_version, "1.0");
  EXPECT_TRUE(store.Head("team/prod/cairn-vault.json").ok());

  clock.Advance(std::chrono::hours(1));
  auto second = InitVault(store, layout, clock, "cairn 0.2.0");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->info.vault_id, first->info.vault_id);
  EXPECT_EQ(second->info.created, At("2026-11-21T04:00:00Z"));
  auto read = ReadVaultInfo(store, layout);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->vault_id, first->info.vault_id);
}

TEST(VaultInfoTest, InitLosingTheRaceAdoptsTheWinner) {
  base::FakeClock clock(At("2026-11-21T04:00:00Z"));
  for (bool conditional : {true, false}) {
    HookStore store(clock);
    store.conditional = conditional;
    Layout layout("p");
    const std::string theirs = ReadFixture("cairn-vault-v1.json");
    // The other initialiser lands between our read and our create.
    bool raced = false;
    store.hook = [&](std::string_view op, std::string_view key) {
      if (!raced && (op == "put" || op == "head") && key == "p/cairn-vault.json") {
        raced = true;
        store.inner().Put(key, theirs, {}).IgnoreError();
      }
    };
    auto r = InitVault(store, layout, clock, "cairn 0.1.0");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->created);
    EXPECT_EQ(r->info.vault_id, "3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f") << conditional;
    EXPECT_EQ(store.inner().GetAll("p/cairn-vault.json").value(), theirs);
  }
}

TEST(VaultInfoTest, InitRefusesANewerVault) {
  base::FakeClock clock(At("2026-11-21T04:00:00Z"));
  store::MemoryStore store(clock);
  ASSERT_TRUE(store
                  .Put("cairn-vault.json",
                       Replaced(ReadFixture("cairn-vault-v1.json"), "\"1.0\"", "\"3.1\""), {})
                  .ok());
  auto r = InitVault(store, Layout(""), clock, "cairn 0.1.0");
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
}

TEST(RandomIdTest, UuidV4) {
  std::string a = NewUuidV4(), b = NewUuidV4();
  EXPECT_TRUE(IsUuidV4(a)) << a;
  EXPECT_NE(a, b);
  EXPECT_FALSE(IsUuidV4("3f2c8a51-7d4e-3b9a-9c1e-5a6b7c8d9e0f"));  // version 3
  EXPECT_FALSE(IsUuidV4("3F2C8A51-7D4E-4B9A-9C1E-5A6B7C8D9E0F"));  // uppercase
  EXPECT_FALSE(IsUuidV4("3f2c8a517d4e4b9a9c1e5a6b7c8d9e0f"));
}

}  // namespace
}  // namespace cairn::vault
