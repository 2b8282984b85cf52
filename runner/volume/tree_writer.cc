// volume/tree_writer: WriteTree, a depth-first walk with openat/fdopendir into libarchive's pax
// writer.
//
// Every file is opened relative to its directory's descriptor with O_NOFOLLOW, so the walk never
// follows a symlink and paths of any length work (nothing is opened by its full path). Metadata
// (xattrs, ACLs, the sparse map) comes from archive_read_disk_entry_from_file on the open
// descriptor; the data is read with pread region by region of the sparse map, and holes are fed
// to the writer as zeros, which the pax writer drops (it stores the map instead).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "archive/libarchive_support.h"
#include "archive/tar.h"
#include "volume/messages.h"
#include "volume/volume.h"

namespace cairn::volume {

using base::Code;
using base::Status;

namespace {

constexpr size_t kReadBufferBytes = 1 << 20;
constexpr int kBytesPerBlock = 64 << 10;

std::string Quote(std::string_view rel) { return archive::QuoteEntryPath(rel); }

const char* SkippedKind(mode_t mode) {
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "file of unknown type";
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

struct Entry {
  struct archive_entry* e = archive_entry_new();
  ~Entry() { archive_entry_free(e); }
  Entry() = default;
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;
};

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

class TreeWriter {
 public:
  TreeWriter(io::Sink& out, const std::atomic<bool>& cancel) : out_(out), cancel_(cancel) {}
  ~TreeWriter() {
    archive::internal::ScopedUtf8Locale utf8;
    sink_ = nullptr;  // archive_write_free of an unfinished archive writes nowhere
    if (a_ != nullptr) archive_write_free(a_);
    if (disk_ != nullptr) archive_read_free(disk_);
    if (links_ != nullptr) archive_entry_linkresolver_free(links_);
  }

  Status Open();
  Status WalkRoot(const std::string& root);
  Status Finish();
  TreeResult& result() { return result_; }

 private:
  static la_ssize_t WriteCallback(struct archive*, void* self, const void* buf, size_t n);
  Status Walk(int dir_fd, dev_t dev);
  Status Visit(int dir_fd, const char* name, dev_t dev);
  Status AddDirectory(int dir_fd, const char* name, const struct stat& st, dev_t dev);
  Status WriteDirectoryEntry(int fd, const struct stat& st, const std::string& path);
  Status AddFile(int dir_fd, const char* name);
  Status AddSymlink(int dir_fd, const char* name, const struct stat& st);
  Status WriteHeader(struct archive_entry* e);
  Status CopyData(int fd, struct archive_entry* e, const struct stat& before);
  Status WriteBytes(const char* data, size_t n);
  Status WriteZeros(uint64_t n);
  Status Failed(std::string_view what);
  Status CheckCancel() const {
    if (cancel_.load()) return base::Error(Code::kCancelled, "volume backup was cancelled");
    return Status::Ok();
  }

  io::Sink& out_;
  io::Sink* sink_ = &out_;
  const std::atomic<bool>& cancel_;
  Status sink_status_;
  struct archive* a_ = nullptr;
  struct archive* disk_ = nullptr;
  struct archive_entry_linkresolver* links_ = nullptr;
  std::string rel_;  // the current entry path, relative to the root
  std::vector<char> buf_;
  TreeResult result_;
};

la_ssize_t TreeWriter::WriteCallback(struct archive*, void* self, const void* buf, size_t n) {
  auto* w = static_cast<TreeWriter*>(self);
  if (w->sink_ == nullptr) return -1;
  Status st = w->sink_->Write(std::string_view(static_cast<const char*>(buf), n));
  if (!st.ok()) {
    w->sink_status_ = std::move(st);
    w->sink_ = nullptr;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Status TreeWriter::Failed(std::string_view what) {
  if (!sink_status_.ok()) return sink_status_.Wrap(what);
  return base::Error(Code::kInternal,
                     std::string(what) + ": " + archive::internal::LibarchiveError(a_));
}

Status TreeWriter::Open() {
  archive::internal::ScopedUtf8Locale utf8;
  a_ = archive_write_new();
  disk_ = archive_read_disk_new();
  links_ = archive_entry_linkresolver_new();
  if (a_ == nullptr || disk_ == nullptr || links_ == nullptr) {
    return base::Error(Code::kInternal, "out of memory for the volume archive writer");
  }
  archive_entry_linkresolver_set_strategy(links_, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
  // File flags (chattr) are not part of the format: restoring them needs privileges.
  archive_read_disk_set_behavior(disk_, ARCHIVE_READDISK_NO_FFLAGS);
  if (archive_write_set_format_pax(a_) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a_, kBytesPerBlock) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
      archive_write_open2(a_, this, nullptr, &TreeWriter::WriteCallback, nullptr, nullptr) !=
          ARCHIVE_OK) {
    return Failed("unable to start the volume archive");
  }
  buf_.resize(kReadBufferBytes);
  return Status::Ok();
}

Status TreeWriter::WalkRoot(const std::string& root) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return base::Error(err == ENOENT                   ? Code::kNotFound
                       : err == EACCES || err == EPERM ? Code::kPermissionDenied
                                                       : Code::kFailedPrecondition,
                       "unable to open volume directory '" + root + "': " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return base::Error(Code::kFailedPrecondition, "unable to stat volume directory '" + root + "'");
  }
  // The root's own mode, owner, times, xattrs and ACLs: the first entry, "./" (FORMAT.md §5.3).
  if (Status s = WriteDirectoryEntry(fd, st, "./"); !s.ok()) {
    close(fd);
    return s;
  }
  return Walk(fd, st.st_dev);  // takes the descriptor
}

// The entry of the directory open at `fd`, named `path`, with its metadata.
Status TreeWriter::WriteDirectoryEntry(int fd, const struct stat& st, const std::string& path) {
  Entry entry;
  {
    archive::internal::ScopedUtf8Locale utf8;
    archive_entry_copy_pathname(entry.e, path.c_str());
    // The sparse map and default ACLs are read through a path: name the open descriptor.
    archive_entry_copy_sourcepath(entry.e, ("/proc/self/fd/" + std::to_string(fd)).c_str());
    if (archive_read_disk_entry_from_file(disk_, entry.e, fd, &st) < ARCHIVE_WARN) {
      AddWarning(result_, "incomplete metadata of " + Quote(path) + ": " +
                              archive::internal::LibarchiveError(disk_));
    }
  }
  return WriteHeader(entry.e);
}

// Lists the directory open at `dir_fd` (owned) and visits each entry, depth first.
Status TreeWriter::Walk(int dir_fd, dev_t dev) {
  DIR* dir = fdopendir(dir_fd);
  if (dir == nullptr) {
    close(dir_fd);
    AddError(result_, "unable to list directory " + Quote(rel_) + ": " + std::strerror(errno));
    return Status::Ok();
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, closedir);
  for (;;) {
    RETURN_IF_ERROR(CheckCancel());
    errno = 0;
    struct dirent* d = readdir(dir);
    if (d == nullptr) {
      if (errno != 0) {
        AddError(result_, "unable to list directory " + Quote(rel_) + ": " + std::strerror(errno));
      }
      return Status::Ok();
    }
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    const size_t keep = rel_.size();
    if (!rel_.empty()) rel_ += '/';
    rel_ += d->d_name;
    Status st = Visit(dirfd(dir), d->d_name, dev);
    rel_.resize(keep);
    RETURN_IF_ERROR(st);
  }
}

Status TreeWriter::Visit(int dir_fd, const char* name, dev_t dev) {
  struct stat st {};
  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) {  // deleted since it was listed: not part of the backup
      AddError(result_, "unable to stat " + Quote(rel_) + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }
  if (S_ISDIR(st.st_mode)) return AddDirectory(dir_fd, name, st, dev);
  if (S_ISREG(st.st_mode)) return AddFile(dir_fd, name);
  if (S_ISLNK(st.st_mode)) return AddSymlink(dir_fd, name, st);
  ++result_.counts.skipped;
  AddWarning(result_, std::string("skipped ") + SkippedKind(st.st_mode) + " " + Quote(rel_));
  return Status::Ok();
}

Status TreeWriter::AddDirectory(int dir_fd, const char* name, const struct stat& st, dev_t dev) {
  if (st.st_dev != dev) {
    ++result_.counts.skipped;
    AddWarning(result_, "skipped mount point " + Quote(rel_) + " (another file system)");
    return Status::Ok();
  }
  int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    AddError(result_, "unable to open directory " + Quote(rel_) + ": " + std::strerror(errno));
    return Status::Ok();
  }
  if (Status s = WriteDirectoryEntry(fd, st, rel_); !s.ok()) {
    close(fd);
    return s;
  }
  ++result_.counts.dirs;
  return Walk(fd, dev);
}

Status TreeWriter::AddSymlink(int dir_fd, const char* name, const struct stat& st) {
  std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 1, '\0');
  ssize_t n = readlinkat(dir_fd, name, target.data(), target.size());
  if (n < 0 || static_cast<size_t>(n) >= target.size()) {
    AddError(result_, "unable to read symlink " + Quote(rel_) + ": " +
                          (n < 0 ? std::strerror(errno) : "it changed while read"));
    return Status::Ok();
  }
  target.resize(static_cast<size_t>(n));
  Entry entry;
  {
    archive::internal::ScopedUtf8Locale utf8;
    archive_entry_copy_stat(entry.e, &st);
    archive_entry_copy_pathname(entry.e, rel_.c_str());
    archive_entry_copy_symlink(entry.e, target.c_str());
  }
  RETURN_IF_ERROR(WriteHeader(entry.e));
  ++result_.counts.symlinks;
  return Status::Ok();
}

Status TreeWriter::AddFile(int dir_fd, const char* name) {
  int raw = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (raw < 0 && errno == EPERM) raw = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) {
    if (errno != ENOENT) {
      AddError(result_, "unable to open " + Quote(rel_) + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }
  Fd fd(raw);
  struct stat st {};
  if (fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    AddError(result_, "unable to stat " + Quote(rel_) + ": " + std::strerror(errno));
    return Status::Ok();
  }
  Entry entry;
  struct archive_entry* e = entry.e;
  struct archive_entry* spare = nullptr;
  {
    archive::internal::ScopedUtf8Locale utf8;
    archive_entry_copy_pathname(e, rel_.c_str());
    archive_entry_copy_sourcepath(e, ("/proc/self/fd/" + std::to_string(fd.fd)).c_str());
    if (archive_read_disk_entry_from_file(disk_, e, fd.fd, &st) < ARCHIVE_WARN) {
      AddWarning(result_, "incomplete metadata of " + Quote(rel_) + ": " +
                              archive::internal::LibarchiveError(disk_));
    }
    // The pax strategy never defers: `e` comes back at once, as a hard link (size 0) when an
    // earlier entry had the same inode.
    archive_entry_linkify(links_, &e, &spare);
  }
  if (e == nullptr) return Status::Ok();
  RETURN_IF_ERROR(WriteHeader(e));
  if (archive_entry_hardlink(e) != nullptr) {
    ++result_.counts.hardlinks;
    return Status::Ok();
  }
  ++result_.counts.files;
  return CopyData(fd.fd, e, st);
}

Status TreeWriter::WriteHeader(struct archive_entry* e) {
  archive::internal::ScopedUtf8Locale utf8;
  const int r = archive_write_header(a_, e);
  // ARCHIVE_WARN: a name that is not UTF-8 went out as raw bytes (hdrcharset=BINARY).
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return Status::Ok();
  if (r == ARCHIVE_FAILED && sink_status_.ok()) {
    AddError(result_,
             "unable to archive " + Quote(rel_) + ": " + archive::internal::LibarchiveError(a_));
    return Status::Ok();
  }
  return Failed("unable to write the archive header of " + Quote(rel_));
}

Status TreeWriter::WriteBytes(const char* data, size_t n) {
  archive::internal::ScopedUtf8Locale utf8;
  while (n > 0) {
    const la_ssize_t w = archive_write_data(a_, data, n);
    if (w <= 0) return Failed("unable to write the data of " + Quote(rel_));
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status TreeWriter::WriteZeros(uint64_t n) {
  static const std::vector<char> zeros(kReadBufferBytes, '\0');
  while (n > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, zeros.size()));
    RETURN_IF_ERROR(WriteBytes(zeros.data(), chunk));
    n -= chunk;
  }
  return Status::Ok();
}

// Reads the data regions of the sparse map (the whole file when there is none) and fills the
// holes with zeros. A file that shrank is padded with zeros; one that grew is cut at the size
// of the header: either way, a warning names it.
Status TreeWriter::CopyData(int fd, struct archive_entry* e, const struct stat& before) {
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  la_int64_t off = 0, len = 0;
  if (archive_entry_sparse_reset(e) > 0) {
    while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
      regions.emplace_back(static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    }
  } else {
    regions.emplace_back(0, size);
  }
  uint64_t pos = 0;
  bool short_read = false;
  for (auto [start, length] : regions) {
    start = std::min(start, size);
    const uint64_t end = std::min(size, start + length);
    RETURN_IF_ERROR(WriteZeros(start - std::min(start, pos)));
    pos = std::max(pos, start);
    while (pos < end) {
      RETURN_IF_ERROR(CheckCancel());
      const size_t want = static_cast<size_t>(std::min<uint64_t>(end - pos, buf_.size()));
      const ssize_t n = pread(fd, buf_.data(), want, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) AddError(result_, "unable to read " + Quote(rel_) + ": " + std::strerror(errno));
        short_read = true;
        break;
      }
      RETURN_IF_ERROR(WriteBytes(buf_.data(), static_cast<size_t>(n)));
      pos += static_cast<uint64_t>(n);
    }
    if (short_read) break;
  }
  RETURN_IF_ERROR(WriteZeros(size - std::min(size, pos)));
  result_.counts.bytes += size;
  struct stat after {};
  if (fstat(fd, &after) == 0 &&
      (after.st_size != before.st_size || !SameTime(after.st_mtim, before.st_mtim) || short_read)) {
    AddWarning(result_, "file changed while it was read: " + Quote(rel_) +
                            " (its archived copy may be inconsistent)");
  }
  archive::internal::ScopedUtf8Locale utf8;
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN) {
    return Failed("unable to finish the archive entry of " + Quote(rel_));
  }
  return Status::Ok();
}

Status TreeWriter::Finish() {
  archive::internal::ScopedUtf8Locale utf8;
  if (archive_write_close(a_) != ARCHIVE_OK) return Failed("unable to finish the volume archive");
  return Status::Ok();
}

}  // namespace

base::Result<TreeResult> WriteTree(const std::string& root, io::Sink& out,
                                   const std::atomic<bool>& cancel) {
  TreeWriter w(out, cancel);
  RETURN_IF_ERROR(w.Open());
  RETURN_IF_ERROR(w.WalkRoot(root));
  RETURN_IF_ERROR(w.Finish());
  return std::move(w.result());
}

}  // namespace cairn::volume
