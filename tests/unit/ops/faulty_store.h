// A fault-injecting ObjectStore for operation tests: forwards to a MemoryStore and, when told
// to, fails listings or writes, corrupts probe reads, ignores conditional create, reports a
// storage class or a clock skew, or keeps objects after a delete. Every fault is off by default,
// so an untouched FaultyStore behaves exactly like the MemoryStore it wraps.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "io/stream.h"
#include "store/memory/memory_store.h"

namespace cairn::opstest {

using base::Result;
using base::Status;

class FaultyStore final : public store::ObjectStore {
 public:
  explicit FaultyStore(const base::Clock& clock) : mem_(clock) {}

  std::optional<Status> list_error;   // every List fails with it
  std::optional<Status> put_error;    // every Put fails with it
  bool corrupt_probe_reads = false;   // Get of keys under ".cairn-probe/" returns other bytes
  bool ignore_if_none_match = false;  // caps() still claims conditional create; Put overwrites
  std::string head_storage_class;     // reported by Head of an existing object when not empty
  std::optional<std::chrono::seconds> clock_skew;  // ObservedClockSkew()
  bool delete_keeps_objects = false;               // Delete succeeds but removes nothing

  store::MemoryStore& inner() { return mem_; }

  store::Capabilities caps() const override { return mem_.caps(); }
  std::string Describe() const override { return mem_.Describe(); }

  Status Put(std::string_view key, std::string_view data, const store::PutOptions& opts) override {
    if (put_error) return *put_error;
    store::PutOptions o = opts;
    if (ignore_if_none_match) o.if_none_match = false;
    return mem_.Put(key, data, o);
  }
  Result<std::unique_ptr<io::Sink>> PutStream(std::string_view key,
                                              const store::PutOptions& opts) override {
    if (put_error) return *put_error;
    store::PutOptions o = opts;
    if (ignore_if_none_match) o.if_none_match = false;
    return mem_.PutStream(key, o);
  }
  Result<std::unique_ptr<io::Source>> Get(std::string_view key,
                                          const store::ByteRange& range = {}) override {
    if (!corrupt_probe_reads || key.find(".cairn-probe/") == std::string_view::npos) {
      return mem_.Get(key, range);
    }
    auto data = mem_.GetAll(key);
    if (!data.ok()) return data.status();
    std::string bytes = std::move(*data);
    if (bytes.empty()) {
      bytes = "x";
    } else {
      bytes[0] = static_cast<char>(bytes[0] ^ 0x20);
    }
    return std::unique_ptr<io::Source>(new OwnedSource(std::move(bytes)));
  }
  Result<store::ObjectInfo> Head(std::string_view key) override {
    auto info = mem_.Head(key);
    if (info.ok() && !head_storage_class.empty()) info->storage_class = head_storage_class;
    return info;
  }
  Status List(const store::ListOptions& opts,
              const std::function<bool(const store::ListPage&)>& page) override {
    if (list_error) return *list_error;
    return mem_.List(opts, page);
  }
  Status Delete(const std::vector<std::string>& keys) override {
    if (delete_keeps_objects) return Status::Ok();
    return mem_.Delete(keys);
  }
  Result<std::vector<store::PendingUpload>> ListPendingUploads(std::string_view p) override {
    return mem_.ListPendingUploads(p);
  }
  Status AbortPendingUpload(const store::PendingUpload& u) override {
    return mem_.AbortPendingUpload(u);
  }
  Result<uint64_t> PendingUploadBytes(const store::PendingUpload& u) override {
    return mem_.PendingUploadBytes(u);
  }
  std::optional<std::chrono::seconds> ObservedClockSkew() const override { return clock_skew; }

 private:
  class OwnedSource final : public io::Source {
   public:
    explicit OwnedSource(std::string data) : data_(std::move(data)), src_(data_) {}
    Result<size_t> Read(std::span<char> buf) override { return src_.Read(buf); }

   private:
    std::string data_;
    io::StringSource src_;
  };

  store::MemoryStore mem_;
};

}  // namespace cairn::opstest
