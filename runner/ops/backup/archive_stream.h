// ops/backup/archive_stream: the objects of a backup run as resources.tar.zst and
// resource-list.json.zst, written by one thread from the listers' EntryQueue.
//
// Each upload is out → SHA-256 of the stored bytes → zstd → SHA-256 of the logical bytes, so the
// manifest records what this run computed. Commit closes an upload and notes the ETag the
// vault reports for it right then, so publication can check the object is still this run's.
// An entry the listers could not prepare never reaches here (it is a per-object error); any
// failure here breaks the archive: the queue fails, the listers stop, the uploads are aborted.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "archive/tar.h"
#include "io/hash.h"
#include "io/zstd.h"
#include "ops/backup/entry_queue.h"
#include "ops/backup/run_state.h"
#include "store/object_store.h"
#include "vault/manifest.h"

namespace cairn::ops::backup {

// One upload stream with its hashes: out → stored hash → [zstd → logical hash].
struct Upload {
  store::ObjectStore* store = nullptr;
  std::string key;
  std::string content_type;
  std::unique_ptr<io::Sink> sink;
  std::unique_ptr<io::HashingSink> stored;
  std::unique_ptr<io::ZstdCompressSink> zstd;
  std::unique_ptr<io::HashingSink> logical;
  std::string etag;  // as the vault reported it right after Commit

  static base::Result<Upload> Open(store::ObjectStore& store, const std::string& key, int level,
                                   int workers, const std::string& content_type);
  io::Sink& in() { return *logical; }
  // Closes the stream (the object becomes visible) and notes its ETag.
  base::Status Commit();
  vault::StoredObject Describe(std::string_view rel) const;
};

class ArchiveStream {
 public:
  static base::Result<std::unique_ptr<ArchiveStream>> Open(store::ObjectStore& store,
                                                           const std::string& archive_key,
                                                           const std::string& list_key, int level,
                                                           int workers, base::TimePoint mtime);
  ~ArchiveStream() { Abort(); }

  base::Status AddMetadata(const std::string& json);
  // Writes the queue's entries until it is closed or failed. A write failure fails the queue
  // (so the listers stop) and is returned.
  base::Status Drain(EntryQueue& queue, RunState& state);
  // Ends the tar stream and commits both uploads.
  base::Status Finish();
  // Stops both uploads (nothing becomes visible). Idempotent; a no-op after Finish.
  void Abort();

  int64_t objects() const { return objects_; }
  int64_t cluster_objects() const { return cluster_objects_; }
  int64_t namespaces() const { return static_cast<int64_t>(namespaces_.size()); }
  int64_t entries() const { return entries_; }
  const Upload& archive() const { return archive_; }
  const Upload& list() const { return list_; }

 private:
  ArchiveStream() = default;
  base::Status Write(const ArchiveEntry& e, RunState& state);

  Upload archive_, list_;
  std::unique_ptr<archive::TarWriter> tar_;
  base::TimePoint mtime_{};
  bool finished_ = false;
  bool first_line_ = true;
  int64_t objects_ = 0, cluster_objects_ = 0, entries_ = 0;
  std::set<std::string> namespaces_;
};

}  // namespace cairn::ops::backup
