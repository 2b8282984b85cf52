// volume/volume: the data primitive of volume backups: a directory tree ↔ pax tar ↔ zstd ↔ vault.
//
// WriteTree walks a tree depth-first with one open directory per level (never a list of the
// tree) and streams it as POSIX pax tar: regular files, directories, symlinks (stored, never
// followed), hard links, modes, numeric uid/gid, mtimes, xattrs, POSIX ACLs and sparse maps
// (runner/vault/FORMAT.md "Volume data"). Sockets, FIFOs and devices are skipped with a warning;
// a file whose size or mtime changed while it was read is a warning; a file or directory that
// cannot be read is a per-file error and the walk goes on. Memory: one read buffer, one open
// directory per level of depth, and libarchive's hard-link table (files with more than one link
// whose other links the walk has not reached yet).
//
// RestoreTree treats the archive as hostile input even when its checksum matched: it writes
// only inside `root`. Refused, each as an error naming the entry (the restore goes on with the
// next entry): empty, absolute or ".."-containing paths; entries other than regular files,
// directories, symlinks and hard links (devices, FIFOs, sockets); absolute symlink targets and
// relative ones that could leave the tree (see SymlinkTargetStaysInside); hard links whose
// target is not a regular file reached without a symlink inside `root`; any entry whose path
// goes through a symlink (checked from the root's descriptor, remembering the last directory
// found free of symlinks; a symlink at the entry's own name is removed first, as libarchive's
// SECURE_SYMLINKS would).
//
// Paths are bytes: names with newlines or invalid UTF-8 round-trip (pax hdrcharset=BINARY).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "io/stream.h"
#include "store/object_store.h"

namespace cairn::volume {

struct TreeCounts {
  uint64_t files = 0, dirs = 0, symlinks = 0, hardlinks = 0, bytes = 0, skipped = 0;
};

struct TreeResult {
  TreeCounts counts;
  std::vector<std::string> warnings;  // each names the path: skipped socket/FIFO/device, file
                                      // changed while read
  std::vector<std::string> errors;    // per-file errors naming the path: PartiallyFailed
};

// At most this many warnings and errors are kept each (the counts go on; the last kept message
// says how many more there were), so a tree of a million unreadable files stays small.
inline constexpr size_t kMaxMessages = 1000;

// Streams the tree under `root` as pax tar into `out` (not closed). The root directory itself is
// not an entry (its own mode and owner belong to the volume). Errors: kNotFound / kPermission
// Denied when `root` cannot be opened, the Sink's own Status when writing fails, kCancelled.
base::Result<TreeResult> WriteTree(const std::string& root, io::Sink& out,
                                   const std::atomic<bool>& cancel);

struct RestoreOptions {
  bool overwrite = false;          // existing_data = "overwrite"; else the target must be empty
  bool restore_ownership = false;  // chown to the archived numeric uid/gid (needs CAP_CHOWN)
};

// Writes only inside `root` (which must exist and be a directory). Without `overwrite` a
// target holding anything but an empty "lost+found" is kFailedPrecondition. Refused entries are
// errors in the result; a corrupt archive is kDataLoss.
base::Result<TreeResult> RestoreTree(io::Source& in, const std::string& root,
                                     const RestoreOptions& opts, const std::atomic<bool>& cancel);

// The rule for restored symlinks (a choice, documented in FORMAT.md): the target is relative,
// non-empty, and its ".." segments all come first and number at most the depth of the link's
// directory below the root (`link_path` is the entry path relative to the root). "a/../b" is
// refused even though it names a place inside: ".." after a symlinked segment resolves from
// that symlink's target, not lexically.
bool SymlinkTargetStaysInside(std::string_view link_path, std::string_view target);

struct ArchiveInfo {  // what the manifest records for one volume archive
  std::string key;    // full store key
  uint64_t stored_size = 0, logical_size = 0;
  std::string stored_sha256, logical_sha256;  // 64 lowercase hex
  TreeResult tree;
};

// tree → tar → zstd (level, workers) → store.PutStream(key); nothing visible at `key` on
// error/cancel.
base::Result<ArchiveInfo> BackupToStore(store::ObjectStore& store, std::string_view key,
                                        const std::string& root, int compression_level,
                                        int zstd_workers, const std::atomic<bool>& cancel);

// store.Get(expected.key) → checks stored size+sha256 and logical size+sha256 while streaming
// (kDataLoss on mismatch, after the entries already restored) → RestoreTree.
base::Result<TreeResult> RestoreFromStore(store::ObjectStore& store, const ArchiveInfo& expected,
                                          const std::string& root, const RestoreOptions& opts,
                                          const std::atomic<bool>& cancel);

}  // namespace cairn::volume
