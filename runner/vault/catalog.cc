#include "vault/catalog.h"

#include <algorithm>
#include <map>
#include <utility>

#include "vault/manifest.h"

namespace cairn::vault {

using base::Code;
using base::Result;
using base::Status;

namespace {

// Codes that mean "this document is garbage" rather than "the store failed".
bool IsDocumentProblem(Code code) {
  return code == Code::kNotFound || code == Code::kDataLoss || code == Code::kInvalidArgument ||
         code == Code::kFailedPrecondition;
}

struct Group {
  BackupEntry entry;
  base::TimePoint oldest = base::TimePoint::max();
};

// Reads status.json of `e`. A store failure is returned; a bad document becomes a warning.
Status ReadEntryStatus(store::ObjectStore& store, const Layout& layout, BackupEntry& e) {
  const std::string key = layout.BackupObjectKey(e.name, kStatusObject);
  auto status = ReadStatus(store, key);
  if (!status.ok()) {
    if (!IsDocumentProblem(status.status().code())) {
      return status.status().Wrap("unable to list backups");
    }
    e.warnings.push_back(status.status().code() == Code::kNotFound
                             ? "status '" + key + "' disappeared while listing"
                             : status.status().message());
    return Status::Ok();
  }
  if (status->kind != kKindBackup || status->name != e.name) {
    e.warnings.push_back("status '" + key + "' describes " + status->kind + " '" + status->name +
                         "', not backup '" + e.name + "'");
    return Status::Ok();
  }
  e.phase = status->phase;
  e.created = status->start_time;
  e.status = std::move(*status);
  return Status::Ok();
}

}  // namespace

Result<std::vector<BackupEntry>> ListBackups(store::ObjectStore& store, const Layout& layout) {
  std::map<std::string, Group> groups;
  store::ListOptions opts;
  opts.prefix = layout.BackupsPrefix();
  Status listed = store.List(opts, [&](const store::ListPage& page) {
    for (const store::ObjectInfo& o : page.objects) {
      auto parts = layout.ParseBackupKey(o.key);
      if (!parts) continue;  // garbage outside any backup directory
      Group& g = groups[parts->name];
      BackupEntry& e = g.entry;
      e.name = parts->name;
      e.size += o.size;
      ++e.object_count;
      if (parts->rel == kManifestObject) e.complete = true;
      if (parts->rel == kStatusObject) e.has_status = true;
      g.oldest = std::min(g.oldest, o.last_modified);
      e.last_modified = std::max(e.last_modified, o.last_modified);
    }
    return true;
  });
  if (!listed.ok()) {
    return listed.Wrap("unable to list backups under '" + opts.prefix + "' in " + store.Describe());
  }

  std::vector<BackupEntry> out;
  out.reserve(groups.size());
  for (auto& [name, g] : groups) {
    BackupEntry& e = g.entry;
    if (e.has_status) RETURN_IF_ERROR(ReadEntryStatus(store, layout, e));
    if (!e.status && e.complete) {
      // Rare (status lost or damaged): the manifest knows when the run started.
      auto manifest = ReadManifest(store, layout, e.name);
      if (manifest.ok()) {
        e.created = manifest->created;
      } else if (IsDocumentProblem(manifest.status().code())) {
        e.warnings.push_back(manifest.status().message());
      } else {
        return manifest.status().Wrap("unable to list backups");
      }
    }
    if (e.created == base::TimePoint{}) e.created = g.oldest;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
    return a.created != b.created ? a.created < b.created : a.name < b.name;
  });
  return out;
}

}  // namespace cairn::vault
