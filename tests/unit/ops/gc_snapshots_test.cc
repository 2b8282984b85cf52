// gc and a backup's CSI snapshots (ops/gc/snapshots.h): deleted in the cluster that took them,
// before the manifest that lists them; a warning naming them otherwise; a transient failure
// keeps the backup for the next run.
#include <gtest/gtest.h>

#include <set>

#include "../vault/test_support.h"
#include "ops/gc/gc.h"
#include "vault/manifest.h"
#include "vault/snapshot_record.h"
#include "vault/vault_info.h"

namespace cairn::ops::gc {
namespace {

using base::Code;
using vault::vaulttest::At;
using vault::vaulttest::HookStore;

class SnapshotCluster final : public Cluster {
 public:
  std::string identity = "uid-here";
  base::Status fail = base::Status::Ok();
  std::vector<std::string> calls;  // "backup: content,content"
  std::function<void()> on_delete;
  base::Status Emit(const vault::RunStatus&, const report::Event&) override {
    return base::Status::Ok();
  }
  base::Status MarkFailed(std::string_view, const vault::RunStatus&, const vault::RunStatus&,
                          const report::Event&) override {
    return base::Status::Ok();
  }
  base::Result<std::vector<DeleteRequest>> ListDeleteRequests() override {
    return std::vector<DeleteRequest>{};
  }
  base::Status Answer(const DeleteRequest&, const report::Event&, bool) override {
    return base::Status::Ok();
  }
  base::Result<std::string> Identity() override { return identity; }
  base::Status DeleteSnapshots(std::string_view backup,
                               const std::vector<vault::SnapshotRecord>& records,
                               std::vector<std::string>*) override {
    if (on_delete) on_delete();
    std::string c;
    for (const auto& r : records) c += (c.empty() ? "" : ",") + r.volume_snapshot_content;
    calls.push_back(std::string(backup) + ": " + c);
    return fail;
  }
};

class GcSnapshots : public ::testing::Test {
 protected:
  GcSnapshots() : clock_(At("2026-12-01T12:00:00Z")), store_(clock_), layout_("p") {
    EXPECT_TRUE(vault::InitVault(store_.inner(), layout_, clock_, "cairn test").ok());
  }

  vault::SnapshotRecord Rec(const std::string& cluster, const std::string& pvc) {
    vault::SnapshotRecord r;
    r.cluster = cluster;
    r.namespace_name = "shop";
    r.pvc = pvc;
    r.volume_snapshot = "cairn-old-" + pvc;
    r.volume_snapshot_content = "snapcontent-" + pvc;
    r.snapshot_handle = "h-" + pvc;
    r.driver = "fast.csi.example.com";
    r.volume_snapshot_class = "fast-snap";
    r.restore_size = 1;
    r.ready_time = clock_.Now();
    return r;
  }

  // An expired backup whose manifest lists `records`.
  void AddExpired(const std::string& name, const std::vector<vault::SnapshotRecord>& records) {
    const auto day = std::chrono::hours(24);
    vault::RunStatus st;
    st.kind = "Backup";
    st.name = name;
    st.phase = "Completed";
    st.start_time = st.heartbeat_time = clock_.Now() - 40 * day;
    st.extra["expiration"] = "\"" + base::FormatRfc3339(clock_.Now() - day) + "\"";
    ASSERT_TRUE(
        vault::WriteStatus(store_.inner(), layout_.BackupObjectKey(name, "status.json"), st).ok());
    vault::Manifest m;
    m.name = name;
    m.created = st.start_time;
    m.completed = st.start_time;
    ASSERT_TRUE(vault::SetManifestSnapshots(m, records).ok());
    auto bytes = vault::SerializeManifest(m);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    ASSERT_TRUE(store_.inner().Put(layout_.ManifestKey(name), *bytes, {}).ok());
  }

  bool HasManifest(const std::string& name) {
    return store_.inner().Head(layout_.ManifestKey(name)).ok();
  }

  Outcome RunGc(Cluster* cluster) {
    Options o;
    o.run_name = "gc-1";
    o.vault_name = "main";
    report::Reporter reporter(&store_, "p/gc/gc-1/status.json", nullptr);
    Deps deps{store_, layout_, reporter, cluster, clock_, cancel_};
    return gc::Run(deps, o);
  }

  std::string Warnings(const Outcome& out) {
    std::string all;
    for (const auto& w : out.status.warnings.items) all += w.message + "\n";
    return all;
  }

  base::FakeClock clock_;
  HookStore store_;
  vault::Layout layout_;
  SnapshotCluster cluster_;
  std::atomic<bool> cancel_{false};
};

TEST_F(GcSnapshots, DeletesThemInTheClusterThatTookThemBeforeTheManifest) {
  AddExpired("old", {Rec("uid-here", "data"), Rec("uid-here", "logs")});
  bool manifest_there_during_delete = false;
  cluster_.on_delete = [&] { manifest_there_during_delete = HasManifest("old"); };
  Outcome out = RunGc(&cluster_);
  ASSERT_EQ(out.exit_code, 0) << out.status.message;
  EXPECT_EQ(cluster_.calls, std::vector<std::string>{"old: snapcontent-data,snapcontent-logs"});
  EXPECT_TRUE(manifest_there_during_delete);
  EXPECT_FALSE(HasManifest("old"));
  EXPECT_EQ(Warnings(out), "");
}

TEST_F(GcSnapshots, AnotherClusterOrNoClusterIsAWarningNamingThem) {
  AddExpired("old", {Rec("uid-elsewhere", "data")});
  Outcome out = RunGc(&cluster_);
  ASSERT_EQ(out.exit_code, 0) << out.status.message;
  EXPECT_TRUE(cluster_.calls.empty());
  EXPECT_NE(Warnings(out).find("backup 'old': its CSI snapshots stay in cluster uid-elsewhere "
                               "(gc runs in cluster uid-here): volume snapshot contents "
                               "snapcontent-data (PVC shop/data)"),
            std::string::npos)
      << Warnings(out);
  EXPECT_FALSE(HasManifest("old"));

  AddExpired("older", {Rec("uid-here", "data")});
  Outcome outside = RunGc(nullptr);
  ASSERT_EQ(outside.exit_code, 0);
  EXPECT_NE(Warnings(outside).find("(gc runs outside a cluster)"), std::string::npos)
      << Warnings(outside);
}

TEST_F(GcSnapshots, RefusedIsAWarningButUnavailableKeepsTheBackupForTheNextRun) {
  AddExpired("old", {Rec("uid-here", "data")});
  cluster_.fail = base::Status(Code::kUnavailable, "the server is currently unable");
  Outcome out = RunGc(&cluster_);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_TRUE(HasManifest("old"));
  cluster_.fail = base::Status(Code::kPermissionDenied, "volumesnapshotcontents is forbidden");
  Outcome again = RunGc(&cluster_);
  ASSERT_EQ(again.exit_code, 0) << again.status.message;
  EXPECT_FALSE(HasManifest("old"));
  EXPECT_NE(Warnings(again).find("(volumesnapshotcontents is forbidden)"), std::string::npos)
      << Warnings(again);
}

}  // namespace
}  // namespace cairn::ops::gc
