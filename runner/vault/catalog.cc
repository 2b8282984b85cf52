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

// Reads and verifies manifest.json of `e`: Complete when it verifies, Unreadable (with the
// reason) when it does not. A store failure is returned.
Status ReadEntryManifest(store::ObjectStore& store, const Layout& layout, BackupEntry& e) {
  auto manifest = ReadManifest(store, layout, e.name);
  if (manifest.ok()) {
    e.state = BackupState::kComplete;
    // Rare (status lost or damaged): the manifest knows when the run started.
    if (!e.status) e.created = manifest->created;
    return Status::Ok();
  }
  const Status& st = manifest.status();
  if (st.code() == Code::kNotFound) {  // deleted since the listing: deletion starts with it
    e.complete = false;
    e.warnings.push_back("manifest '" + layout.ManifestKey(e.name) + "' disappeared while listing");
    return Status::Ok();
  }
  if (!IsDocumentProblem(st.code())) return st.Wrap("unable to list backups");
  e.state = BackupState::kUnreadable;
  e.unreadable_reason = st.message();
  return Status::Ok();
}

std::string Ago(base::TimePoint then, base::TimePoint now) {
  return base::FormatDuration(std::max(base::Duration::zero(), now - then)) + " ago";
}

}  // namespace

std::string_view StateName(BackupState state) {
  switch (state) {
    case BackupState::kComplete: return "Complete";
    case BackupState::kUnreadable: return "Unreadable";
    case BackupState::kIncomplete: break;
  }
  return "Incomplete";
}

bool IsAbandoned(const BackupEntry& e, base::TimePoint now) {
  if (e.state != BackupState::kIncomplete) return false;
  if (e.status && e.status->phase != kPhaseInProgress) return true;
  const base::TimePoint alive = e.status ? e.status->heartbeat_time : e.last_modified;
  return now - alive > kStaleHeartbeat;
}

std::string NotRestorableReason(const BackupEntry& e, base::TimePoint now) {
  switch (e.state) {
    case BackupState::kComplete: return "";
    case BackupState::kUnreadable: return "manifest unreadable: " + e.unreadable_reason;
    case BackupState::kIncomplete: break;
  }
  if (!e.status) {
    return std::string(e.has_status ? "no manifest, status unreadable" : "no manifest, no status") +
           "; newest object written " + Ago(e.last_modified, now);
  }
  const RunStatus& st = *e.status;
  if (st.phase == kPhaseInProgress) {
    const std::string beat = "last heartbeat " + Ago(st.heartbeat_time, now);
    return IsAbandoned(e, now) ? "abandoned: InProgress, " + beat : "in progress (" + beat + ")";
  }
  if (st.phase == kPhaseFailed) {
    return "run Failed" + (st.message.empty() ? std::string() : ": " + st.message);
  }
  return "no manifest although the run ended " + st.phase;
}

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
    if (e.complete) RETURN_IF_ERROR(ReadEntryManifest(store, layout, e));
    if (e.created == base::TimePoint{}) e.created = g.oldest;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
    return a.created != b.created ? a.created < b.created : a.name < b.name;
  });
  return out;
}

Result<PendingUploads> ListPendingUploads(store::ObjectStore& store, const Layout& layout,
                                          size_t max_sized) {
  const std::string prefix = layout.prefix().empty() ? "" : layout.prefix() + "/";
  auto listed = store.ListPendingUploads(prefix);
  if (!listed.ok()) {
    return listed.status().Wrap("unable to list pending uploads under '" + prefix + "' in " +
                                store.Describe());
  }
  PendingUploads out;
  out.prefix = prefix;
  size_t sized = 0;
  for (store::PendingUpload& u : *listed) {
    PendingUploadEntry e;
    if (auto parts = layout.ParseBackupKey(u.key)) e.backup = parts->name;
    if (sized < max_sized) {
      auto bytes = store.PendingUploadBytes(u);
      if (!bytes.ok() && bytes.status().code() == Code::kNotFound) continue;  // finished since
      if (!bytes.ok()) return bytes.status().Wrap("unable to list pending uploads");
      e.bytes = *bytes;
      out.bytes += *bytes;
      ++sized;
    } else {
      ++out.unsized;
    }
    e.upload = std::move(u);
    out.uploads.push_back(std::move(e));
  }
  std::sort(out.uploads.begin(), out.uploads.end(),
            [](const PendingUploadEntry& a, const PendingUploadEntry& b) {
              return a.upload.key != b.upload.key ? a.upload.key < b.upload.key
                                                  : a.upload.initiated < b.upload.initiated;
            });
  return out;
}

}  // namespace cairn::vault
