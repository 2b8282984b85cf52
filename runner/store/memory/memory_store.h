// store/memory: an in-process ObjectStore for unit tests, with the same semantics as the
// real drivers (conditional create, invisible-until-closed streams, ordered paged listing).
#pragma once

#include <map>
#include <mutex>

#include "store/object_store.h"

namespace cairn::store {

class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(const base::Clock& clock = base::RealClock()) : clock_(clock) {}

  Capabilities caps() const override { return {true, true, true}; }
  std::string Describe() const override { return "memory://"; }
  Status Put(std::string_view key, std::string_view data, const PutOptions& opts) override;
  Result<std::unique_ptr<io::Sink>> PutStream(std::string_view key,
                                              const PutOptions& opts) override;
  Result<std::unique_ptr<io::Source>> Get(std::string_view key,
                                          const ByteRange& range = {}) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(const ListOptions& opts, const std::function<bool(const ListPage&)>& page) override;
  Status Delete(const std::vector<std::string>& keys) override;
  Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) override;
  Status AbortPendingUpload(const PendingUpload& upload) override;
  Result<uint64_t> PendingUploadBytes(const PendingUpload& upload) override;

 private:
  struct Object {
    std::string data;
    ObjectInfo info;
  };
  class UploadSink;
  Status Commit(const std::string& key, std::string data, const PutOptions& opts);

  const base::Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;
  std::map<std::string, PendingUpload> pending_;   // by upload id
  std::map<std::string, uint64_t> pending_bytes_;  // by upload id: bytes written so far
  uint64_t next_upload_ = 0;
};

}  // namespace cairn::store
