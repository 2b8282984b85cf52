// content/verify: reads a backup once, verifying every stored object against its manifest
// and every archive entry against its path, and keeping the archive's objects (compressed,
// content/spool.h) for what reads it next (a restore's plan, a conversion).
//
// A vault can be forged (the manifest's checksum is public), so an archive entry is hostile
// input until verified: each one must be one JSON object, nested at most kMaxEntryDepth levels,
// without duplicate member names, whose apiVersion, kind, metadata.name and metadata.namespace
// are those its path names (FORMAT.md §5.1). The check is a SAX scan (no recursion, no
// document built), so a 100,000-level entry costs its bytes and nothing more; everything after
// verification (plan, transform, apply, results) then only sees bounded objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "content/spool.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/manifest.h"

namespace cairn::content {

// Deepest nesting of an archive entry (the object itself is level 1); the vault's own documents
// have the same limit (FORMAT.md §1), and backup-run refuses deeper objects.
inline constexpr int kMaxEntryDepth = vault::kMaxObjectEntryDepth;
// Largest archive entry read (an object the API server stores is at most about 1.5 MiB).
inline constexpr size_t kMaxEntryBytes = vault::kMaxObjectEntryBytes;
// Problems listed one by one; more are counted in one last line.
inline constexpr size_t kMaxListedProblems = 1000;

struct BackupContent {
  // `spool_dir`: where the objects' temporary file goes (Spool; "" keeps them in memory).
  explicit BackupContent(const std::string& spool_dir) : objects(spool_dir) {}
  nlohmann::json metadata;  // metadata/backup.json
  Spool objects;            // every object entry of resources.tar.zst
  int64_t entries = 0;      // archive entries, metadata included
};

// Every problem of one archive object entry (empty when it is sound), without recursion:
// not JSON or not one object, nested deeper than kMaxEntryDepth, duplicate member names
// (where), and apiVersion, kind, metadata.name or metadata.namespace that disagree with `ref`.
// `want_kind`: the kind the backup's metadata gives the entry's resource ("" when unknown:
// any non-empty kind). `kind` receives the object's kind ("" when it has none).
std::vector<std::string> CheckEntry(const EntryRef& ref, std::string_view text,
                                    std::string_view want_kind, std::string* kind);

// One object or archive entry that failed verification.
struct VerifyProblem {
  std::string object;   // the stored object's key or the archive entry's path
  std::string message;  // "<key>: [<entry>: ]<every problem found in it>"
};

// A volume archive (key "volumes/<ns>/<pvc>.tar.zst", FORMAT.md "Volume data").
bool IsVolumeArchive(const vault::StoredObject& o);

// Streams every object listed in `manifest` but the volume archives, whose presence and stored
// size alone are checked (their restore movers check sizes and digests as they stream);
// `problems` receives one item per bad object or
// entry naming it and every problem found in it (size, checksum, entry count, corrupt or
// truncated data, entries CheckEntry refuses, and entries of the archive that are not regular
// files, have unsafe paths, repeat a path or are larger than kMaxEntryBytes). Time and memory
// stay bounded whatever the archive declares: an entry larger than kMaxEntryBytes is never read
// (verification stops there), nor more than 1 MiB after the tar's end blocks, and a zstd frame
// asking for a window above io::kMaxWindowLog is refused at its header. The content is usable only
// when `problems` stays empty and the status is ok. A non-ok status is a failure of this machine,
// not of the backup (no room left in the spool's directory): its message names the directory and
// the room needed.
[[nodiscard]] base::Status ReadVerified(store::ObjectStore& store, const vault::Layout& layout,
                                        const vault::Manifest& manifest, BackupContent* content,
                                        std::vector<VerifyProblem>* problems);

// "the backup itself was partial: N errors ..." when the backup's status says PartiallyFailed;
// "" otherwise (Completed, or a status that cannot be read: the manifest alone makes a backup
// restorable).
std::string PartialBackupWarning(store::ObjectStore& store, const vault::Layout& layout,
                                 const std::string& backup);

}  // namespace cairn::content
