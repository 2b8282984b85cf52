#include "ops/backup/entry_queue.h"

#include <algorithm>

namespace cairn::ops::backup {

base::Status EntryQueue::Push(ArchiveEntry e) {
  const uint64_t size = Size(e);
  std::unique_lock<std::mutex> l(mu_);
  room_.wait(l, [&] { return !failure_.ok() || items_.empty() || bytes_ + size <= capacity_; });
  if (!failure_.ok()) return failure_;
  if (closed_) return base::Error(base::Code::kInternal, "archive entry queue is closed");
  bytes_ += size;
  peak_ = std::max(peak_, bytes_);
  items_.push_back(std::move(e));
  ready_.notify_one();
  return base::Status::Ok();
}

std::optional<ArchiveEntry> EntryQueue::Pop() {
  std::unique_lock<std::mutex> l(mu_);
  ready_.wait(l, [&] { return !failure_.ok() || closed_ || !items_.empty(); });
  if (!failure_.ok() || items_.empty()) return std::nullopt;
  ArchiveEntry e = std::move(items_.front());
  items_.pop_front();
  bytes_ -= Size(e);
  room_.notify_all();
  return e;
}

void EntryQueue::Close() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  ready_.notify_all();
}

void EntryQueue::Fail(base::Status why) {
  std::lock_guard<std::mutex> l(mu_);
  if (failure_.ok()) failure_ = std::move(why);
  room_.notify_all();
  ready_.notify_all();
}

uint64_t EntryQueue::peak_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return peak_;
}

}  // namespace cairn::ops::backup
