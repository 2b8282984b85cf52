// runner/snapshot against the Kubernetes API test server: the snapshot.storage.k8s.io CRDs with
// their real validation, and the test-driven snapshot controller (admin API "snapshot").
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "base/clock.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube_client_test.h"
#include "snapshot/class.h"
#include "snapshot/cleanup.h"
#include "snapshot/names.h"
#include "snapshot/restore.h"
#include "snapshot/take.h"

namespace cairn::snapshot {
namespace {

using base::Code;
using nlohmann::json;
using testing::KubeApiServer;
using namespace std::chrono_literals;

const kube::ResourceRef kPvcs{"", "v1", "persistentvolumeclaims", true};

std::string WriteSeed() {
  std::string path =
      ::testing::TempDir() + "cairn-snapshot-seed-" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << R"(apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: csi-fast}
provisioner: fast.csi.example.com
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: fast-snap
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
driver: fast.csi.example.com
deletionPolicy: Delete
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
)";
  for (const char* pvc : {"data", "slow", "broken", "exported"}) {
    std::ofstream(path, std::ios::app)
        << "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " << pvc
        << ", namespace: shop}\nspec:\n  storageClassName: csi-fast\n  accessModes: "
           "[ReadWriteOnce]\n  resources: {requests: {storage: 3Gi}}\n";
  }
  std::ofstream(path, std::ios::app)
      << "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: local, namespace: "
         "shop}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n";
  return path;
}

class SnapshotCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    struct stat st;
    if (stat(testing::kKubeApiServerScript.c_str(), &st) != 0) return;
    seed_ = WriteSeed();
    server_ = new KubeApiServer({"--seed", seed_});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (!seed_.empty()) unlink(seed_.c_str());
  }
  void SetUp() override {
    if (!server_) GTEST_SKIP() << "the Kubernetes API test server does not exist";
    ASSERT_TRUE(server_->ok()) << server_->log();
    auto cfg = kube::LoadClusterConfig({server_->dir() + "/kubeconfig", ""});
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    kube::ClientOptions o;
    o.retry.overall_deadline = 10s;
    auto c = kube::Client::Create(*cfg, o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    kube_ = std::move(c).value();
    auto id = ClusterIdentity(*kube_);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    cluster_ = *id;
  }
  void TearDown() override {
    if (server_ && server_->ok()) server_->Admin({{"snapshot", {{"auto", "off"}}}});
  }

  TakeOptions Opts(std::string backup, std::string pvc) {
    TakeOptions o;
    o.backup = std::move(backup);
    o.namespace_name = "shop";
    o.pvc = std::move(pvc);
    o.cluster = cluster_;
    o.timeout = 20s;
    o.poll = 50ms;
    return o;
  }
  json Get(const kube::ResourceRef& r, const std::string& ns, const std::string& name) {
    auto got = kube_->Get(r, ns, name);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : json();
  }
  bool Exists(const kube::ResourceRef& r, const std::string& ns, const std::string& name) {
    return kube_->Get(r, ns, name).ok();
  }
  json Physical() { return server_->Admin({{"snapshot", {{"auto", "off"}}}})["physicalSnapshots"]; }

  static KubeApiServer* server_;
  static std::string seed_;
  std::unique_ptr<kube::Client> kube_;
  std::string cluster_;
};

KubeApiServer* SnapshotCluster::server_ = nullptr;
std::string SnapshotCluster::seed_;

// The controller answers while Take waits: the wait sees readyToUse, then retains the content.
TEST_F(SnapshotCluster, TakeWaitsForReadyAndRetainsTheContent) {
  std::thread controller([&] {
    const std::string name = SnapshotName("b1", "data");
    for (int i = 0; i < 100 && !Exists(VolumeSnapshots(), "shop", name); ++i) {
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(200ms);
    server_->Admin({{"snapshot",
                     {{"namespace", "shop"},
                      {"name", name},
                      {"action", "ready"},
                      {"snapshotHandle", "fast-snap-0001"}}}});
  });
  auto rec = Take(*kube_, base::RealClock(), Opts("b1", "data"));
  controller.join();
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->volume_snapshot, "cairn-b1-data");
  EXPECT_EQ(rec->snapshot_handle, "fast-snap-0001");
  EXPECT_EQ(rec->driver, "fast.csi.example.com");
  EXPECT_EQ(rec->volume_snapshot_class, "fast-snap");
  EXPECT_EQ(rec->restore_size, 3ULL << 30);
  EXPECT_EQ(rec->cluster, cluster_);
  json content = Get(VolumeSnapshotContents(), "", rec->volume_snapshot_content);
  EXPECT_EQ(content["spec"]["deletionPolicy"], "Retain");
  json vs = Get(VolumeSnapshots(), "shop", "cairn-b1-data");
  EXPECT_EQ(vs["metadata"]["labels"]["cairn.io/backup-name"], "b1");
  // Retained: deleting the namespace's snapshot leaves the content and the storage snapshot.
  ASSERT_TRUE(kube_->Delete(VolumeSnapshots(), "shop", "cairn-b1-data").ok());
  EXPECT_TRUE(Exists(VolumeSnapshotContents(), "", rec->volume_snapshot_content));
  EXPECT_FALSE(Physical()["fast-snap-0001"]["deleted"].get<bool>());
  // gc: the content goes, and the storage snapshot with it.
  std::vector<std::string> deleted;
  ASSERT_TRUE(DeleteBackupSnapshots(*kube_, "b1", {*rec}, &deleted).ok());
  EXPECT_EQ(deleted,
            std::vector<std::string>{"volumesnapshotcontents/" + rec->volume_snapshot_content});
  EXPECT_TRUE(Physical()["fast-snap-0001"]["deleted"].get<bool>());
  EXPECT_TRUE(RemainingContents(*kube_, {*rec})->empty());
  EXPECT_TRUE(DeleteBackupSnapshots(*kube_, "b1", {*rec}).ok());  // idempotent
}

TEST_F(SnapshotCluster, TimeoutNamesThePvcAndTheStatusAndLeavesNothing) {
  TakeOptions o = Opts("b2", "slow");
  o.timeout = 700ms;
  auto rec = Take(*kube_, base::RealClock(), o);
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), Code::kDeadlineExceeded);
  EXPECT_NE(rec.status().message().find("snapshot of PVC 'shop/slow' not ready after"),
            std::string::npos)
      << rec.status().message();
  EXPECT_NE(rec.status().message().find("no status (is the snapshot controller running?)"),
            std::string::npos)
      << rec.status().message();
  EXPECT_FALSE(Exists(VolumeSnapshots(), "shop", SnapshotName("b2", "slow")));
}

TEST_F(SnapshotCluster, TheControllersErrorMessageSurfaces) {
  server_->Admin(
      {{"snapshot",
        {{"auto", "fail"}, {"message", "rpc error: code = ResourceExhausted desc = quota"}}}});
  TakeOptions o = Opts("b3", "broken");
  o.timeout = 500ms;
  auto rec = Take(*kube_, base::RealClock(), o);
  ASSERT_FALSE(rec.ok());
  EXPECT_NE(rec.status().message().find(
                "readyToUse false, not bound to a content, error: rpc error: code = "
                "ResourceExhausted desc = quota"),
            std::string::npos)
      << rec.status().message();
  EXPECT_NE(rec.status().message().find("PVC 'shop/broken'"), std::string::npos);
}

TEST_F(SnapshotCluster, NoClassForTheDriverIsAClearReason) {
  auto rec = Take(*kube_, base::RealClock(), Opts("b4", "local"));
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(rec.status().message().find("no default VolumeSnapshotClass for CSI driver "
                                        "'rancher.io/local-path' of PVC 'shop/local'"),
            std::string::npos)
      << rec.status().message();
  TakeOptions named = Opts("b4", "data");
  named.snapshot_class = "missing";
  EXPECT_NE(Take(*kube_, base::RealClock(), named)
                .status()
                .message()
                .find("'missing' (for PVC 'shop/data') does not exist"),
            std::string::npos);
}

json RestoredPvc(const std::string& ns, const std::string& name, const RestoreSource& s) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"storageClassName", "csi-fast"},
            {"accessModes", {"ReadWriteOnce"}},
            {"resources", {{"requests", {{"storage", "3Gi"}}}}},
            {"dataSource", DataSource(s)}}}};
}

TEST_F(SnapshotCluster, RestoreInTheSameAndInAnotherNamespace) {
  server_->Admin({{"snapshot", {{"auto", "ready"}}}});
  auto rec = Take(*kube_, base::RealClock(), Opts("b5", "data"));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  RestoreSourceOptions ro{"b5", "r1", "shop", 10s, 50ms};
  auto same = PrepareRestoreSource(*kube_, base::RealClock(), *rec, ro);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->volume_snapshot, rec->volume_snapshot);
  EXPECT_EQ(same->created_content, "");
  auto created = kube_->Create(kPvcs, "shop", RestoredPvc("shop", "data-restored", *same));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(Get(kPvcs, "shop", "data-restored")["status"]["phase"], "Bound");

  ro.target_namespace = "other";
  auto cross = PrepareRestoreSource(*kube_, base::RealClock(), *rec, ro);
  ASSERT_TRUE(cross.ok()) << cross.status().ToString();
  EXPECT_EQ(cross->namespace_name, "other");
  json alias = Get(VolumeSnapshotContents(), "", cross->created_content);
  EXPECT_EQ(alias["spec"]["deletionPolicy"], "Retain");
  EXPECT_EQ(alias["spec"]["source"]["snapshotHandle"], rec->snapshot_handle);
  created = kube_->Create(kPvcs, "other", RestoredPvc("other", "data", *cross));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(Get(kPvcs, "other", "data")["status"]["phase"], "Bound");
  // Again (a retried restore): the same objects are reused.
  ASSERT_TRUE(PrepareRestoreSource(*kube_, base::RealClock(), *rec, ro).ok());

  // A PVC naming a snapshot that does not exist stays Pending, as the provisioner leaves it.
  RestoreSource nowhere{"other", "nope", ""};
  ASSERT_TRUE(kube_->Create(kPvcs, "other", RestoredPvc("other", "lost", nowhere)).ok());
  EXPECT_EQ(Get(kPvcs, "other", "lost")["status"]["phase"], "Pending");

  // gc: the restore's alias pair and the backup's own pair go; the storage snapshot too.
  std::vector<std::string> deleted;
  ASSERT_TRUE(DeleteBackupSnapshots(*kube_, "b5", {*rec}, &deleted).ok());
  EXPECT_FALSE(Exists(VolumeSnapshotContents(), "", cross->created_content));
  EXPECT_FALSE(Exists(VolumeSnapshots(), "other", cross->volume_snapshot));
  EXPECT_FALSE(Exists(VolumeSnapshots(), "shop", rec->volume_snapshot));
  EXPECT_FALSE(Exists(VolumeSnapshotContents(), "", rec->volume_snapshot_content));
  EXPECT_TRUE(Physical()[rec->snapshot_handle]["deleted"].get<bool>());
  auto again = PrepareRestoreSource(*kube_, base::RealClock(), *rec, ro);
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("is not in this cluster"), std::string::npos);
}

// A retried run of the same backup takes over its snapshot; someone else's of that name is not
// touched.
TEST_F(SnapshotCluster, ARetriedTakeReusesItsSnapshotButNotAForeignOne) {
  server_->Admin({{"snapshot", {{"auto", "ready"}}}});
  auto first = Take(*kube_, base::RealClock(), Opts("b7", "data"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = Take(*kube_, base::RealClock(), Opts("b7", "data"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->volume_snapshot_content, first->volume_snapshot_content);
  EXPECT_EQ(again->snapshot_handle, first->snapshot_handle);
  json foreign = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                  {"kind", "VolumeSnapshot"},
                  {"metadata", {{"name", SnapshotName("b8", "data")}, {"namespace", "shop"}}},
                  {"spec", {{"source", {{"persistentVolumeClaimName", "data"}}}}}};
  ASSERT_TRUE(kube_->Create(VolumeSnapshots(), "shop", foreign).ok());
  auto refused = Take(*kube_, base::RealClock(), Opts("b8", "data"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("exists and is not this backup's"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(Exists(VolumeSnapshots(), "shop", SnapshotName("b8", "data")));
  ASSERT_TRUE(DeleteBackupSnapshots(*kube_, "b7", {*first}).ok());
}

TEST_F(SnapshotCluster, TemporaryPvcFromTheSnapshot) {
  server_->Admin({{"snapshot", {{"auto", "ready"}}}});
  auto rec = Take(*kube_, base::RealClock(), Opts("b6", "exported"));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  TempPvc t = TempPvcFor(Get(kPvcs, "shop", "exported"), *rec, "b6");
  EXPECT_EQ(t.name, "cairn-export-b6-exported");
  EXPECT_EQ(t.storage_class, "csi-fast");
  EXPECT_EQ(t.size, "3Gi");
  auto created = CreateTempPvc(*kube_, t);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  json pvc = Get(kPvcs, "shop", t.name);
  EXPECT_EQ(pvc["status"]["phase"], "Bound");
  EXPECT_EQ(pvc["spec"]["dataSourceRef"]["name"], rec->volume_snapshot);
  ASSERT_TRUE(DeleteTempPvc(*kube_, t).ok());
  EXPECT_FALSE(Exists(kPvcs, "shop", t.name));
  EXPECT_TRUE(DeleteTempPvc(*kube_, t).ok());
  ASSERT_TRUE(DeleteBackupSnapshots(*kube_, "b6", {*rec}).ok());
}

}  // namespace
}  // namespace cairn::snapshot
