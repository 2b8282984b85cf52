// io/stream: the byte streams every data path is built from.
//
// A Source is pulled (Read until it returns 0 at end of stream); a Sink is pushed (Write, then
// exactly one of Close, which commits, or Abort, which discards). A Sink destroyed without
// Close is aborted: nothing half-written ever looks complete. Filters wrap another stream and
// own it or borrow it as their constructor says. No stream holds more than a bounded buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace cairn::io {

using base::Result;
using base::Status;

class Source {
 public:
  virtual ~Source() = default;
  // Reads up to buf.size() bytes. Returns 0 only at end of stream. A short read is not EOF.
  virtual Result<size_t> Read(std::span<char> buf) = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(std::string_view data) = 0;
  // Flushes and commits. After Close the sink accepts nothing more.
  virtual Status Close() = 0;
  // Discards whatever was written (best effort, never fails loudly). Idempotent.
  virtual void Abort() = 0;
};

// Reads a Source to its end into a string, failing when it exceeds `limit` bytes.
Result<std::string> ReadAll(Source& src, size_t limit = 64 << 20);
// Copies src into dst (does not Close dst). Returns the number of bytes copied.
Result<uint64_t> Copy(Source& src, Sink& dst, size_t buffer_size = 1 << 20);

// A Source over bytes held in memory (a view: the bytes must outlive it).
class StringSource final : public Source {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(std::span<char> buf) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Counts the bytes read through it from `src` (borrowed).
class CountingSource final : public Source {
 public:
  explicit CountingSource(Source* src) : src_(src) {}
  Result<size_t> Read(std::span<char> buf) override;
  uint64_t size() const { return size_; }

 private:
  Source* src_;
  uint64_t size_ = 0;
};

// Passes through at most `limit` bytes of `src` (borrowed): the first read that would go past
// them, and every read after it, is kDataLoss naming `what`. The size a manifest records for a
// stream read from a vault bounds the work of reading it, however far a hostile stream (a zstd
// bomb) would go.
class BoundedSource final : public Source {
 public:
  BoundedSource(Source* src, uint64_t limit, std::string what)
      : src_(src), limit_(limit), what_(std::move(what)) {}
  Result<size_t> Read(std::span<char> buf) override;
  uint64_t size() const { return size_; }

 private:
  Status Longer() const;

  Source* src_;
  uint64_t limit_;
  std::string what_;
  uint64_t size_ = 0;
  bool past_limit_ = false;
};

// A Sink appending to a string; Close and Abort only mark it finished (Abort clears it).
class StringSink final : public Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  Status Write(std::string_view data) override;
  Status Close() override;
  void Abort() override;

 private:
  std::string* out_;
  bool closed_ = false;
};

}  // namespace cairn::io
