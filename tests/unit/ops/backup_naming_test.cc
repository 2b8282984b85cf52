#include <gtest/gtest.h>

#include "config/policy.h"
#include "ops/backup/naming.h"
#include "vault/layout.h"

namespace cairn::ops::backup {
namespace {

using namespace std::chrono_literals;

base::TimePoint At(const char* s) { return *base::ParseRfc3339(s); }

vault::BackupEntry Entry(const char* name, const char* policy, const char* phase, bool complete,
                         const char* created) {
  vault::BackupEntry e;
  e.name = name;
  e.complete = complete;
  e.state = complete ? vault::BackupState::kComplete : vault::BackupState::kIncomplete;
  e.created = At(created);
  e.status = vault::RunStatus();
  e.status->policy = policy;
  e.status->phase = phase;
  e.phase = phase;
  return e;
}

TEST(BackupNaming, ScheduledNameIsPolicyAndUtcTime) {
  EXPECT_EQ(ScheduledName("shop", At("2026-11-21T04:48:07Z")), "shop-20261121044807");
}

// config::kMaxBackupPolicyNameLength is derived from this naming: the longest policy name the
// config accepts gives a valid backup name, one more character would not.
TEST(BackupNaming, LongestPolicyNameGivesAValidBackupName) {
  const auto now = At("2026-11-21T04:48:07Z");
  const std::string longest(config::kMaxBackupPolicyNameLength, 'p');
  ASSERT_TRUE(config::ValidateBackupPolicyName(longest).ok());
  EXPECT_EQ(ScheduledName(longest, now).size(), config::kMaxBackupNameLength);
  EXPECT_TRUE(vault::ValidateName(ScheduledName(longest, now), "backup name").ok());
  const std::string longer = longest + "p";
  EXPECT_FALSE(config::ValidateBackupPolicyName(longer).ok());
  EXPECT_FALSE(vault::ValidateName(ScheduledName(longer, now), "backup name").ok());
}

TEST(BackupNaming, UnreadableManifestIsNoRecentSuccess) {
  const auto now = At("2026-11-21T12:00:00Z");
  vault::BackupEntry forged = Entry("shop-9", "shop", "Completed", true, "2026-11-21T11:00:00Z");
  forged.state = vault::BackupState::kUnreadable;
  EXPECT_EQ(RecentSuccess({forged}, "shop", 6h, now), std::nullopt);
  forged.state = vault::BackupState::kComplete;
  EXPECT_EQ(RecentSuccess({forged}, "shop", 6h, now), "shop-9");
}

TEST(BackupNaming, RecentSuccessTable) {
  const auto now = At("2026-11-21T12:00:00Z");
  std::vector<vault::BackupEntry> backups = {
      Entry("shop-1", "shop", "Completed", true, "2026-11-21T06:00:00Z"),  // 6h old
      Entry("shop-2", "shop", "Failed", false, "2026-11-21T11:00:00Z"),    // failed
      Entry("shop-3", "shop", "PartiallyFailed", true, "2026-11-21T11:30:00Z"),
      Entry("shop-4", "shop", "Completed", false, "2026-11-21T11:50:00Z"),  // no manifest
      Entry("db-1", "db", "Completed", true, "2026-11-21T11:59:00Z"),       // other policy
  };
  // Only shop-1 counts: 6h old.
  EXPECT_EQ(RecentSuccess(backups, "shop", 6h + 30min, now), "shop-1");
  EXPECT_EQ(RecentSuccess(backups, "shop", 6h, now), std::nullopt);  // exactly the interval: run
  EXPECT_EQ(RecentSuccess(backups, "shop", 1h, now), std::nullopt);
  EXPECT_EQ(RecentSuccess(backups, "db", 5min, now), "db-1");
  EXPECT_EQ(RecentSuccess({}, "shop", 24h, now), std::nullopt);
}

TEST(BackupNaming, NewestSuccessDecides) {
  const auto now = At("2026-11-21T12:00:00Z");
  std::vector<vault::BackupEntry> backups = {
      Entry("a", "p", "Completed", true, "2026-11-20T12:00:00Z"),
      Entry("b", "p", "Completed", true, "2026-11-21T11:00:00Z"),
  };
  EXPECT_EQ(RecentSuccess(backups, "p", 2h, now), "b");
}

}  // namespace
}  // namespace cairn::ops::backup
