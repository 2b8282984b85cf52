#include "vault/catalog.h"

#include <gtest/gtest.h>

#include <string>

#include "io/hash.h"
#include "store/memory/memory_store.h"
#include "test_support.h"
#include "vault/manifest.h"

namespace cairn::vault {
namespace {

using base::Code;
using vaulttest::At;
using vaulttest::HookStore;

class CatalogTest : public ::testing::Test {
 protected:
  base::FakeClock clock_{At("2026-11-21T00:00:00Z")};
  store::MemoryStore store_{clock_};
  Layout layout_{"prod"};

  void Put(const std::string& key, const std::string& data) {
    ASSERT_TRUE(store_.Put(key, data, {}).ok());
    clock_.Advance(std::chrono::minutes(1));
  }
  void PutData(const std::string& name, const std::string& rel, size_t size) {
    Put(layout_.BackupObjectKey(name, rel), std::string(size, 'd'));
  }
  void PutStatus(const std::string& name, std::string_view phase, base::TimePoint start) {
    RunStatus s;
    s.kind = std::string(kKindBackup);
    s.name = name;
    s.policy = "nightly";
    s.phase = std::string(phase);
    s.start_time = s.heartbeat_time = start;
    Put(layout_.StatusKey("backup", name).value(), ToJson(s));
  }
  // Data objects of `sizes`, then the manifest (created = `created`).
  void PutCompleteBackup(const std::string& name, base::TimePoint created,
                         std::vector<size_t> sizes) {
    Manifest m;
    m.name = name;
    m.created = created;
    m.completed = created + std::chrono::minutes(5);
    for (size_t i = 0; i < sizes.size(); ++i) {
      std::string data(sizes[i], 'd');
      StoredObject o;
      o.key = "part-" + std::to_string(i) + ".tar.zst";
      o.stored_size = o.logical_size = sizes[i];
      o.stored_sha256 = o.logical_sha256 = io::Sha256Hex(data);
      o.compression = "none";
      o.content_type = "application/x-tar";
      m.objects.push_back(o);
      Put(layout_.BackupObjectKey(name, o.key), data);
    }
    ASSERT_TRUE(PublishManifest(store_, layout_, m).ok());
    clock_.Advance(std::chrono::minutes(1));
  }
  std::vector<BackupEntry> List() {
    auto r = ListBackups(store_, layout_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<BackupEntry>{};
  }
};

TEST_F(CatalogTest, EmptyVault) { EXPECT_TRUE(List().empty()); }

TEST_F(CatalogTest, CompleteBackup) {
  PutStatus("b1", kPhaseInProgress, At("2026-11-20T23:00:00Z"));
  PutCompleteBackup("b1", At("2026-11-20T23:00:00Z"), {100, 250});
  PutStatus("b1", kPhaseCompleted, At("2026-11-20T23:00:00Z"));
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  const BackupEntry& e = list[0];
  EXPECT_EQ(e.name, "b1");
  EXPECT_TRUE(e.complete);
  EXPECT_TRUE(e.has_status);
  EXPECT_EQ(e.phase, "Completed");
  EXPECT_EQ(e.created, At("2026-11-20T23:00:00Z"));
  EXPECT_EQ(e.object_count, 4u);  // two parts, manifest, status
  uint64_t manifest_size = store_.Head(layout_.ManifestKey("b1"))->size;
  uint64_t status_size = store_.Head(layout_.BackupObjectKey("b1", "status.json"))->size;
  EXPECT_EQ(e.size, 100 + 250 + manifest_size + status_size);
  ASSERT_TRUE(e.status.has_value());
  EXPECT_EQ(e.status->policy, "nightly");
  EXPECT_TRUE(e.warnings.empty());
}

TEST_F(CatalogTest, IncompleteBackupHasNoManifest) {
  PutStatus("b2", kPhaseInProgress, At("2026-11-20T22:00:00Z"));
  PutData("b2", "resources.tar.zst", 42);
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].complete);
  EXPECT_EQ(list[0].phase, "InProgress");
  EXPECT_EQ(list[0].created, At("2026-11-20T22:00:00Z"));
  EXPECT_EQ(list[0].last_modified, At("2026-11-21T00:01:00Z"));
}

TEST_F(CatalogTest, BackupWithoutStatusUsesObjectTimes) {
  PutData("b3", "resources.tar.zst", 10);     // at 00:00
  PutData("b3", "volumes/ns/v.tar.zst", 20);  // at 00:01
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].has_status);
  EXPECT_EQ(list[0].phase, "Unknown");
  EXPECT_EQ(list[0].created, At("2026-11-21T00:00:00Z"));
  EXPECT_EQ(list[0].last_modified, At("2026-11-21T00:01:00Z"));
  EXPECT_EQ(list[0].size, 30u);
  EXPECT_TRUE(list[0].warnings.empty());
}

TEST_F(CatalogTest, GarbageStatusGivesUnknownAndAWarning) {
  PutData("b4", "resources.tar.zst", 10);
  Put(layout_.BackupObjectKey("b4", "status.json"), "{\"apiVersion\": \"cairn.io/v1\", garbage");
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].has_status);
  EXPECT_FALSE(list[0].status.has_value());
  EXPECT_EQ(list[0].phase, "Unknown");
  ASSERT_EQ(list[0].warnings.size(), 1u);
  EXPECT_NE(list[0].warnings[0].find("is malformed"), std::string::npos) << list[0].warnings[0];
  EXPECT_EQ(list[0].created, At("2026-11-21T00:00:00Z"));
}

TEST_F(CatalogTest, CompleteBackupWithGarbageStatusTakesCreatedFromTheManifest) {
  PutCompleteBackup("b5", At("2026-11-19T03:00:00Z"), {5});
  Put(layout_.BackupObjectKey("b5", "status.json"), "\xff\xfe not json");
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].complete);
  EXPECT_EQ(list[0].phase, "Unknown");
  EXPECT_EQ(list[0].created, At("2026-11-19T03:00:00Z"));
  EXPECT_EQ(list[0].warnings.size(), 1u);
}

TEST_F(CatalogTest, CorruptManifestAndStatusOfAnotherRunAreWarnings) {
  PutData("b6", "resources.tar.zst", 10);
  Put(layout_.ManifestKey("b6"), "{}");
  RunStatus other;
  other.kind = std::string(kKindRestore);
  other.name = "r1";
  other.start_time = other.heartbeat_time = At("2026-11-01T00:00:00Z");
  Put(layout_.BackupObjectKey("b6", "status.json"), ToJson(other));
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].complete);  // a manifest object exists; verifying it is restore's job
  EXPECT_EQ(list[0].phase, "Unknown");
  EXPECT_EQ(list[0].warnings.size(), 2u);
  EXPECT_EQ(list[0].created, At("2026-11-21T00:00:00Z"));
}

TEST_F(CatalogTest, GarbageKeysAreIgnored) {
  Put("prod/backups/README", "x");
  Put("prod/backups/Bad_Name/status.json", "x");
  Put("prod/backupsfoo/b1/status.json", "x");
  Put("prod/restores/r1/status.json", "x");
  Put("other/backups/b1/status.json", "x");
  PutData("ok", "resources.tar.zst", 1);
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "ok");
}

TEST_F(CatalogTest, SortedByCreatedThenName) {
  PutStatus("c", kPhaseFailed, At("2026-11-20T01:00:00Z"));
  PutStatus("a", kPhaseCompleted, At("2026-11-20T03:00:00Z"));
  PutStatus("b", kPhaseCompleted, At("2026-11-20T01:00:00Z"));
  PutData("d", "resources.tar.zst", 1);  // created = its mtime, 2026-11-21
  auto list = List();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].name, "b");
  EXPECT_EQ(list[1].name, "c");
  EXPECT_EQ(list[2].name, "a");
  EXPECT_EQ(list[3].name, "d");
}

TEST_F(CatalogTest, ManyObjectsAcrossListPages) {
  for (int i = 0; i < 1500; ++i) {
    ASSERT_TRUE(store_
                    .Put(layout_.BackupObjectKey("big", "volumes/ns/v" + std::to_string(i)),
                         "0123456789", {})
                    .ok());
  }
  PutData("small", "resources.tar.zst", 3);
  auto list = List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "big");
  EXPECT_EQ(list[0].object_count, 1500u);
  EXPECT_EQ(list[0].size, 15000u);
  EXPECT_EQ(list[1].size, 3u);
}

TEST(CatalogStoreErrorTest, StoreFailureIsAnError) {
  base::FakeClock clock(At("2026-11-21T00:00:00Z"));
  HookStore store(clock);
  Layout layout("");
  RunStatus s;
  s.kind = "Backup";
  s.name = "b1";
  ASSERT_TRUE(store.Put("backups/b1/status.json", ToJson(s), {}).ok());
  // The GET of status.json fails as an outage would: the listing cannot be trusted.
  store.hook = [&](std::string_view op, std::string_view) {
    if (op == "get") store.inner().Delete({"backups/b1/status.json"}).IgnoreError();
  };
  auto vanished = ListBackups(store, layout);
  ASSERT_TRUE(vanished.ok());  // deleted while listing: a warning, not a failure
  EXPECT_EQ(vanished->size(), 1u);
  EXPECT_EQ(vanished->at(0).warnings.size(), 1u);

  ASSERT_TRUE(store.inner().Put("backups/b1/status.json", ToJson(s), {}).ok());
  store.hook = nullptr;
  store.fault = [](std::string_view op, std::string_view) {
    return op == "get" ? base::Error(Code::kPermissionDenied, "access denied") : base::Status::Ok();
  };
  auto denied = ListBackups(store, layout);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
  store.fault = [](std::string_view op, std::string_view) {
    return op == "list" ? base::Error(Code::kUnavailable, "503 SlowDown") : base::Status::Ok();
  };
  auto unavailable = ListBackups(store, layout);
  EXPECT_EQ(unavailable.status().code(), Code::kUnavailable);
  EXPECT_NE(unavailable.status().message().find("unable to list backups"), std::string::npos);
}

}  // namespace
}  // namespace cairn::vault
