#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <thread>

#include "mover/job_spec.h"
#include "mover/launcher.h"

namespace cairn::mover {
namespace {

std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string p(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return p.substr(0, p.rfind('/'));
}

MoverState WaitDone(Launcher& l, const MoverId& id) {
  for (int i = 0; i < 200; ++i) {
    auto s = l.Poll(id);
    EXPECT_TRUE(s.ok());
    if (!s.ok() || s->phase == MoverState::Phase::kSucceeded ||
        s->phase == MoverState::Phase::kFailed) {
      return s.ok() ? *s : MoverState{};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

TEST(LocalLauncher, ACommandWithoutSlashIsTheExecutableNextToTheRunningOne) {
  JobSpecInput in;
  in.backup_name = "b";
  in.namespace_name = "shop";
  in.pvc = "data";
  nlohmann::json job = BuildJob(in);  // command: backup-run, not built next to this test
  job["spec"]["template"]["spec"]["containers"][0]["command"] = {"no-such-mover"};
  auto l = NewLocalLauncher("/nonexistent");
  auto id = l->Start(job, {});
  ASSERT_TRUE(id.ok()) << id.status().message();
  MoverState s = WaitDone(*l, *id);
  EXPECT_EQ(s.phase, MoverState::Phase::kFailed);
  EXPECT_EQ(s.reason, "exit code 127: unable to run '" + SelfDir() +
                          "/no-such-mover': No such file or directory");
  EXPECT_TRUE(l->Delete(*id).ok());
  EXPECT_TRUE(l->Delete(*id).ok());  // safe to repeat
}

TEST(LocalLauncher, DeleteKillsTheProcessGroup) {
  JobSpecInput in;
  in.backup_name = "b";
  in.namespace_name = "shop";
  in.pvc = "data";
  nlohmann::json job = BuildJob(in);
  auto& c = job["spec"]["template"]["spec"]["containers"][0];
  std::string pidfile = testing::TempDir() + "/mover-grandchild.pid";
  std::remove(pidfile.c_str());
  c["command"] = {"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile + "; wait"};
  c["args"] = nlohmann::json::array();
  auto l = NewLocalLauncher("/nonexistent");
  auto id = l->Start(job, {});
  ASSERT_TRUE(id.ok());
  std::string pid;
  for (int i = 0; i < 100 && pid.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream(pidfile) >> pid;
  }
  ASSERT_FALSE(pid.empty());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(l->Delete(*id).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_FALSE(l->Poll(*id).ok());  // gone
  // The background sleep (a grandchild) went with the group: no process, or a zombie.
  bool alive = true;
  for (int i = 0; i < 100 && alive; ++i) {
    std::string stat;
    std::getline(std::ifstream("/proc/" + pid + "/stat"), stat);
    alive = !stat.empty() && stat.find(") Z") == std::string::npos;
    if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(alive) << "process " << pid << " survived";
}

}  // namespace
}  // namespace cairn::mover
