// ops/backup/run_state: the status of a running backup, shared with its heartbeat.
//
// Every change to the status goes through RunState under one lock, and the heartbeat thread
// publishes a copy taken under that lock, so a listing thread adding an error never races the
// copy. Heartbeat publishes a snapshot (heartbeatTime = now) every `interval` until Stop,
// which returns at once (the flag is set under the heartbeat's own lock, so the thread cannot
// miss the wake-up and sleep for another interval).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "report/reporter.h"
#include "vault/status.h"

namespace cairn::ops::backup {

class RunState {
 public:
  explicit RunState(vault::RunStatus* status) : st_(status) {}

  void AddError(std::string_view scope, std::string_view message, std::string_view object = {});
  void AddWarning(std::string_view scope, std::string_view message, std::string_view object = {});
  // Runs `fn` on the status under the lock.
  void Update(const std::function<void(vault::RunStatus&)>& fn);
  vault::RunStatus Snapshot() const;
  int64_t error_count() const;

 private:
  mutable std::mutex mu_;
  vault::RunStatus* st_;
};

// Sets phase, message and exit code of a run that ended with `result` (streaming, then
// publication). A stop (SIGTERM, --timeout: `stop_reason`) before the manifest was published
// fails the run; one after it changes nothing in the vault, so the backup stays Completed and
// the late stop is a warning. Returns the exit code (0, 1, or 3 for PartiallyFailed).
int Settle(base::Status result, bool stopped, const std::string& stop_reason, vault::RunStatus& st);

class Heartbeat {
 public:
  // Starts the thread: every `interval`, publishes a snapshot of `state` with heartbeatTime
  // and durationSeconds brought up to date (in the shared status too).
  Heartbeat(RunState& state, report::Reporter& reporter, base::Clock& clock,
            std::chrono::steady_clock::time_point steady_start, std::chrono::milliseconds interval);
  ~Heartbeat() { Stop(); }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Stops and joins the thread; idempotent.
  void Stop();

 private:
  void Loop();

  RunState& state_;
  report::Reporter& reporter_;
  base::Clock& clock_;
  std::chrono::steady_clock::time_point steady_start_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace cairn::ops::backup
