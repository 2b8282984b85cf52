// io/read_ahead: see read_ahead.h.
#include "io/read_ahead.h"

#include <algorithm>
#include <cstring>

namespace cairn::io {

ReadAheadSource::ReadAheadSource(Source* upstream, size_t chunk, size_t depth)
    : upstream_(upstream) {
  for (size_t i = 0; i < std::max<size_t>(depth, 1); ++i) {
    free_.push_back(Chunk{std::vector<char>(std::max<size_t>(chunk, 1)), 0});
  }
  thread_ = std::thread([this] { Run(); });
}

void ReadAheadSource::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!finished_) cut_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Fills `c` from upstream until it is full or the stream ends. Returns false when nothing more
// follows (the end, an error in status_, or Stop).
bool ReadAheadSource::Fill(Chunk& c) {
  c.size = 0;
  while (c.size < c.data.size()) {
    auto n = upstream_->Read(std::span<char>(c.data.data() + c.size, c.data.size() - c.size));
    if (!n.ok()) {
      std::lock_guard lock(mu_);
      status_ = n.status();
      return false;
    }
    if (*n == 0) return false;
    c.size += *n;
    std::lock_guard lock(mu_);
    if (stop_) return false;
  }
  return true;
}

void ReadAheadSource::Run() {
  for (;;) {
    Chunk c;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) break;
      c = std::move(free_.front());
      free_.pop_front();
    }
    const bool more = Fill(c);
    std::lock_guard lock(mu_);
    if (c.size > 0) ready_.push_back(std::move(c));
    if (!more) break;
    cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  finished_ = true;
  cv_.notify_all();
}

bool ReadAheadSource::NextChunk() {
  std::unique_lock lock(mu_);
  if (!current_.data.empty()) free_.push_back(std::move(current_));
  current_ = Chunk{};
  pos_ = 0;
  cv_.notify_all();
  cv_.wait(lock, [this] { return !ready_.empty() || finished_; });
  if (ready_.empty()) return false;
  current_ = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

Result<size_t> ReadAheadSource::Read(std::span<char> buf) {
  if (buf.empty()) return size_t{0};
  if (pos_ == current_.size && !NextChunk()) {
    Stop();  // the thread is done: the upstream's state may be read from here on
    if (!status_.ok()) return status_;
    if (cut_) {
      return base::Error(base::Code::kCancelled, "read-ahead stopped before the end of the stream");
    }
    return size_t{0};
  }
  const size_t n = std::min(buf.size(), current_.size - pos_);
  std::memcpy(buf.data(), current_.data.data() + pos_, n);
  pos_ += n;
  return n;
}

}  // namespace cairn::io
