// archive/tar: streaming tar writer and reader over io streams (libarchive), with safe paths.
//
// The writer produces POSIX pax tar (libarchive's "pax restricted": plain ustar headers, plus a
// pax extended header only when an entry needs one: long or non-ASCII path, size >= 8 GiB). It
// writes regular files only, mode 0600, uid/gid 0, uname/gname "cairn", mtime in whole seconds,
// so the same entries always give the same bytes. The reader accepts any tar libarchive reads
// (ustar, pax, GNU) but yields only regular files: directories are skipped, every other entry
// type and every unsafe path is an error. Neither side ever holds a whole entry or archive in
// memory, and neither ever touches the filesystem: entry paths are names, never opened here.
//
// Errors: a rejected path is kInvalidArgument (writer) or kDataLoss (reader); a corrupt or
// truncated archive is kDataLoss; a failing Sink or Source surfaces as its own Status (code kept,
// context prefixed). Nothing throws through a libarchive callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "io/stream.h"

namespace cairn::archive {

// Entry paths are names inside an archive, never files on disk, so a segment has no 255-byte
// limit (an object name of 253 characters plus ".json" is 258); 64 KiB bounds what a forged
// archive can make a reader hold. Longer paths are written with a pax extended header.
inline constexpr size_t kMaxEntryPathBytes = 64 << 10;

struct EntryInfo {
  std::string path;  // UTF-8, already validated by ValidateEntryPath
  uint64_t size = 0;
  base::TimePoint mtime{};
};

// Validates an entry path: non-empty, relative (no leading '/'), '/'-separated, no empty, "." or
// ".." segment (so no trailing '/' either), no NUL, control character or DEL, valid UTF-8, at
// most kMaxEntryPathBytes. Errors are kInvalidArgument and name the path.
base::Status ValidateEntryPath(std::string_view path);

// Renders a path for an error message: single-quoted, control characters (and every byte >= 0x80
// when the path is not valid UTF-8) escaped as \xNN, shortened past 200 bytes. The result is
// always valid UTF-8, so it can go into a JSON status document.
std::string QuoteEntryPath(std::string_view path);

// Writes a tar stream into `out` (borrowed; it must outlive the writer until Finish or Abort).
// Data reaches `out` in blocks of at most 10 KiB as entries are added. After any error other
// than a rejected path the archive is unusable: every later call returns that error and the
// caller aborts `out`. Destroying a writer without Finish aborts it (nothing more reaches `out`).
class TarWriter {
 public:
  static base::Result<std::unique_ptr<TarWriter>> Create(io::Sink* out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Adds a regular file holding `data`. An unsafe path is refused (kInvalidArgument) before
  // anything is written, and the writer stays usable.
  base::Status Add(std::string_view path, std::string_view data, base::TimePoint mtime = {});
  // Streams an entry of known size from `src` (read until its end). A source that yields more or
  // fewer than `size` bytes is kDataLoss and leaves the writer failed: the header is already out.
  base::Status AddFrom(std::string_view path, uint64_t size, io::Source& src,
                       base::TimePoint mtime = {});
  // Writes the end-of-archive blocks and flushes. Does NOT close `out`.
  base::Status Finish();
  // Stops: nothing more is written to `out`, which is left for the caller to Abort. Idempotent.
  void Abort();
  // Entries added so far.
  uint64_t entries() const;

  struct Impl;

 private:
  explicit TarWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a tar stream from `in` (borrowed), one entry at a time. Memory is one 64 KiB input
// buffer plus libarchive's header state, whatever the entry sizes. The headers of one entry
// (pax records, a GNU long name, a GNU sparse map, which libarchive reads with the header) may
// take at most 256 KiB of input: more is kDataLoss, so that state stays a few MiB. A corrupt or
// truncated archive fails every later call with kDataLoss. An entry rejected by Next (wrong type,
// unsafe path) can be passed over by calling Next again. At the end of the archive `in` may still
// hold unread bytes (block padding); a caller hashing the whole stream drains it.
class TarReader {
 public:
  // Reads the first block already: input that is not a tar archive is kDataLoss here.
  static base::Result<std::unique_ptr<TarReader>> Open(io::Source* in);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next regular-file entry, skipping whatever is unread of the current one. Directories are
  // skipped; symlinks, hard links, sparse files, devices, FIFOs and unsafe paths are kDataLoss
  // naming the entry. nullopt at the end of the archive. An archive that ends inside an entry or
  // header, or without an end-of-archive block, is kDataLoss.
  base::Result<std::optional<EntryInfo>> Next();
  // After Next refused an entry: its path (as read, not validated) and declared size (passing
  // over it with Next reads that much); nullopt when Next's error was the archive's own.
  std::optional<EntryInfo> rejected() const;
  // Data of the current entry; 0 at its end.
  base::Result<size_t> Read(std::span<char> buf);
  // The rest of the current entry; kFailedPrecondition when it is larger than `limit`.
  base::Result<std::string> ReadEntry(size_t limit = 64 << 20);

  struct Impl;

 private:
  explicit TarReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::archive
