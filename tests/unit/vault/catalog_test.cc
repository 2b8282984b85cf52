#include "vault/catalog.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
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
  EXPECT_TRUE(list[0].complete);                       // a manifest object exists...
  EXPECT_EQ(list[0].state, BackupState::kUnreadable);  // ...but it does not verify
  EXPECT_FALSE(list[0].restorable());
  EXPECT_NE(list[0].unreadable_reason.find("is malformed"), std::string::npos)
      << list[0].unreadable_reason;
  EXPECT_EQ(list[0].phase, "Unknown");
  EXPECT_EQ(list[0].warnings.size(), 1u);  // the status of another run
  EXPECT_EQ(list[0].created, At("2026-11-21T00:00:00Z"));
}

TEST_F(CatalogTest, VerifiedManifestIsCompleteAndRestorable) {
  PutCompleteBackup("ok", At("2026-11-20T23:00:00Z"), {10});
  PutStatus("ok", kPhaseCompleted, At("2026-11-20T23:00:00Z"));
  auto list = List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, BackupState::kComplete);
  EXPECT_TRUE(list[0].restorable());
  EXPECT_EQ(NotRestorableReason(list[0], clock_.Now()), "");
  EXPECT_EQ(StateName(list[0].state), "Complete");
}

// A forged manifest (one byte changed after sealing), a manifest copied from another backup and
// one of a newer format are each Unreadable, with the reason, while their status says Completed.
TEST_F(CatalogTest, ManifestThatDoesNotVerifyIsUnreadableNeverRestorable) {
  PutCompleteBackup("forged", At("2026-11-20T20:00:00Z"), {10});
  PutStatus("forged", kPhaseCompleted, At("2026-11-20T20:00:00Z"));
  std::string bytes = *store_.GetAll(layout_.ManifestKey("forged"));
  const size_t at = bytes.find("\"stored_size\":10");
  ASSERT_NE(at, std::string::npos) << bytes;
  bytes.replace(at, std::string_view("\"stored_size\":10").size(), "\"stored_size\":11");
  Put(layout_.ManifestKey("forged"), bytes);

  PutCompleteBackup("original", At("2026-11-20T21:00:00Z"), {10});
  PutData("copy", "part-0.tar.zst", 10);
  Put(layout_.ManifestKey("copy"), *store_.GetAll(layout_.ManifestKey("original")));

  PutData("newer", "resources.tar.zst", 1);
  Put(layout_.ManifestKey("newer"), "{\"format_version\": \"2.0\", \"kind\": \"Backup\"}");

  std::map<std::string, BackupEntry> by_name;
  for (auto& e : List()) by_name[e.name] = e;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_TRUE(by_name["original"].restorable());
  for (const char* name : {"forged", "copy", "newer"}) {
    const BackupEntry& e = by_name[name];
    EXPECT_TRUE(e.complete) << name;
    EXPECT_EQ(e.state, BackupState::kUnreadable) << name;
    EXPECT_FALSE(e.restorable()) << name;
    EXPECT_EQ(NotRestorableReason(e, clock_.Now()), "manifest unreadable: " + e.unreadable_reason);
  }
  EXPECT_EQ(by_name["forged"].phase, "Completed");
  EXPECT_NE(by_name["forged"].unreadable_reason.find("checksum mismatch"), std::string::npos)
      << by_name["forged"].unreadable_reason;
  EXPECT_NE(
      by_name["copy"].unreadable_reason.find("describes Backup 'original', not backup 'copy'"),
      std::string::npos)
      << by_name["copy"].unreadable_reason;
  EXPECT_NE(by_name["newer"].unreadable_reason.find("2.0"), std::string::npos)
      << by_name["newer"].unreadable_reason;
}

TEST_F(CatalogTest, IncompleteBackupsSayWhy) {
  const base::TimePoint now = At("2026-11-21T12:00:00Z");
  auto entry = [&](std::optional<std::string_view> phase, base::TimePoint beat) {
    BackupEntry e;
    e.last_modified = beat;
    if (phase) {
      RunStatus s;
      s.phase = std::string(*phase);
      s.heartbeat_time = beat;
      s.message = "backup failed: denied";
      e.status = s;
      e.has_status = true;
      e.phase = s.phase;
    }
    return e;
  };
  BackupEntry live = entry(kPhaseInProgress, now - std::chrono::seconds(40));
  EXPECT_FALSE(IsAbandoned(live, now));
  EXPECT_EQ(NotRestorableReason(live, now), "in progress (last heartbeat 40s ago)");
  BackupEntry dead = entry(kPhaseInProgress, now - std::chrono::hours(3));
  EXPECT_TRUE(IsAbandoned(dead, now));
  EXPECT_EQ(NotRestorableReason(dead, now), "abandoned: InProgress, last heartbeat 3h0m0s ago");
  BackupEntry failed = entry(kPhaseFailed, now - std::chrono::seconds(5));
  EXPECT_TRUE(IsAbandoned(failed, now));
  EXPECT_EQ(NotRestorableReason(failed, now), "run Failed: backup failed: denied");
  BackupEntry bare = entry(std::nullopt, now - std::chrono::minutes(16));
  EXPECT_TRUE(IsAbandoned(bare, now));
  EXPECT_EQ(NotRestorableReason(bare, now),
            "no manifest, no status; newest object written 16m0s ago");
  BackupEntry ended = entry(kPhaseCompleted, now);
  EXPECT_EQ(NotRestorableReason(ended, now), "no manifest although the run ended Completed");
}

TEST_F(CatalogTest, PendingUploadsAreListedWithTheirBytes) {
  store::PutOptions opts;
  auto a = store_.PutStream(layout_.BackupObjectKey("b1", "resources.tar.zst"), opts);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Write(std::string(3000, 'x')).ok());
  auto b = store_.PutStream("prod/elsewhere", opts);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Write(std::string(5, 'x')).ok());
  auto other = store_.PutStream("other-prefix/backups/b1/resources.tar.zst", opts);
  ASSERT_TRUE(other.ok());
  auto done = store_.PutStream(layout_.BackupObjectKey("b2", "resources.tar.zst"), opts);
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE((*done)->Write("y").ok());
  ASSERT_TRUE((*done)->Close().ok());

  auto p = ListPendingUploads(store_, layout_);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->prefix, "prod/");
  ASSERT_EQ(p->uploads.size(), 2u);
  EXPECT_EQ(p->uploads[0].upload.key, "prod/backups/b1/resources.tar.zst");
  EXPECT_EQ(p->uploads[0].backup, "b1");
  EXPECT_EQ(p->uploads[0].bytes, 3000u);
  EXPECT_EQ(p->uploads[1].upload.key, "prod/elsewhere");
  EXPECT_EQ(p->uploads[1].backup, "");
  EXPECT_EQ(p->bytes, 3005u);
  EXPECT_EQ(p->unsized, 0u);

  // Sizing is bounded: beyond it uploads are counted, not sized.
  auto bounded = ListPendingUploads(store_, layout_, 1);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->uploads.size(), 2u);
  EXPECT_EQ(bounded->unsized, 1u);
  EXPECT_EQ(bounded->bytes, 3000u);
  EXPECT_FALSE(bounded->uploads[1].bytes.has_value());

  (*a)->Abort();
  (*b)->Abort();
  auto none = ListPendingUploads(store_, layout_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->uploads.empty());
  EXPECT_EQ(none->bytes, 0u);
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

  // A manifest that cannot be fetched is not an unreadable one: the listing fails.
  ASSERT_TRUE(store.inner().Put("backups/b1/manifest.json", "{}", {}).ok());
  store.fault = [](std::string_view op, std::string_view key) {
    return op == "get" && key.ends_with("manifest.json")
               ? base::Error(Code::kUnavailable, "503 SlowDown")
               : base::Status::Ok();
  };
  auto manifest_down = ListBackups(store, layout);
  ASSERT_FALSE(manifest_down.ok());
  EXPECT_EQ(manifest_down.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cairn::vault
