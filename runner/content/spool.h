// content/spool: the objects of a verified archive, held compressed between verification
// and apply.
//
// Verification must finish before the first write and the apply order is by tier, not by
// archive order, so the objects are kept; keeping them as JSON text made memory grow with the
// backup's size (133 MiB for 20,000 cluster-like objects). The spool keeps them in zstd chunks
// of about kChunkBytes of records of one resource (objects of one resource compress well
// together), and an index per resource: its stored versions, its kind, its object count and its
// chunks. The archive interleaves resources (FORMAT.md §5.1: they are listed in parallel), so
// each resource has its own open buffer; when the open buffers together pass kOpenBytes the
// largest is sealed early. Sealed chunks go to an unlinked temporary file when the spool has a
// directory for one (memory then stays flat whatever the backup's size; the file disappears
// with the process), else they stay in memory. Reading a resource decompresses one chunk at a
// time. Memory: kOpenBytes while reading, plus the compressed objects (about a tenth of their
// JSON) when they are held in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "content/entry_ref.h"

namespace cairn::content {

// One archive object as the spool returns it.
struct SpooledObject {
  EntryRef ref;
  std::string text;  // the object's JSON as stored in the archive
};

class Spool {
 public:
  // Records per chunk before it is compressed (uncompressed bytes; one object may exceed it).
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  // Uncompressed records held in open buffers, all resources together.
  static constexpr size_t kOpenBytes = size_t{8} << 20;

  // `dir`: where the temporary file goes ("" keeps everything in memory). A directory where no
  // file can be made keeps the chunks in memory too; disk_error() says why.
  explicit Spool(const std::string& dir = "");
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  bool on_disk() const { return fd_ >= 0; }
  const std::string& disk_error() const { return disk_error_; }
  // The directory given (the file is there when on_disk()).
  const std::string& dir() const { return dir_; }
  // Why the last write to the temporary file failed ("No space left on device"), or "".
  const std::string& write_error() const { return write_error_; }
  // Bytes in the temporary file (0 in memory).
  uint64_t file_bytes() const { return file_end_; }
  // Room the directory has left for this process (statvfs f_bavail); nullopt when unknown.
  std::optional<uint64_t> FreeBytes() const;
  // Bytes the spool needs for `logical` bytes of objects, at the compression of the chunks
  // sealed so far (the one whose write failed included); `logical` when none was sealed.
  uint64_t EstimateStored(uint64_t logical) const;

  using ResourceKey = std::pair<std::string, std::string>;  // (group, resource)
  struct ResourceInfo {
    std::vector<std::string> versions;  // stored versions, in archive order
    std::string kind;                   // `kind` of the first object that names one
    int64_t objects = 0;                // archive entries (an object per stored version)
    std::vector<size_t> chunks;         // indexes into chunks_, in archive order
  };

  // Adds an archive entry. `kind` may be "" (the object did not name one). An error is a
  // failure of this machine (no room left in dir(): write_error(), file_bytes()), never of
  // the entry.
  base::Status Add(const EntryRef& ref, std::string_view kind, std::string_view text);
  // Compresses the open chunk; call once after the last Add (ForEach requires it).
  base::Status Finish();

  const std::map<ResourceKey, ResourceInfo>& resources() const { return resources_; }
  const ResourceInfo* Find(const ResourceKey& key) const;

  // Calls `batch` with the objects of a resource, one chunk at a time, in archive order;
  // stops at the first error (`batch`'s or a corrupt chunk's, which cannot happen after a
  // successful Finish short of a bug). An unknown resource calls nothing.
  base::Status ForEach(const ResourceKey& key,
                       const std::function<base::Status(std::vector<SpooledObject>&)>& batch) const;

  // Frees the chunks of a resource that will not be read again.
  void Release(const ResourceKey& key);

  uint64_t compressed_bytes() const { return compressed_bytes_; }
  uint64_t logical_bytes() const { return logical_bytes_; }

 private:
  base::Status Seal(const ResourceKey& key);

  std::map<ResourceKey, ResourceInfo> resources_;
  struct Chunk {
    std::string data;  // compressed, when in memory ("" once released)
    uint64_t offset = 0, size = 0;
    bool released = false;
  };
  std::vector<Chunk> chunks_;
  std::string dir_;
  int fd_ = -1;  // the unlinked temporary file, or -1
  uint64_t file_end_ = 0;
  std::string disk_error_, write_error_;
  std::map<ResourceKey, std::string> open_;  // records not yet compressed, per resource
  size_t open_bytes_ = 0;
  uint64_t compressed_bytes_ = 0, logical_bytes_ = 0;
  uint64_t sealed_in_ = 0, sealed_out_ = 0;  // records compressed, and what they became
};

}  // namespace cairn::content
