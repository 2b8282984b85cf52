#include "mover/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace cairn::mover {
namespace {

using nlohmann::json;
using Phase = MoverState::Phase;

// A launcher whose movers follow a script: each Poll takes the next state of the Job's
// script; the last state repeats.
class FakeLauncher : public Launcher {
 public:
  std::map<std::string, std::vector<MoverState>> script;
  std::set<std::string> fail_start;
  std::map<std::string, int> live_per_node, max_per_node;
  std::map<std::string, std::string> node_of;
  std::vector<std::string> started, deleted;
  std::vector<SecretData> secrets_seen;

  base::Result<MoverId> Start(const json& job, const SecretData& secret) override {
    std::string name = job["metadata"]["name"];
    if (fail_start.count(name))
      return base::Error(base::Code::kPermissionDenied, "jobs is forbidden");
    started.push_back(name);
    secrets_seen.push_back(secret);
    std::string node = job["node"];
    node_of[name] = node;
    max_per_node[node] = std::max(max_per_node[node], ++live_per_node[node]);
    return MoverId{"shop", name};
  }
  base::Result<MoverState> Poll(const MoverId& id) override {
    auto& s = script[id.name];
    MoverState st = s.front();
    if (s.size() > 1) s.erase(s.begin());
    return st;
  }
  base::Status Delete(const MoverId& id) override {
    deleted.push_back(id.name);
    live_per_node[node_of[id.name]]--;
    return base::Status();
  }
};

VolumeTask Task(const std::string& pvc, const std::string& node) {
  return {"shop",
          pvc,
          node,
          {{"metadata", {{"name", "m-" + pvc}}}, {"node", node.empty() ? "*" : node}},
          {{"AWS_SECRET_ACCESS_KEY", "s3cr3t"}}};
}

MoverState S(Phase p, std::string reason = "") { return {p, std::move(reason), ""}; }

SchedulerOptions Opts(int per_node = 1) {
  SchedulerOptions o;
  o.per_node = per_node;
  o.volume_timeout = std::chrono::seconds(60);
  o.poll_min = std::chrono::milliseconds(100);
  o.poll_max = std::chrono::milliseconds(1000);
  return o;
}

base::FakeClock Clock() { return base::FakeClock(base::TimePoint{}); }

TEST(Scheduler, BoundsMoversPerNodeAndUnpinnedAsOnePseudoNode) {
  FakeLauncher l;
  std::vector<VolumeTask> tasks = {Task("a", "n1"), Task("b", "n1"), Task("c", "n2"), Task("d", ""),
                                   Task("e", "")};
  for (auto& t : tasks) {
    l.script["m-" + t.pvc] = {S(Phase::kRunning), S(Phase::kRunning), S(Phase::kSucceeded)};
  }
  auto clock = Clock();
  auto out = RunMovers(l, tasks, Opts(1), clock);
  ASSERT_EQ(out.size(), 5u);
  for (const auto& o : out) EXPECT_TRUE(o.completed) << o.pvc << ": " << o.reason;
  EXPECT_EQ(l.max_per_node["n1"], 1);
  EXPECT_EQ(l.max_per_node["n2"], 1);
  EXPECT_EQ(l.max_per_node["*"], 1);
  EXPECT_EQ(l.deleted.size(), 5u);  // every mover cleaned up
  // n1's second mover waited for the first; other nodes ran meanwhile.
  EXPECT_EQ(l.started[0], "m-a");
  EXPECT_EQ(l.started[1], "m-c");
}

TEST(Scheduler, ConcurrencyTwoRunsTwoPerNode) {
  FakeLauncher l;
  std::vector<VolumeTask> tasks = {Task("a", "n1"), Task("b", "n1"), Task("c", "n1")};
  for (auto& t : tasks) l.script["m-" + t.pvc] = {S(Phase::kRunning), S(Phase::kSucceeded)};
  auto clock = Clock();
  RunMovers(l, tasks, Opts(2), clock);
  EXPECT_EQ(l.max_per_node["n1"], 2);
}

TEST(Scheduler, FailureNamesTheVolumeAndTheMoversReason) {
  FakeLauncher l;
  l.script["m-a"] = {S(Phase::kPending, "Pending"),
                     S(Phase::kFailed,
                       "BackoffLimitExceeded: Job has reached the specified "
                       "backoff limit (exit code 1: access denied)")};
  auto clock = Clock();
  auto out = RunMovers(l, {Task("a", "n1")}, Opts(), clock);
  EXPECT_FALSE(out[0].completed);
  EXPECT_EQ(out[0].reason,
            "volume shop/a: mover m-a failed: BackoffLimitExceeded: Job has reached the "
            "specified backoff limit (exit code 1: access denied)");
  EXPECT_EQ(l.deleted, std::vector<std::string>{"m-a"});
}

TEST(Scheduler, TimeoutDeletesTheMoverWithItsPendingReason) {
  FakeLauncher l;
  l.script["m-a"] = {S(Phase::kPending, "Pending: 0/3 nodes are available: 3 Insufficient cpu.")};
  l.script["m-b"] = {S(Phase::kSucceeded)};
  auto clock = Clock();
  auto start = clock.Steady();
  auto out = RunMovers(l, {Task("a", "n1"), Task("b", "n1")}, Opts(), clock);
  EXPECT_FALSE(out[0].completed);
  EXPECT_NE(out[0].reason.find("volume shop/a: mover m-a did not finish within volume_timeout"),
            std::string::npos)
      << out[0].reason;
  EXPECT_NE(out[0].reason.find("Pending: 0/3 nodes are available"), std::string::npos);
  EXPECT_TRUE(out[1].completed);  // the node's slot was freed by the timeout
  EXPECT_GE(clock.Steady() - start, std::chrono::seconds(60));
  EXPECT_LT(clock.Steady() - start, std::chrono::seconds(63));
  EXPECT_EQ(l.deleted.size(), 2u);
}

TEST(Scheduler, StartErrorIsThatVolumesOutcome) {
  FakeLauncher l;
  l.fail_start = {"m-a"};
  l.script["m-b"] = {S(Phase::kSucceeded)};
  auto clock = Clock();
  auto out = RunMovers(l, {Task("a", "n1"), Task("b", "n1")}, Opts(), clock);
  EXPECT_FALSE(out[0].completed);
  EXPECT_EQ(out[0].reason, "volume shop/a: unable to start mover: jobs is forbidden");
  EXPECT_TRUE(out[1].completed);
}

// A launcher that raises the cancel flag the first time it is polled.
class CancellingLauncher : public FakeLauncher {
 public:
  std::atomic<bool>* cancel = nullptr;
  base::Result<MoverState> Poll(const MoverId& id) override {
    cancel->store(true);
    return FakeLauncher::Poll(id);
  }
};

TEST(Scheduler, CancelDeletesMoversInFlightAndStartsNoMore) {
  CancellingLauncher l;
  std::atomic<bool> cancel{false};
  l.cancel = &cancel;
  l.script["m-a"] = {S(Phase::kRunning)};
  SchedulerOptions o = Opts();
  o.cancel = &cancel;
  auto clock = Clock();
  auto out = RunMovers(l, {Task("a", "n1"), Task("b", "n1")}, o, clock);
  EXPECT_EQ(l.started, std::vector<std::string>{"m-a"});
  EXPECT_EQ(l.deleted, std::vector<std::string>{"m-a"});
  EXPECT_EQ(out[0].reason, "volume shop/a: mover m-a cancelled (deleted)");
  EXPECT_EQ(out[1].reason, "volume shop/b: cancelled before its mover started");
}

}  // namespace
}  // namespace cairn::mover
