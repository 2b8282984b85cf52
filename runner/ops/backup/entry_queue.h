// ops/backup/entry_queue: hands archive entries from the listers to the one archive writer.
//
// Listers serialise objects and Push them; the writer Pops them into tar → zstd → upload. The
// queue holds at most `capacity_bytes` of entries (an entry larger than that is let in alone),
// so a lister waits only when the writer is that far behind, and memory stays flat whatever the
// number of objects. Close says no more entries come; Fail (the archive cannot be written)
// wakes everyone: Push returns the failure, Pop returns nothing more.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"

namespace cairn::ops::backup {

struct ArchiveEntry {
  std::string path;    // tar entry path
  std::string data;    // the object as compact JSON
  std::string line;    // its resource-list.json element
  std::string object;  // "<resource>.<group>/<version> <ns>/<name>", for messages
  std::string scope;   // "cluster" or "namespace/<ns>"
  std::string namespace_name;
  bool primary = false;    // the first stored version of its resource (counted once)
  bool pulled_in = false;  // a cluster-scoped object with a reason
};

class EntryQueue {
 public:
  explicit EntryQueue(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Waits for room; the failure given to Fail once the queue has failed.
  base::Status Push(ArchiveEntry e);
  // The next entry; nullopt once the queue is closed and empty, or failed.
  std::optional<ArchiveEntry> Pop();
  void Close();
  void Fail(base::Status why);

  uint64_t peak_bytes() const;

 private:
  static uint64_t Size(const ArchiveEntry& e) {
    return e.path.size() + e.data.size() + e.line.size() + e.object.size();
  }

  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_, ready_;
  std::deque<ArchiveEntry> items_;
  uint64_t bytes_ = 0, peak_ = 0;
  bool closed_ = false;
  base::Status failure_;
};

}  // namespace cairn::ops::backup
