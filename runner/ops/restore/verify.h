// ops/restore/verify: reads a backup once, verifying every stored object against its manifest
// and keeping the archive's objects for the plan.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/manifest.h"

namespace cairn::ops::restore {

struct BackupContent {
  nlohmann::json metadata;  // metadata/backup.json
  // (group, resource) → (namespace, name) → version → the object's JSON text
  std::map<std::pair<std::string, std::string>,
           std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>>>
      objects;
  int64_t entries = 0;
};

// Streams every object listed in `manifest`; `problems` receives one line per mismatch
// (size, checksum, entry count, corrupt or truncated data), naming the object. The content is
// usable only when `problems` stays empty.
BackupContent ReadVerified(store::ObjectStore& store, const vault::Layout& layout,
                           const vault::Manifest& manifest, std::vector<std::string>* problems);

}  // namespace cairn::ops::restore
