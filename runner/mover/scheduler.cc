#include "mover/scheduler.h"

#include <algorithm>
#include <map>

#include "base/log.h"

namespace cairn::mover {
namespace {

using Steady = std::chrono::steady_clock::time_point;

constexpr char kAnyNode[] = "*";

struct InFlight {
  size_t task = 0;
  MoverId id;
  std::string slot;  // the node (or "*") it counts against
  Steady started;
  std::string last;  // last Pending/Running reason
};

class Run {
 public:
  Run(Launcher& l, std::vector<VolumeTask>& tasks, const SchedulerOptions& o, base::Clock& c)
      : launcher_(l), tasks_(tasks), opts_(o), clock_(c), out_(tasks.size()) {
    for (size_t i = 0; i < tasks.size(); ++i) {
      out_[i].namespace_name = tasks[i].namespace_name;
      out_[i].pvc = tasks[i].pvc;
      pending_.push_back(i);
    }
  }

  std::vector<VolumeOutcome> Go() {
    auto wait = opts_.poll_min;
    while (!pending_.empty() || !flight_.empty()) {
      if (Cancelled()) {
        CancelAll();
        break;
      }
      bool changed = StartWhatFits();
      changed = PollAll() || changed;
      if (pending_.empty() && flight_.empty()) break;
      wait = changed ? opts_.poll_min : std::min(wait * 2, opts_.poll_max);
      Sleep(wait);
    }
    return std::move(out_);
  }

 private:
  // In slices, so that a SIGTERM is acted upon within 100 ms.
  void Sleep(std::chrono::milliseconds d) {
    constexpr std::chrono::milliseconds kSlice{100};
    for (auto left = d; left.count() > 0 && !Cancelled(); left -= kSlice) {
      clock_.SleepFor(std::min(left, kSlice));
    }
  }

  bool Cancelled() const { return opts_.cancel != nullptr && opts_.cancel->load(); }

  std::string Slot(const VolumeTask& t) const { return t.node.empty() ? kAnyNode : t.node; }

  std::string Prefix(size_t i) const {
    return "volume " + tasks_[i].namespace_name + "/" + tasks_[i].pvc + ": ";
  }

  bool StartWhatFits() {
    bool started = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      size_t i = *it;
      std::string slot = Slot(tasks_[i]);
      if (busy_[slot] >= std::max(1, opts_.per_node)) {
        ++it;
        continue;
      }
      it = pending_.erase(it);
      started = true;
      auto id = launcher_.Start(tasks_[i].job, tasks_[i].secret);
      tasks_[i].secret.clear();  // credentials held no longer than needed
      if (!id.ok()) {
        Fail(i, "unable to start mover: " + id.status().message());
        continue;
      }
      busy_[slot]++;
      flight_.push_back({i, *id, slot, clock_.Steady(), "Pending"});
    }
    return started;
  }

  bool PollAll() {
    bool changed = false;
    for (auto it = flight_.begin(); it != flight_.end();) {
      if (PollOne(*it)) {
        Finish(*it);
        it = flight_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    return changed;
  }

  // True when the mover is done (its outcome recorded).
  bool PollOne(InFlight& f) {
    auto st = launcher_.Poll(f.id);
    if (!st.ok()) {
      Fail(f.task, "mover " + f.id.name + " could not be watched: " + st.status().message());
      return true;
    }
    out_[f.task].node = st->node;
    switch (st->phase) {
      case MoverState::Phase::kSucceeded: out_[f.task].completed = true; return true;
      case MoverState::Phase::kFailed:
        Fail(f.task, "mover " + f.id.name + " failed: " + st->reason);
        return true;
      default: f.last = st->reason;
    }
    if (clock_.Steady() - f.started >= opts_.volume_timeout) {
      Fail(f.task, "mover " + f.id.name + " did not finish within volume_timeout " +
                       base::FormatDuration(opts_.volume_timeout) + " (" + f.last + ")");
      return true;
    }
    return false;
  }

  void Finish(const InFlight& f) {
    busy_[f.slot]--;
    base::Status st = launcher_.Delete(f.id);
    if (!st.ok()) {
      base::LogWarn("unable to delete mover " + f.id.namespace_name + "/" + f.id.name + ": " +
                    st.message());
    }
  }

  void Fail(size_t i, const std::string& why) {
    out_[i].completed = false;
    out_[i].reason = Prefix(i) + why;
  }

  void CancelAll() {
    for (const InFlight& f : flight_) {
      Fail(f.task, "mover " + f.id.name + " cancelled (deleted)");
      Finish(f);
    }
    flight_.clear();
    for (size_t i : pending_) Fail(i, "cancelled before its mover started");
    pending_.clear();
  }

  Launcher& launcher_;
  std::vector<VolumeTask>& tasks_;
  const SchedulerOptions& opts_;
  base::Clock& clock_;
  std::vector<VolumeOutcome> out_;
  std::vector<size_t> pending_;
  std::vector<InFlight> flight_;
  std::map<std::string, int> busy_;
};

}  // namespace

std::vector<VolumeOutcome> RunMovers(Launcher& launcher, std::vector<VolumeTask> tasks,
                                     const SchedulerOptions& opts, base::Clock& clock) {
  return Run(launcher, tasks, opts, clock).Go();
}

}  // namespace cairn::mover
