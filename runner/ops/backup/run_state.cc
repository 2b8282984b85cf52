#include "ops/backup/run_state.h"

namespace cairn::ops::backup {

int Settle(base::Status result, bool stopped, const std::string& stop_reason,
           vault::RunStatus& st) {
  if (stopped && result.ok()) {
    st.AddWarning(vault::kScopeRunner, "stop requested after the backup was published (" +
                                           stop_reason + "); the backup is complete");
  } else if (stopped) {
    result = base::Error(base::Code::kCancelled, "backup cancelled: " + stop_reason);
  }
  if (!result.ok()) {
    st.AddError(vault::kScopeRunner, result.message());
    st.phase = std::string(vault::kPhaseFailed);
    st.message = "backup failed: " + result.ToString();
    // Nothing was published: totals of what was listed or uploaded so far mean nothing.
    st.counts.clear();
    st.sizes.clear();
    return 1;
  }
  if (st.errors.count > 0) {
    st.phase = std::string(vault::kPhasePartiallyFailed);
    st.message = "backup completed with " + std::to_string(st.errors.count) +
                 " errors; every failed resource or object is named in errors";
    return 3;
  }
  st.phase = std::string(vault::kPhaseCompleted);
  st.message = "backup completed: " + std::to_string(st.counts["objects"]) + " objects";
  return 0;
}

void RunState::AddError(std::string_view scope, std::string_view message, std::string_view object) {
  std::lock_guard<std::mutex> l(mu_);
  st_->AddError(scope, message, object);
}

void RunState::AddWarning(std::string_view scope, std::string_view message,
                          std::string_view object) {
  std::lock_guard<std::mutex> l(mu_);
  st_->AddWarning(scope, message, object);
}

void RunState::Update(const std::function<void(vault::RunStatus&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  fn(*st_);
}

vault::RunStatus RunState::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return *st_;
}

int64_t RunState::error_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return st_->errors.count;
}

Heartbeat::Heartbeat(RunState& state, report::Reporter& reporter, base::Clock& clock,
                     std::chrono::steady_clock::time_point steady_start,
                     std::chrono::milliseconds interval)
    : state_(state),
      reporter_(reporter),
      clock_(clock),
      steady_start_(steady_start),
      interval_(std::max(interval, std::chrono::milliseconds(1))) {
  thread_ = std::thread([this] { Loop(); });
}

void Heartbeat::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, interval_, [this] { return done_; })) {
    l.unlock();
    vault::RunStatus snap;
    state_.Update([&](vault::RunStatus& st) {
      st.heartbeat_time = clock_.Now();
      st.duration_seconds = std::chrono::duration<double>(clock_.Steady() - steady_start_).count();
      snap = st;
    });
    reporter_.Publish(snap, std::nullopt, "");
    l.lock();
  }
}

void Heartbeat::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cairn::ops::backup
