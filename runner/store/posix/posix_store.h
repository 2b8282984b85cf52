// store/posix: an ObjectStore over a local directory (file:///path), the embedded default.
//
// Keys map to files below the root. Every write goes to a temporary file in <root>/.cairn-tmp,
// is fsynced, then published atomically: rename() to replace, link() to create only if absent
// (link fails with EEXIST, so of two concurrent creators exactly one wins), and the parent
// directory is fsynced. An interrupted write leaves only a temporary file, which
// ListPendingUploads reports and AbortPendingUpload removes, like an incomplete S3 upload.
// Backups hold Secrets: directories are created 0700 and files 0600.
#pragma once

#include <string>

#include "store/object_store.h"

namespace cairn::store {

class PosixStore final : public ObjectStore {
 public:
  // Creates the root directory when missing.
  static Result<std::unique_ptr<PosixStore>> Open(std::string root);

  Capabilities caps() const override { return {true, false, false}; }
  std::string Describe() const override { return "file://" + root_; }
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
  class FileSink;
  explicit PosixStore(std::string root) : root_(std::move(root)) {}
  Result<std::string> PathOf(std::string_view key) const;
  Status WriteSidecar(const std::string& path, std::string_view key);
  // Publishes the fsynced temporary file at `tmp` as `key`.
  Status Publish(const std::string& tmp, const std::string& key, bool if_none_match);

  std::string root_;
};

}  // namespace cairn::store
