// The backup run's shared status and heartbeat, and the queue between listers and the archive
// writer: bounded by bytes, failure wakes everyone, order kept.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ops/backup/entry_queue.h"
#include "ops/backup/run_state.h"
#include "store/memory/memory_store.h"

namespace cairn::ops::backup {
namespace {

using namespace std::chrono_literals;

ArchiveEntry Entry(const std::string& path, size_t bytes) {
  ArchiveEntry e;
  e.path = path;
  e.data = std::string(bytes, 'x');
  return e;
}

TEST(SettleTest, AStopBeforePublicationFailsTheRunAndOneAfterItIsAWarning) {
  vault::RunStatus before;
  before.counts["objects"] = 7;
  EXPECT_EQ(Settle(base::Error(base::Code::kCancelled, "upload stopped"), true, "received SIGTERM",
                   before),
            1);
  EXPECT_EQ(before.phase, "Failed");
  EXPECT_EQ(before.message, "backup failed: backup cancelled: received SIGTERM");
  EXPECT_TRUE(before.counts.empty());

  vault::RunStatus after;  // the manifest is in the vault: the backup is complete
  after.counts["objects"] = 7;
  EXPECT_EQ(Settle(base::Status::Ok(), true, "received SIGTERM", after), 0);
  EXPECT_EQ(after.phase, "Completed");
  EXPECT_EQ(after.message, "backup completed: 7 objects");
  ASSERT_EQ(after.warnings.items.size(), 1u);
  EXPECT_EQ(after.warnings.items[0].message,
            "stop requested after the backup was published (received SIGTERM); the backup is "
            "complete");

  vault::RunStatus partial;
  partial.AddError(vault::kScopeCluster, "forbidden", "v1/secrets");
  EXPECT_EQ(Settle(base::Status::Ok(), false, "", partial), 3);
  EXPECT_EQ(partial.phase, "PartiallyFailed");
}

TEST(EntryQueueTest, ListersWaitWhenTheWriterIsBehindAndMemoryStaysBounded) {
  EntryQueue q(10'000);
  std::atomic<int> pushed{0};
  std::thread lister([&] {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(q.Push(Entry("e" + std::to_string(i), 1'000)).ok());
      ++pushed;
    }
    q.Close();
  });
  std::this_thread::sleep_for(100ms);
  // The writer has not taken anything: the lister waits after about capacity bytes.
  EXPECT_LE(pushed.load(), 10);
  EXPECT_GE(pushed.load(), 9);
  int popped = 0;
  while (auto e = q.Pop()) {
    EXPECT_EQ(e->path, "e" + std::to_string(popped));  // in order
    ++popped;
  }
  lister.join();
  EXPECT_EQ(popped, 100);
  EXPECT_LE(q.peak_bytes(), 10'000u);
}

TEST(EntryQueueTest, AnEntryLargerThanTheQueueGoesAlone) {
  EntryQueue q(100);
  ASSERT_TRUE(q.Push(Entry("big", 1'000)).ok());
  q.Close();
  auto e = q.Pop();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->data.size(), 1'000u);
  EXPECT_FALSE(q.Pop().has_value());
}

TEST(EntryQueueTest, FailureWakesWaitingListersWithIt) {
  EntryQueue q(100);
  ASSERT_TRUE(q.Push(Entry("a", 90)).ok());
  base::Status waiting;
  std::thread lister([&] { waiting = q.Push(Entry("b", 90)); });  // blocks: no room
  std::this_thread::sleep_for(50ms);
  q.Fail(base::Error(base::Code::kUnavailable, "upload failed"));
  lister.join();
  EXPECT_EQ(waiting.code(), base::Code::kUnavailable);
  EXPECT_EQ(waiting.message(), "upload failed");
  EXPECT_FALSE(q.Pop().has_value());
}

TEST(RunStateTest, HeartbeatPublishesWhileOtherThreadsAddIssues) {
  store::MemoryStore store;
  report::Reporter reporter(&store, "backups/b/status.json", nullptr, {"/nonexistent/term"});
  vault::RunStatus st;
  st.kind = "Backup";
  st.name = "b";
  st.start_time = base::RealClock().Now() - std::chrono::seconds(10);
  RunState state(&st);
  Heartbeat hb(state, reporter, base::RealClock(), std::chrono::steady_clock::now(), 5ms);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&state, t] {
      for (int i = 0; i < 500; ++i) {
        state.AddError("namespace/ns" + std::to_string(t), "error " + std::to_string(i));
        state.AddWarning(vault::kScopeCluster, "warning");
      }
    });
  }
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(30ms);
  hb.Stop();
  EXPECT_EQ(state.error_count(), 2000);
  auto written = vault::ReadStatus(store, "backups/b/status.json");
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_GT(written->heartbeat_time, st.start_time);
}

TEST(RunStateTest, StopReturnsAtOnceWhateverTheInterval) {
  store::MemoryStore store;
  report::Reporter reporter(&store, "backups/b/status.json", nullptr, {"/nonexistent/term"});
  vault::RunStatus st;
  RunState state(&st);
  for (int i = 0; i < 20; ++i) {
    Heartbeat hb(state, reporter, base::RealClock(), std::chrono::steady_clock::now(), 1h);
    const auto t0 = std::chrono::steady_clock::now();
    hb.Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  // Nothing was published: no interval passed.
  EXPECT_EQ(vault::ReadStatus(store, "backups/b/status.json").status().code(),
            base::Code::kNotFound);
}

}  // namespace
}  // namespace cairn::ops::backup
