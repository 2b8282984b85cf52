// Test helpers for tests/unit/vault: fixture files and a store decorator that can drop the
// conditional-create capability and run a hook before each call (to stage races).
#pragma once

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "store/memory/memory_store.h"

namespace cairn::vault::vaulttest {

using base::Result;
using base::Status;

inline std::string ReadFixture(std::string_view name) {
  std::ifstream in(std::string(CAIRN_TEST_DATA) + "/vault/" + std::string(name), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline base::TimePoint At(std::string_view rfc3339) { return base::ParseRfc3339(rfc3339).value(); }

// Delegates to a MemoryStore. `hook(op, key)` runs before each call ("put", "get", "head",
// "delete", "list"); when `fault(op, key)` returns an error the call fails with it.
// `conditional` is reported as caps().conditional_create, and when false if_none_match is
// ignored, like a store without the feature.
class HookStore final : public store::ObjectStore {
 public:
  explicit HookStore(const base::Clock& clock) : mem_(clock) {}

  bool conditional = true;
  std::function<void(std::string_view op, std::string_view key)> hook;
  std::function<Status(std::string_view op, std::string_view key)> fault;
  store::MemoryStore& inner() { return mem_; }

  store::Capabilities caps() const override {
    auto c = mem_.caps();
    c.conditional_create = conditional;
    return c;
  }
  std::string Describe() const override { return "hook+memory://"; }
  Status Put(std::string_view key, std::string_view data, const store::PutOptions& opts) override {
    RETURN_IF_ERROR(Run("put", key));
    store::PutOptions o = opts;
    if (!conditional) o.if_none_match = false;
    return mem_.Put(key, data, o);
  }
  Result<std::unique_ptr<io::Sink>> PutStream(std::string_view key,
                                              const store::PutOptions& opts) override {
    RETURN_IF_ERROR(Run("putstream", key));
    return mem_.PutStream(key, opts);
  }
  Result<std::unique_ptr<io::Source>> Get(std::string_view key,
                                          const store::ByteRange& range) override {
    RETURN_IF_ERROR(Run("get", key));
    return mem_.Get(key, range);
  }
  Result<store::ObjectInfo> Head(std::string_view key) override {
    RETURN_IF_ERROR(Run("head", key));
    return mem_.Head(key);
  }
  Status List(const store::ListOptions& opts,
              const std::function<bool(const store::ListPage&)>& page) override {
    RETURN_IF_ERROR(Run("list", opts.prefix));
    return mem_.List(opts, page);
  }
  Status Delete(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) RETURN_IF_ERROR(Run("delete", k));
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

 private:
  Status Run(std::string_view op, std::string_view key) {
    if (hook) hook(op, key);
    return fault ? fault(op, key) : Status::Ok();
  }
  store::MemoryStore mem_;
};

}  // namespace cairn::vault::vaulttest
