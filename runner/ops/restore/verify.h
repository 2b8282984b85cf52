// ops/restore/verify: reads a backup once, verifying every stored object against its manifest
// and keeping the archive's objects (compressed, ops/restore/spool.h) for the plan.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ops/restore/spool.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/manifest.h"

namespace cairn::ops::restore {

struct BackupContent {
  // `spool_dir`: where the objects' temporary file goes (Spool; "" keeps them in memory).
  explicit BackupContent(const std::string& spool_dir) : objects(spool_dir) {}
  nlohmann::json metadata;  // metadata/backup.json
  Spool objects;            // every object entry of resources.tar.zst
  int64_t entries = 0;      // archive entries, metadata included
};

// Streams every object listed in `manifest`; `problems` receives one line per mismatch
// (size, checksum, entry count, corrupt or truncated data), naming the object. The content is
// usable only when `problems` stays empty.
void ReadVerified(store::ObjectStore& store, const vault::Layout& layout,
                  const vault::Manifest& manifest, BackupContent* content,
                  std::vector<std::string>* problems);

}  // namespace cairn::ops::restore
