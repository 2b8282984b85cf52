// gc's run (ops/gc/gc.h) against the memory store: what goes and in which order, idempotence,
// a failure between marking and deleting, the lease, abandoned runs, the prefix boundary.
#include <gtest/gtest.h>

#include <set>

#include "../vault/test_support.h"
#include "ops/gc/gc.h"
#include "vault/lease.h"
#include "vault/read_lease.h"
#include "vault/vault_info.h"

namespace cairn::ops::gc {
namespace {

using vault::vaulttest::At;
using vault::vaulttest::HookStore;

class FakeCluster final : public Cluster {
 public:
  std::vector<std::string> events;  // "reason: message"
  base::Status Emit(const vault::RunStatus&, const report::Event& e) override {
    events.push_back(e.reason + ": " + e.message);
    return base::Status::Ok();
  }
  base::Status MarkFailed(std::string_view kind, const vault::RunStatus& run,
                          const vault::RunStatus&, const report::Event& e) override {
    events.push_back(std::string(kind) + " " + run.phase + " " + e.reason + ": " + e.message);
    return base::Status::Ok();
  }
  base::Result<std::vector<DeleteRequest>> ListDeleteRequests() override {
    return std::vector<DeleteRequest>{};
  }
  base::Status Answer(const DeleteRequest&, const report::Event&, bool) override {
    return base::Status::Ok();
  }
};

class GcRun : public ::testing::Test {
 protected:
  GcRun() : clock_(At("2026-12-01T12:00:00Z")), store_(clock_), layout_("p") {
    EXPECT_TRUE(vault::InitVault(store_.inner(), layout_, clock_, "cairn test").ok());
  }

  // A backup as backup-run leaves it: status, data, manifest (contents do not matter to gc).
  void AddBackup(const std::string& name, const std::string& phase, bool complete,
                 base::TimePoint created, std::optional<base::TimePoint> expires = {}) {
    vault::RunStatus st;
    st.kind = "Backup";
    st.name = name;
    st.phase = phase;
    st.start_time = st.heartbeat_time = created;
    if (expires) st.extra["expiration"] = "\"" + base::FormatRfc3339(*expires) + "\"";
    ASSERT_TRUE(
        vault::WriteStatus(store_.inner(), layout_.BackupObjectKey(name, "status.json"), st).ok());
    Put(layout_.BackupObjectKey(name, "resources.tar.zst"));
    Put(layout_.BackupObjectKey(name, "volumes/shop/data-0.tar.zst"));
    if (complete) Put(layout_.ManifestKey(name));
  }
  void Put(const std::string& key) { ASSERT_TRUE(store_.inner().Put(key, "x", {}).ok()); }

  std::set<std::string> Keys() {
    std::set<std::string> out;
    auto all = store_.inner().ListAll({});
    for (const auto& o : all.value()) {
      if (o.key.find("/gc/") == std::string::npos) out.insert(o.key);  // gc's own statuses
    }
    return out;
  }

  Outcome RunGc(Options o = {}) {
    o.run_name = "gc-1";
    o.vault_name = "main";
    report::Reporter reporter(&store_, "p/gc/gc-1/status.json", nullptr);
    Deps deps{store_, layout_, reporter, &cluster_, clock_, cancel_};
    return gc::Run(deps, o);
  }

  base::FakeClock clock_;
  HookStore store_;
  vault::Layout layout_;
  FakeCluster cluster_;
  std::atomic<bool> cancel_{false};
};

TEST_F(GcRun, DeletesExactlyTheExpiredAndIsIdempotent) {
  const auto day = std::chrono::hours(24);
  const base::TimePoint now = clock_.Now();
  AddBackup("old", "Completed", true, now - 40 * day, now - 10 * day);
  AddBackup("young", "Completed", true, now - 2 * day, now + 28 * day);
  AddBackup("forever", "Completed", true, now - 400 * day);
  Put("p/notes/backups/old/manifest.json");  // foreign keys inside and outside the prefix
  Put("q/backups/old/manifest.json");
  Put("pp/backups/old/status.json");
  std::set<std::string> before = Keys();
  int64_t old_bytes = 0;
  auto old_objects = store_.inner().ListAll(store::ListOptions{"p/backups/old/", "", 1000});
  for (const auto& o : old_objects.value()) old_bytes += o.size;
  Outcome out = RunGc();
  ASSERT_EQ(out.exit_code, 0) << out.status.message;
  EXPECT_EQ(out.status.counts["expired"], 1);
  EXPECT_EQ(out.status.sizes["freedBytes"], old_bytes);
  std::set<std::string> expected;
  for (const auto& k : before) {
    if (k.rfind("p/backups/old/", 0) != 0) expected.insert(k);
  }
  EXPECT_EQ(Keys(), expected);
  EXPECT_EQ(cluster_.events,
            (std::vector<std::string>{"BackupExpired: backup old deleted: TTL expired at "
                                      "2026-11-21T12:00:00Z"}));
  Outcome again = RunGc();
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.status.counts["expired"], 0);
  EXPECT_EQ(Keys(), expected);
  auto gc_status = vault::ReadStatus(store_.inner(), "p/gc/gc-1/status.json");
  ASSERT_TRUE(gc_status.ok());
  EXPECT_EQ(gc_status->kind, "GC");  // written InProgress; the final one is main's to publish
  EXPECT_EQ(again.status.phase, "Completed");
}

TEST_F(GcRun, MarksDeletingFirstDeletesTheManifestFirstAndFinishesAfterAFailure) {
  const base::TimePoint now = clock_.Now();
  AddBackup("b", "Completed", true, now - std::chrono::hours(48), now - std::chrono::hours(1));
  std::vector<std::string> order;
  store_.hook = [&](std::string_view op, std::string_view key) {
    if ((op == "put" || op == "delete") && key.find("backups/b/") != std::string_view::npos) {
      order.push_back(std::string(op) + " " + std::string(key));
    }
  };
  store_.fault = [&](std::string_view op, std::string_view key) -> base::Status {
    if (op == "delete" && key == "p/backups/b/manifest.json") {
      return base::Error(base::Code::kUnavailable, "injected");
    }
    return base::Status::Ok();
  };
  Outcome out = RunGc();
  EXPECT_EQ(out.exit_code, 3);
  ASSERT_EQ(out.status.errors.count, 1);
  EXPECT_NE(out.status.errors.items[0].message.find("unable to delete the manifest of backup 'b'"),
            std::string::npos);
  auto st = vault::ReadStatus(store_.inner(), "p/backups/b/status.json");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, "Deleting");
  EXPECT_TRUE(store_.inner().Head("p/backups/b/resources.tar.zst").ok());
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order[0], "put p/backups/b/status.json");
  EXPECT_EQ(order[1], "delete p/backups/b/manifest.json");

  store_.fault = nullptr;
  order.clear();
  Outcome next = RunGc();
  EXPECT_EQ(next.exit_code, 0) << next.status.message;
  EXPECT_EQ(next.status.counts["deletionsFinished"], 1);
  EXPECT_EQ(order.front(), "delete p/backups/b/manifest.json");
  EXPECT_EQ(order.back(), "delete p/backups/b/status.json");
  for (const auto& k : Keys()) EXPECT_EQ(k.find("backups/b/"), std::string::npos) << k;
}

TEST_F(GcRun, ASecondGcSkipsWhileTheLeaseIsHeld) {
  auto held = vault::AcquireLease(store_.inner(), layout_, "gc", {"other", "h", "gc-pod", ""},
                                  std::chrono::seconds(300), clock_);
  ASSERT_TRUE(held.ok());
  AddBackup("old", "Completed", true, clock_.Now() - std::chrono::hours(48), clock_.Now());
  Outcome out = RunGc();
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.skipped);
  EXPECT_NE(out.message.find("held by holder 'other'"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("until 2026-12-01T12:05:00Z"), std::string::npos) << out.message;
  EXPECT_TRUE(store_.inner().Head("p/backups/old/manifest.json").ok());
  clock_.Advance(std::chrono::seconds(301));  // expired: taken over
  EXPECT_FALSE(RunGc().skipped);
  EXPECT_FALSE(store_.inner().Head("p/backups/old/manifest.json").ok());
  EXPECT_EQ(store_.inner().Head("p/locks/gc.json").status().code(), base::Code::kNotFound);
}

TEST_F(GcRun, AbandonedRunBecomesFailedAndLosesItsObjectsAndUploads) {
  const base::TimePoint now = clock_.Now();
  AddBackup("dead", "InProgress", false, now - std::chrono::hours(1));
  auto sink = store_.PutStream("p/backups/dead/volumes/shop/big.tar.zst", {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("partial").ok());
  ASSERT_EQ(store_.ListPendingUploads("p/").value().size(), 1u);
  Outcome out = RunGc();
  ASSERT_EQ(out.exit_code, 0) << out.status.message;
  EXPECT_EQ(out.status.counts["abandonedRuns"], 1);
  auto st = vault::ReadStatus(store_.inner(), "p/backups/dead/status.json");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, "Failed");
  EXPECT_EQ(st->message, "run stopped without finishing (heartbeat lost at 2026-12-01T11:00:00Z)");
  EXPECT_EQ(store_.ListPendingUploads("p/").value().size(), 0u);
  std::set<std::string> left;
  for (const auto& k : Keys()) {
    if (k.find("backups/dead/") != std::string::npos) left.insert(k);
  }
  EXPECT_EQ(left, std::set<std::string>{"p/backups/dead/status.json"});
  ASSERT_EQ(cluster_.events.size(), 1u);
  EXPECT_EQ(cluster_.events[0],
            "backup Failed BackupAbandoned: backup dead: run stopped without finishing "
            "(heartbeat lost at 2026-12-01T11:00:00Z)");
  (*sink)->Abort();
}

// A gc stopped between the steps of abandoning a run (a kill, or here a failing delete) leaves
// what the next gc finishes: the objects go before the status says Failed. (Found by
// tests/integration/crash_test.py: marked Failed first, the run kept its objects for good.)
TEST_F(GcRun, AnAbandonedRunStoppedMidwayIsFinishedByTheNextGc) {
  AddBackup("dead", "InProgress", false, clock_.Now() - std::chrono::hours(1));
  store_.fault = [&](std::string_view op, std::string_view key) -> base::Status {
    if (op == "delete" && key.find("backups/dead/") != std::string_view::npos) {
      return base::Error(base::Code::kUnavailable, "injected");
    }
    return base::Status::Ok();
  };
  Outcome out = RunGc();
  EXPECT_EQ(out.exit_code, 3);
  auto st = vault::ReadStatus(store_.inner(), "p/backups/dead/status.json");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, "InProgress");

  store_.fault = nullptr;
  Outcome next = RunGc();
  EXPECT_EQ(next.exit_code, 0) << next.status.message;
  EXPECT_EQ(next.status.counts["abandonedRuns"], 1);
  st = vault::ReadStatus(store_.inner(), "p/backups/dead/status.json");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->phase, "Failed");
  std::set<std::string> left;
  for (const auto& k : Keys()) {
    if (k.find("backups/dead/") != std::string::npos) left.insert(k);
  }
  EXPECT_EQ(left, std::set<std::string>{"p/backups/dead/status.json"});
}

TEST_F(GcRun, ReadLeaseBlocksDeleteAndDryRunChangesNothing) {
  AddBackup("b", "Completed", true, clock_.Now());
  ASSERT_TRUE(vault::WriteReadLease(store_.inner(), layout_, "b", "restore", "r1", {},
                                    std::chrono::seconds(120), clock_)
                  .ok());
  Options o;
  o.plan.requests = {{"", "b", ""}};
  o.plan.only_requests = true;
  std::set<std::string> before = Keys();
  Outcome out = RunGc(o);
  EXPECT_EQ(out.exit_code, 0);
  ASSERT_EQ(out.plan.requests.size(), 1u);
  EXPECT_EQ(out.plan.requests[0].refusal,
            "read by restore 'r1' (lease until 2026-12-01T12:02:00Z)");
  EXPECT_TRUE(store_.inner().Head("p/backups/b/manifest.json").ok());
  clock_.Advance(std::chrono::seconds(121));
  o.dry_run = true;
  out = RunGc(o);
  EXPECT_EQ(out.plan.backups[0].action, Action::kRequest);
  EXPECT_EQ(Keys().size(), before.size());
  o.dry_run = false;
  out = RunGc(o);
  EXPECT_EQ(out.status.counts["deletedByRequest"], 1);
  EXPECT_FALSE(store_.inner().Head("p/backups/b/manifest.json").ok());
}

TEST_F(GcRun, RenewsTheLeaseDuringALongRunAndStopsWhenItIsLost) {
  for (int i = 0; i < 6; ++i) {
    AddBackup("b" + std::to_string(i), "Completed", true, clock_.Now() - std::chrono::hours(48),
              clock_.Now() - std::chrono::hours(1));
  }
  int lease_writes = 0;
  store_.hook = [&](std::string_view op, std::string_view key) {
    if (op == "put" && key == "p/locks/gc.json") ++lease_writes;
    if (op == "delete" && key.find("/manifest.json") != std::string_view::npos) {
      clock_.Advance(std::chrono::seconds(2));  // each deletion takes a while
    }
  };
  Options o;
  o.lease_duration = std::chrono::seconds(3);
  Outcome out = RunGc(o);
  EXPECT_EQ(out.exit_code, 0) << out.status.message;
  EXPECT_EQ(out.status.counts["expired"], 6);
  EXPECT_GE(lease_writes, 6);  // created once, then renewed before each later backup

  for (int i = 0; i < 3; ++i) {
    AddBackup("c" + std::to_string(i), "Completed", true, clock_.Now() - std::chrono::hours(48),
              clock_.Now() - std::chrono::hours(1));
  }
  store_.hook = [&](std::string_view op, std::string_view key) {
    if (op == "delete" && key == "p/backups/c0/manifest.json") {
      // Another gc takes the lease over (ours looked expired to it).
      vault::Lease other;
      other.key = "p/locks/gc.json";
      other.operation = "gc";
      other.holder.id = "intruder";
      other.acquired = other.renewed = clock_.Now();
      other.expires = clock_.Now() + std::chrono::seconds(300);
      other.lease_seconds = 300;
      ASSERT_TRUE(store_.inner().Put("p/locks/gc.json", vault::ToJson(other), {}).ok());
      clock_.Advance(std::chrono::seconds(2));
    }
  };
  out = RunGc(o);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.status.counts["expired"], 1);
  ASSERT_GE(out.status.errors.count, 1);
  EXPECT_NE(out.status.errors.items[0].message.find("gc stopped: unable to renew lease"),
            std::string::npos)
      << out.status.errors.items[0].message;
  EXPECT_TRUE(store_.inner().Head("p/backups/c1/manifest.json").ok());
}

TEST(GcRunEmpty, NoVaultNothingWritten) {
  base::FakeClock clock(At("2026-12-01T12:00:00Z"));
  store::MemoryStore store(clock);
  report::Reporter reporter(&store, "p/gc/gc-1/status.json", nullptr);
  std::atomic<bool> cancel{false};
  Deps deps{store, vault::Layout("p"), reporter, nullptr, clock, cancel};
  Options o;
  o.run_name = "gc-1";
  Outcome out = gc::Run(deps, o);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.skipped);
  EXPECT_TRUE(store.ListAll({}).value().empty());
}

}  // namespace
}  // namespace cairn::ops::gc
