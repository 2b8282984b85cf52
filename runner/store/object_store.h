// store/object_store: one interface over S3-compatible buckets, local directories and memory.
//
// A store is rooted at a bucket (s3) or a directory (posix); keys are '/'-separated paths
// relative to that root, produced by vault/layout. Every driver gives the same semantics,
// proven by tests/unit/store/conformance_test.cc:
//  - Put replaces an object atomically; readers see the old or the new bytes, never a mix.
//  - Put with if_none_match fails with Code::kAlreadyExists when the key exists, and of two
//    concurrent writers exactly one wins (where caps().conditional_create; else see FORMAT.md).
//  - PutStream returns a Sink: nothing is visible under the key until Close() succeeds;
//    Abort() (or destruction without Close) leaves no object.
//  - Get streams the bytes; a truncated transfer is an error (kDataLoss), never short data.
//  - List returns keys in lexicographic order, paged; with a delimiter it folds common prefixes.
//  - Delete of a missing key is not an error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "io/stream.h"

namespace cairn::store {

using base::Result;
using base::Status;

struct Capabilities {
  bool conditional_create = false;  // atomic create-if-absent
  bool multipart = false;           // PutStream uploads in parts; incomplete uploads exist
  bool storage_classes = false;     // PutOptions::storage_class is honoured
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // opaque; quotes removed
  base::TimePoint last_modified{};
  std::string storage_class;  // empty when the driver has none ("STANDARD" on s3)
};

struct PutOptions {
  bool if_none_match = false;  // create only; kAlreadyExists when the key exists
  std::string storage_class;   // s3 only; empty = bucket default
  std::string content_type = "application/octet-stream";
};

struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // to the end when unset
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;  // with a delimiter: "a/b/" folded prefixes
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;  // empty: recursive
  int page_size = 1000;
};

// An incomplete multipart upload (s3) or an abandoned temporary file (posix).
struct PendingUpload {
  std::string key;
  std::string upload_id;
  base::TimePoint initiated{};
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual Capabilities caps() const = 0;
  // Where the store points, for messages: "s3://bucket (endpoint https://...)", "file:///x".
  virtual std::string Describe() const = 0;

  virtual Status Put(std::string_view key, std::string_view data, const PutOptions& opts) = 0;
  virtual Result<std::unique_ptr<io::Sink>> PutStream(std::string_view key,
                                                      const PutOptions& opts) = 0;
  virtual Result<std::unique_ptr<io::Source>> Get(std::string_view key,
                                                  const ByteRange& range = {}) = 0;
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;
  // Calls `page` for each page in key order; stops early when it returns false.
  virtual Status List(const ListOptions& opts,
                      const std::function<bool(const ListPage&)>& page) = 0;
  // Deletes the keys (in batches where the driver has a batch call).
  virtual Status Delete(const std::vector<std::string>& keys) = 0;

  virtual Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) = 0;
  virtual Status AbortPendingUpload(const PendingUpload& upload) = 0;
  // The bytes a pending upload holds so far (s3: the sum of its parts' sizes; posix: its
  // temporary file). kNotFound when it no longer exists (completed or aborted meanwhile).
  // Every driver implements it; the default says the store cannot tell.
  virtual Result<uint64_t> PendingUploadBytes(const PendingUpload& upload);

  // Server clock minus local clock as last observed (s3: the Date header); nullopt when the
  // driver has no remote clock or has not talked to it yet.
  virtual std::optional<std::chrono::seconds> ObservedClockSkew() const { return std::nullopt; }

  // Convenience built on the calls above.
  Result<std::string> GetAll(std::string_view key, size_t limit = 64 << 20);
  Result<std::vector<ObjectInfo>> ListAll(const ListOptions& opts);
};

}  // namespace cairn::store
