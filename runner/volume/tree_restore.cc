// volume/tree_restore: RestoreTree, libarchive's tar reader into archive_write_disk, with cairn's
// own checks of every entry before libarchive sees it.
//
// archive_write_disk resolves names against the working directory, which is process-wide, so
// every entry gets the canonical (realpath) root as prefix instead of a chdir. That rules out
// ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS (each prefixed name is absolute); the entry's own path
// is refused here when absolute, before the prefix. SECURE_NODOTDOT stays on. No entry is written
// through a symlink, whether the archive made it or it was already there: CheckParents does what
// libarchive's SECURE_SYMLINKS does (refuse a symlink among the parents, remove one at the
// entry's own name) relative to the root's descriptor, and remembers the deepest directory it
// verified, so that an entry next to the previous one costs one fstatat instead of three system
// calls per component of its absolute path. What is remembered is always a parent of the current
// entry, never the entry itself, so an entry that replaces a checked directory (the only way the
// archive can turn one into something else) is checked again before anything goes below it.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
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
constexpr size_t kMaxPathBytes = 64 << 10;

std::string Quote(std::string_view rel) { return archive::QuoteEntryPath(rel); }

// The entry path with "." and empty segments dropped; nullopt when it is empty, absolute, too
// long or holds a ".." segment.
std::optional<std::string> NormalizeEntryPath(std::string_view raw) {
  if (raw.empty() || raw.front() == '/' || raw.size() > kMaxPathBytes) return std::nullopt;
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view seg = raw.substr(start, end - start);
    if (seg == "..") return std::nullopt;
    if (!seg.empty() && seg != ".") {
      if (!out.empty()) out += '/';
      out += seg;
    }
    start = end + 1;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Whether `root` holds nothing but a lost+found directory (what a fresh ext4 volume has).
base::Result<bool> IsEmptyDirectory(const std::string& root) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(root.c_str()), closedir);
  if (!dir) {
    return base::Error(Code::kFailedPrecondition,
                       "unable to list restore target '" + root + "': " + std::strerror(errno));
  }
  while (struct dirent* d = readdir(dir.get())) {
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    if (name == "lost+found" && d->d_type == DT_DIR) continue;
    return false;
  }
  return true;
}

class TreeRestorer {
 public:
  TreeRestorer(io::Source& in, const RestoreOptions& opts, const std::atomic<bool>& cancel)
      : in_(in), opts_(opts), cancel_(cancel) {}
  ~TreeRestorer() {
    archive::internal::ScopedUtf8Locale utf8;
    if (ar_ != nullptr) archive_read_free(ar_);
    if (disk_ != nullptr) archive_write_free(disk_);
    if (root_fd_ >= 0) close(root_fd_);
  }

  Status Open(const std::string& root);
  Status Run();
  TreeResult& result() { return result_; }

 private:
  static la_ssize_t ReadCallback(struct archive*, void* self, const void** buf);
  Status Next(bool* done);
  // Empty when the entry may be written; else why it is refused.
  std::string Refusal(struct archive_entry* e, const std::string& rel);
  bool HardlinkTargetInside(const std::string& rel);
  std::string CheckParents(const std::string& rel);
  Status Extract(struct archive_entry* e, const std::string& rel);
  Status CopyData(const std::string& rel, bool* ok);
  Status ReadFailure(std::string_view what);
  void KeepRootMetadata(struct archive_entry* e);
  void ApplyRootMetadata();

  // The volume root's own metadata, from the archive's "./" entry; set last.
  struct RootMetadata {
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec mtime;
  };

  io::Source& in_;
  RestoreOptions opts_;
  const std::atomic<bool>& cancel_;
  Status source_status_;
  std::vector<char> buf_;
  std::string root_;  // canonical, no trailing '/'
  int root_fd_ = -1;
  std::string verified_;  // a directory below the root reached without symlinks ("" the root)
  struct archive* ar_ = nullptr;
  struct archive* disk_ = nullptr;
  std::optional<RootMetadata> root_metadata_;
  TreeResult result_;
};

la_ssize_t TreeRestorer::ReadCallback(struct archive*, void* self, const void** buf) {
  auto* r = static_cast<TreeRestorer*>(self);
  if (!r->source_status_.ok()) return -1;
  auto n = r->in_.Read(std::span<char>(r->buf_.data(), r->buf_.size()));
  if (!n.ok()) {
    r->source_status_ = n.status();
    return -1;
  }
  *buf = r->buf_.data();
  return static_cast<la_ssize_t>(*n);
}

Status TreeRestorer::ReadFailure(std::string_view what) {
  if (!source_status_.ok()) return source_status_.Wrap(what);
  return base::Error(Code::kDataLoss,
                     std::string(what) + ": " + archive::internal::LibarchiveError(ar_));
}

Status TreeRestorer::Open(const std::string& root) {
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved) == nullptr) {
    return base::Error(errno == ENOENT ? Code::kNotFound : Code::kFailedPrecondition,
                       "unable to resolve restore target '" + root + "': " + std::strerror(errno));
  }
  root_ = resolved;
  if (root_ == "/") root_.clear();  // entries become "/" + rel
  root_fd_ = open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) {
    return base::Error(Code::kFailedPrecondition,
                       "unable to open restore target '" + root + "': " + std::strerror(errno));
  }
  if (!opts_.overwrite) {
    ASSIGN_OR_RETURN(bool empty, IsEmptyDirectory(resolved));
    if (!empty) {
      return base::Error(Code::kFailedPrecondition,
                         "restore target '" + root + "' is not empty\nHINT: restore into an " +
                             "empty volume, or set existing_data = \"overwrite\"");
    }
  }
  buf_.resize(kReadBufferBytes);
  archive::internal::ScopedUtf8Locale utf8;
  ar_ = archive_read_new();
  disk_ = archive_write_disk_new();
  if (ar_ == nullptr || disk_ == nullptr) {
    return base::Error(Code::kInternal, "out of memory for the volume archive reader");
  }
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
              ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT;  // symlinks: CheckParents
  if (opts_.restore_ownership) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk_, flags);  // no user/group lookup: ids stay numeric
  archive_read_support_format_tar(ar_);
  if (archive_read_open(ar_, this, nullptr, &TreeRestorer::ReadCallback, nullptr) != ARCHIVE_OK) {
    return ReadFailure("unable to read the volume archive");
  }
  return Status::Ok();
}

Status TreeRestorer::Run() {
  for (bool done = false; !done;) {
    if (cancel_.load()) return base::Error(Code::kCancelled, "volume restore was cancelled");
    RETURN_IF_ERROR(Next(&done));
  }
  archive::internal::ScopedUtf8Locale utf8;
  // Directory times and modes are set last, by libarchive, once their contents are in.
  if (archive_write_close(disk_) < ARCHIVE_WARN) {
    AddError(result_, "unable to set directory times and modes: " +
                          archive::internal::LibarchiveError(disk_));
  }
  ApplyRootMetadata();
  return Status::Ok();
}

// Whether an entry path names the volume root itself: ".", "./" (what WriteTree writes).
bool IsRootPath(std::string_view raw) {
  if (raw.empty() || raw.front() == '/') return false;
  return raw.find_first_not_of("./") == std::string_view::npos &&
         raw.find("..") == std::string_view::npos;
}

void TreeRestorer::KeepRootMetadata(struct archive_entry* e) {
  if (archive_entry_filetype(e) != AE_IFDIR) {
    AddError(result_, "refused archive entry './': the volume root must be a directory");
    return;
  }
  RootMetadata m{};
  m.mode = archive_entry_perm(e) & 07777;
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.mtime.tv_sec = archive_entry_mtime(e);
  m.mtime.tv_nsec = archive_entry_mtime_nsec(e);
  root_metadata_ = m;
}

// The root's owner (when ownership is restored), then its mode (a chown clears set-id bits),
// then its mtime, once everything below it is written. A mode or owner that differs and cannot
// be set is a warning: the mover of an unprivileged workload cannot change a root kubelet owns.
// Its mtime is set where the mover may (the root's owner or CAP_FOWNER), else left as it is.
void TreeRestorer::ApplyRootMetadata() {
  if (!root_metadata_) return;
  const RootMetadata& m = *root_metadata_;
  struct stat cur {};
  if (fstat(root_fd_, &cur) != 0) return;
  if (opts_.restore_ownership && (cur.st_uid != m.uid || cur.st_gid != m.gid) &&
      fchown(root_fd_, m.uid, m.gid) != 0) {
    AddWarning(result_, "unable to give the volume root owner " + std::to_string(m.uid) + ":" +
                            std::to_string(m.gid) + ": " + std::strerror(errno));
  }
  if (fstat(root_fd_, &cur) == 0 && (cur.st_mode & 07777) != m.mode &&
      fchmod(root_fd_, m.mode) != 0) {
    char want[8], have[8];
    std::snprintf(want, sizeof want, "%04o", static_cast<unsigned>(m.mode));
    std::snprintf(have, sizeof have, "%04o", static_cast<unsigned>(cur.st_mode & 07777));
    AddWarning(result_, std::string("unable to give the volume root mode ") + want + " (it has " +
                            have + "): " + std::strerror(errno));
  }
  const struct timespec times[2] = {{0, UTIME_OMIT}, m.mtime};
  (void)futimens(root_fd_, times);
}

Status TreeRestorer::Next(bool* done) {
  struct archive_entry* e = nullptr;
  int r;
  {
    archive::internal::ScopedUtf8Locale utf8;
    r = archive_read_next_header(ar_, &e);
  }
  if (r == ARCHIVE_EOF) {
    *done = true;
    return Status::Ok();
  }
  if (r < ARCHIVE_WARN) return ReadFailure("unable to read the volume archive");
  const char* raw = archive_entry_pathname(e);
  if (raw != nullptr && IsRootPath(raw)) {
    KeepRootMetadata(e);
    return Status::Ok();
  }
  std::optional<std::string> rel =
      raw == nullptr ? std::nullopt : NormalizeEntryPath(std::string_view(raw));
  if (!rel) {
    AddError(result_, "refused archive entry " + Quote(raw == nullptr ? "" : raw) +
                          ": not a relative path inside the volume");
    return Status::Ok();
  }
  std::string why = Refusal(e, *rel);
  if (why.empty()) why = CheckParents(*rel);
  if (!why.empty()) {
    AddError(result_, "refused archive entry " + Quote(*rel) + ": " + why);
    return Status::Ok();
  }
  return Extract(e, *rel);
}

std::string TreeRestorer::Refusal(struct archive_entry* e, const std::string& rel) {
  if (const char* link = archive_entry_hardlink(e); link != nullptr) {
    std::optional<std::string> target = NormalizeEntryPath(link);
    if (!target) return "hard link to " + Quote(link) + " outside the volume";
    if (!HardlinkTargetInside(*target)) {
      return "hard link to " + Quote(*target) + ", not a regular file inside the volume";
    }
    archive::internal::ScopedUtf8Locale utf8;
    archive_entry_copy_hardlink(e, (root_ + "/" + *target).c_str());
    return "";
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR: return "";
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || !SymlinkTargetStaysInside(rel, target)) {
        return "symlink to " + Quote(target == nullptr ? "" : target) +
               " could point outside the volume";
      }
      return "";
    }
    case AE_IFCHR:
    case AE_IFBLK: return "device node";
    case AE_IFIFO: return "FIFO";
    case AE_IFSOCK: return "socket";
    default: return "unknown entry type";
  }
}

// The length of the deepest directory that both `a` and `b` are or are below.
size_t CommonDirectory(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n && (a.size() == n || a[n] == '/') && (b.size() == n || b[n] == '/')) return n;
  const size_t slash = a.substr(0, i).rfind('/');
  return slash == std::string_view::npos ? 0 : slash;
}

// Empty when no parent of `rel` is a symlink (a missing parent is fine: libarchive creates it as
// a directory); a symlink at `rel` itself is removed, as SECURE_SYMLINKS does, so that neither
// a directory entry nor a file entry follows it.
std::string TreeRestorer::CheckParents(const std::string& rel) {
  const size_t last = rel.rfind('/');
  const std::string_view parent(rel.data(), last == std::string::npos ? 0 : last);
  // Never `rel` itself nor anything below it: an entry can replace what it names.
  verified_.resize(CommonDirectory(verified_, parent));
  struct stat st {};
  while (verified_.size() < parent.size()) {
    const size_t from = verified_.empty() ? 0 : verified_.size() + 1;
    size_t end = parent.find('/', from);
    if (end == std::string_view::npos) end = parent.size();
    const std::string next(parent.substr(0, end));
    if (fstatat(root_fd_, next.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return "";  // libarchive creates it as a directory
      return "unable to check its parent " + Quote(next) + ": " + std::strerror(errno);
    }
    if (S_ISLNK(st.st_mode)) return "its path goes through the symlink " + Quote(next);
    if (!S_ISDIR(st.st_mode)) return "";  // libarchive replaces it with a directory
    verified_ = next;
  }
  if (fstatat(root_fd_, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
      unlinkat(root_fd_, rel.c_str(), 0) != 0) {
    return "unable to remove the symlink in its place: " + std::string(std::strerror(errno));
  }
  return "";
}

// The target exists as a regular file reached from the root without any symlink.
bool TreeRestorer::HardlinkTargetInside(const std::string& rel) {
  int dir = dup(root_fd_);
  size_t start = 0;
  for (;;) {
    if (dir < 0) return false;
    const size_t slash = rel.find('/', start);
    const std::string seg = rel.substr(start, slash == std::string::npos ? slash : slash - start);
    if (slash == std::string::npos) {
      struct stat st {};
      const bool ok =
          fstatat(dir, seg.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
      close(dir);
      return ok;
    }
    const int next = openat(dir, seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    dir = next;
    start = slash + 1;
  }
}

Status TreeRestorer::Extract(struct archive_entry* e, const std::string& rel) {
  int r;
  {
    archive::internal::ScopedUtf8Locale utf8;
    archive_entry_copy_pathname(e, (root_ + "/" + rel).c_str());
    r = archive_write_header(disk_, e);
  }
  if (r < ARCHIVE_WARN) {
    AddError(result_,
             "unable to restore " + Quote(rel) + ": " + archive::internal::LibarchiveError(disk_));
    return Status::Ok();  // the reader skips the entry's data
  }
  if (r == ARCHIVE_WARN) {
    AddWarning(result_, "restored " + Quote(rel) +
                            " incompletely: " + archive::internal::LibarchiveError(disk_));
  }
  bool ok = true;
  if (archive_entry_size(e) > 0) RETURN_IF_ERROR(CopyData(rel, &ok));
  archive::internal::ScopedUtf8Locale utf8;
  const int f = archive_write_finish_entry(disk_);
  if (f < ARCHIVE_WARN || !ok) {
    if (ok) {
      AddError(result_, "unable to restore " + Quote(rel) + ": " +
                            archive::internal::LibarchiveError(disk_));
    }
    return Status::Ok();
  }
  if (f == ARCHIVE_WARN) {
    AddWarning(result_, "restored " + Quote(rel) +
                            " incompletely: " + archive::internal::LibarchiveError(disk_));
  }
  if (archive_entry_hardlink(e) != nullptr) {
    ++result_.counts.hardlinks;
  } else {
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: ++result_.counts.dirs; break;
      case AE_IFLNK: ++result_.counts.symlinks; break;
      default:
        ++result_.counts.files;
        result_.counts.bytes += static_cast<uint64_t>(archive_entry_size(e));
    }
  }
  return Status::Ok();
}

// Copies the entry's data blocks at their offsets (holes stay holes). A write failure is an
// error of this entry (`*ok` false); a read failure ends the restore.
Status TreeRestorer::CopyData(const std::string& rel, bool* ok) {
  archive::internal::ScopedUtf8Locale utf8;
  for (;;) {
    if (cancel_.load()) return base::Error(Code::kCancelled, "volume restore was cancelled");
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(ar_, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r < ARCHIVE_WARN) return ReadFailure("unable to read the data of " + Quote(rel));
    if (!*ok) continue;
    if (archive_write_data_block(disk_, block, size, offset) < ARCHIVE_WARN) {
      AddError(result_,
               "unable to write " + Quote(rel) + ": " + archive::internal::LibarchiveError(disk_));
      *ok = false;
    }
  }
}

}  // namespace

bool SymlinkTargetStaysInside(std::string_view link_path, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  size_t depth = 0;  // segments of the link's directory below the root
  for (char c : link_path) depth += c == '/';
  bool leading = true;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    std::string_view seg = target.substr(start, end - start);
    if (seg == "..") {
      if (!leading || depth == 0) return false;
      --depth;
    } else if (!seg.empty() && seg != ".") {
      leading = false;
    }
    start = end + 1;
  }
  return true;
}

base::Result<TreeResult> RestoreTree(io::Source& in, const std::string& root,
                                     const RestoreOptions& opts, const std::atomic<bool>& cancel) {
  TreeRestorer r(in, opts, cancel);
  RETURN_IF_ERROR(r.Open(root));
  RETURN_IF_ERROR(r.Run());
  return std::move(r.result());
}

}  // namespace cairn::volume
