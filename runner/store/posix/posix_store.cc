#include "store/posix/posix_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "io/hash.h"

namespace cairn::store {
namespace {

constexpr char kTmpDir[] = ".cairn-tmp";

Status Errno(std::string_view what, const std::string& path, int err = errno) {
  base::Code code = base::Code::kUnavailable;
  if (err == ENOENT) code = base::Code::kNotFound;
  if (err == EACCES || err == EPERM || err == EROFS) code = base::Code::kPermissionDenied;
  if (err == EEXIST) code = base::Code::kAlreadyExists;
  // A key that is both an object and a directory ("a" and "a/b") cannot exist on a file
  // system; it is not transient.
  if (err == EISDIR || err == ENOTDIR) code = base::Code::kFailedPrecondition;
  return base::Error(code,
                     "unable to " + std::string(what) + " '" + path + "': " + std::strerror(err));
}

std::string RandomId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return Errno("create directory", cur);
  }
  return Status::Ok();
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return Errno("fsync", path, err);
  return Status::Ok();
}

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "." : p.substr(0, s);
}

Status WriteFully(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

ObjectInfo InfoFromStat(std::string key, const struct stat& st) {
  ObjectInfo info;
  info.key = std::move(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.last_modified = std::chrono::system_clock::time_point(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec) /
                                                    std::chrono::microseconds(1) *
                                                    std::chrono::microseconds(1));
  char etag[64];
  std::snprintf(
      etag, sizeof etag, "%llx-%llx-%llx", static_cast<unsigned long long>(st.st_ino),
      static_cast<unsigned long long>(st.st_size),
      static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec));
  info.etag = etag;
  return info;
}

class FileSource final : public io::Source {
 public:
  FileSource(int fd, std::string path, uint64_t remaining)
      : fd_(fd), path_(std::move(path)), remaining_(remaining) {}
  ~FileSource() override { close(fd_); }
  Result<size_t> Read(std::span<char> buf) override {
    if (remaining_ == 0 || buf.empty()) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), remaining_));
    while (true) {
      ssize_t n = read(fd_, buf.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("read", path_);
      if (n == 0) {
        return base::Error(base::Code::kDataLoss, "file '" + path_ + "' ended " +
                                                      std::to_string(remaining_) + " bytes early");
      }
      remaining_ -= static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::string path_;
  uint64_t remaining_;
};

}  // namespace

class PosixStore::FileSink final : public io::Sink {
 public:
  FileSink(PosixStore* store, std::string key, std::string tmp, int fd, bool if_none_match)
      : store_(store),
        key_(std::move(key)),
        tmp_(std::move(tmp)),
        fd_(fd),
        if_none_match_(if_none_match) {}
  ~FileSink() override { Abort(); }
  Status Write(std::string_view data) override {
    if (fd_ < 0) return base::Error(base::Code::kInternal, "write after close");
    Status st = WriteFully(fd_, data, tmp_);
    if (!st.ok()) Abort();
    return st;
  }
  Status Close() override {
    if (fd_ < 0) return base::Error(base::Code::kInternal, "upload closed twice");
    int rc = fsync(fd_);
    int err = errno;
    close(fd_);
    fd_ = -1;
    Status st = rc == 0 ? store_->Publish(tmp_, key_, if_none_match_) : Errno("fsync", tmp_, err);
    Cleanup();
    return st;
  }
  void Abort() override {
    if (fd_ < 0) return;
    close(fd_);
    fd_ = -1;
    Cleanup();
  }

 private:
  void Cleanup() {
    unlink(tmp_.c_str());
    unlink((tmp_ + ".key").c_str());
  }
  PosixStore* store_;
  std::string key_, tmp_;
  int fd_;
  bool if_none_match_;
};

Result<std::unique_ptr<PosixStore>> PosixStore::Open(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root[0] != '/') {
    return base::Error(base::Code::kInvalidArgument,
                       "file vault path '" + root + "' must be absolute (file:///path)");
  }
  RETURN_IF_ERROR(MakeDirs(root + "/" + kTmpDir));
  return std::unique_ptr<PosixStore>(new PosixStore(std::move(root)));
}

Result<std::string> PosixStore::PathOf(std::string_view key) const {
  bool bad = key.empty() || key.front() == '/' || key.back() == '/' ||
             key.find("//") != std::string_view::npos || key.find('\0') != std::string_view::npos;
  for (size_t start = 0; !bad && start <= key.size();) {
    size_t end = key.find('/', start);
    std::string_view seg = key.substr(start, end == std::string_view::npos ? end : end - start);
    if (seg == "." || seg == "..") bad = true;
    if (start == 0 && seg == kTmpDir) bad = true;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (bad) {
    return base::Error(base::Code::kInvalidArgument,
                       "invalid object key '" + std::string(key) + "'");
  }
  return root_ + "/" + std::string(key);
}

Status PosixStore::Publish(const std::string& tmp, const std::string& key, bool if_none_match) {
  ASSIGN_OR_RETURN(std::string path, PathOf(key));
  // A concurrent Delete may remove a directory left empty between our mkdir and our link or
  // rename (ENOENT): make it again and retry.
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(MakeDirs(Dirname(path)));
    int rc = if_none_match ? link(tmp.c_str(), path.c_str()) : rename(tmp.c_str(), path.c_str());
    if (rc == 0) break;
    if (errno == EEXIST && if_none_match) {
      return base::Error(base::Code::kAlreadyExists, "object '" + key + "' already exists");
    }
    if (errno != ENOENT || attempt >= 10) return Errno("publish", path);
  }
  return FsyncPath(Dirname(path), O_RDONLY | O_DIRECTORY);
}

// The sidecar names the key so that an abandoned temporary file can be reported (and aborted)
// like an incomplete multipart upload. It appears whole or not at all: written unnamed
// (O_TMPFILE) and then linked, so a run killed in between leaves nothing that no one could
// attribute (an empty sidecar is not listed). Where the filesystem has no O_TMPFILE (NFS), it is
// created and then written, and that window stays.
Status PosixStore::WriteSidecar(const std::string& path, std::string_view key) {
  const std::string dir = root_ + "/" + kTmpDir;
  if (int fd = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600); fd >= 0) {
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    bool linked = WriteFully(fd, key, path).ok() &&
                  linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0;
    close(fd);
    if (linked) return Status::Ok();
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", path);
  Status st = WriteFully(fd, key, path);
  close(fd);
  return st;
}

Status PosixStore::Put(std::string_view key, std::string_view data, const PutOptions& opts) {
  ASSIGN_OR_RETURN(auto sink, PutStream(key, opts));
  RETURN_IF_ERROR(sink->Write(data));
  return sink->Close();
}

Result<std::unique_ptr<io::Sink>> PosixStore::PutStream(std::string_view key,
                                                        const PutOptions& opts) {
  ASSIGN_OR_RETURN(std::string path, PathOf(key));
  (void)path;
  std::string tmp = root_ + "/" + kTmpDir + "/" + RandomId();
  RETURN_IF_ERROR(WriteSidecar(tmp + ".key", key));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    unlink((tmp + ".key").c_str());
    return Errno("create", tmp, err);
  }
  return std::unique_ptr<io::Sink>(
      new FileSink(this, std::string(key), tmp, fd, opts.if_none_match));
}

Result<std::unique_ptr<io::Source>> PosixStore::Get(std::string_view key, const ByteRange& range) {
  ASSIGN_OR_RETURN(std::string path, PathOf(key));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
    }
    return Errno("open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (range.offset > size) {
    close(fd);
    return base::Error(base::Code::kInvalidArgument,
                       "range start is past the end of '" + std::string(key) + "'");
  }
  if (range.offset > 0 && lseek(fd, static_cast<off_t>(range.offset), SEEK_SET) < 0) {
    int err = errno;
    close(fd);
    return Errno("seek", path, err);
  }
  uint64_t len = std::min(size - range.offset, range.length.value_or(size));
  return std::unique_ptr<io::Source>(new FileSource(fd, path, len));
}

Result<ObjectInfo> PosixStore::Head(std::string_view key) {
  ASSIGN_OR_RETURN(std::string path, PathOf(key));
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    if (errno == EACCES) return Errno("stat", path);
    return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
  }
  return InfoFromStat(std::string(key), st);
}

namespace {
// Collects every regular file below dir (keys relative to root), skipping the temp dir.
Status Walk(const std::string& root, const std::string& rel, std::vector<ObjectInfo>& out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Errno("list directory", dir);
  }
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (rel.empty() && name == kTmpDir) continue;
    std::string key = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat((root + "/" + key).c_str(), &st) != 0) continue;  // deleted meanwhile
    if (S_ISDIR(st.st_mode)) {
      Status s = Walk(root, key, out);
      if (!s.ok()) {
        closedir(d);
        return s;
      }
    } else if (S_ISREG(st.st_mode)) {
      out.push_back(InfoFromStat(key, st));
    }
  }
  closedir(d);
  return Status::Ok();
}
}  // namespace

Status PosixStore::List(const ListOptions& opts,
                        const std::function<bool(const ListPage&)>& page_fn) {
  // Walk only the deepest directory the prefix names fully.
  std::string start;
  size_t slash = opts.prefix.rfind('/');
  if (slash != std::string::npos) start = opts.prefix.substr(0, slash);
  std::vector<ObjectInfo> all;
  if (start.empty() || PathOf(start).ok()) RETURN_IF_ERROR(Walk(root_, start, all));
  std::sort(all.begin(), all.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  ListPage page;
  size_t per = static_cast<size_t>(std::max(1, opts.page_size));
  std::string last_prefix;
  for (auto& obj : all) {
    if (obj.key.compare(0, opts.prefix.size(), opts.prefix) != 0) continue;
    if (!opts.delimiter.empty()) {
      size_t d = obj.key.find(opts.delimiter, opts.prefix.size());
      if (d != std::string::npos) {
        std::string cp = obj.key.substr(0, d + opts.delimiter.size());
        if (cp != last_prefix) page.common_prefixes.push_back(cp);
        last_prefix = cp;
        continue;
      }
    }
    page.objects.push_back(std::move(obj));
    if (page.objects.size() + page.common_prefixes.size() >= per) {
      if (!page_fn(page)) return Status::Ok();
      page = ListPage();
    }
  }
  if (!page.objects.empty() || !page.common_prefixes.empty()) page_fn(page);
  return Status::Ok();
}

Status PosixStore::Delete(const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    ASSIGN_OR_RETURN(std::string path, PathOf(key));
    if (unlink(path.c_str()) != 0) {
      // A directory, or a path below an object, holds no object by that key: nothing to do.
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) continue;
      return Errno("delete", path);
    }
    // Remove directories left empty, so an emptied backup leaves no trace.
    for (std::string dir = Dirname(path); dir.size() > root_.size(); dir = Dirname(dir)) {
      if (rmdir(dir.c_str()) != 0) break;
    }
  }
  return Status::Ok();
}

Result<std::vector<PendingUpload>> PosixStore::ListPendingUploads(std::string_view prefix) {
  std::vector<PendingUpload> out;
  std::string dir = root_ + "/" + kTmpDir;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".key") != 0) continue;
    std::string id = name.substr(0, name.size() - 4);
    std::string key;
    int fd = open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0) continue;
    key.assign(buf, static_cast<size_t>(n));
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    struct stat st;
    base::TimePoint initiated{};
    if (stat((dir + "/" + name).c_str(), &st) == 0) {
      initiated = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    }
    out.push_back(PendingUpload{key, id, initiated});
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const PendingUpload& a, const PendingUpload& b) { return a.key < b.key; });
  return out;
}

Status PosixStore::AbortPendingUpload(const PendingUpload& upload) {
  if (upload.upload_id.find('/') != std::string::npos || upload.upload_id.empty()) {
    return base::Error(base::Code::kInvalidArgument,
                       "invalid upload id '" + upload.upload_id + "'");
  }
  std::string base = root_ + "/" + kTmpDir + "/" + upload.upload_id;
  unlink(base.c_str());
  unlink((base + ".key").c_str());
  return Status::Ok();
}

Result<uint64_t> PosixStore::PendingUploadBytes(const PendingUpload& upload) {
  if (upload.upload_id.find('/') != std::string::npos || upload.upload_id.empty()) {
    return base::Error(base::Code::kInvalidArgument,
                       "invalid upload id '" + upload.upload_id + "'");
  }
  std::string path = root_ + "/" + kTmpDir + "/" + upload.upload_id;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return base::Error(base::Code::kNotFound,
                         "pending upload of '" + upload.key + "' not found ('" + path + "')");
    }
    return Errno("stat", path);
  }
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace cairn::store
