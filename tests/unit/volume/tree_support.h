// Shared helpers of the volume tests: temporary directories, a tree walker that records what a
// restore must reproduce (type, mode, ownership, mtime, content, symlink target, hard-link
// groups, user xattrs), and raw archives built with libarchive (entries cairn never writes).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io/hash.h"

namespace cairn::volume::testing {

class TempDir {
 public:
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/cairn-volume-XXXXXX";
    path_ = mkdtemp(tmpl.data());
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() {
    std::system(("chmod -R u+rwx '" + path_ + "' 2>/dev/null; rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  chmod(path.c_str(), mode);
}

inline std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<unreadable>";
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

inline void SetMtime(const std::string& path, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

struct Node {
  char type = '?';  // f d l
  mode_t perm = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime_ns = 0;     // not compared for directories' parents being written; see Compare
  std::string content_sha;  // files
  std::string target;       // symlinks
  std::string link_group;   // first path (in walk order) with the same inode, for files
  std::map<std::string, std::string> xattrs;  // user.* only
  bool operator==(const Node&) const = default;
};

inline std::map<std::string, std::string> UserXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[4096];
  ssize_t n = llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    std::string name = names + i;
    if (name.rfind("user.", 0) != 0) continue;
    char value[4096];
    ssize_t v = lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out[name] = std::string(value, static_cast<size_t>(std::max<ssize_t>(v, 0)));
  }
  return out;
}

// Every entry under `root` (not the root itself), keyed by relative path. Uses *at calls on
// directory descriptors so 4,000-byte paths work.
inline void WalkInto(int dir_fd, const std::string& rel, std::map<std::string, Node>& out,
                     std::map<std::pair<dev_t, ino_t>, std::string>& inodes) {
  DIR* d = fdopendir(dir_fd);
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    Node node;
    node.perm = st.st_mode & 07777;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    node.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    const std::string proc = "/proc/self/fd/" + std::to_string(dirfd(d)) + "/" + name;
    if (S_ISLNK(st.st_mode)) {
      node.type = 'l';
      char buf[8192];
      ssize_t n = readlinkat(dirfd(d), name.c_str(), buf, sizeof buf);
      node.target.assign(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
      node.perm = 0;  // symlink modes are meaningless on Linux
    } else if (S_ISDIR(st.st_mode)) {
      node.type = 'd';
      node.xattrs = UserXattrs(proc);
      int sub = openat(dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY);
      if (sub >= 0) WalkInto(sub, path, out, inodes);
    } else if (S_ISREG(st.st_mode)) {
      node.type = 'f';
      node.xattrs = UserXattrs(proc);
      int fd = openat(dirfd(d), name.c_str(), O_RDONLY);
      io::Sha256 h;
      char buf[65536];
      ssize_t n;
      while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) {
        h.Update(std::string_view(buf, static_cast<size_t>(n)));
      }
      if (fd >= 0) close(fd);
      node.content_sha = h.HexDigest();
      auto [it, fresh] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), path);
      node.link_group = it->second;
    } else {
      node.type = 'o';
    }
    out[path] = node;
  }
  closedir(d);
}

inline std::map<std::string, Node> Snapshot(const std::string& root) {
  std::map<std::string, Node> out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) WalkInto(fd, "", out, inodes);
  return out;
}

// Differences between two snapshots, one line each (empty when equal).
inline std::string Diff(const std::map<std::string, Node>& want,
                        const std::map<std::string, Node>& got) {
  std::string out;
  for (const auto& [path, n] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      out += "missing: " + path.substr(0, 80) + "\n";
      continue;
    }
    const Node& g = it->second;
    if (n.type != g.type) out += "type: " + path + "\n";
    if (n.perm != g.perm) out += "mode: " + path + "\n";
    if (n.uid != g.uid || n.gid != g.gid) out += "owner: " + path + "\n";
    if (n.mtime_ns != g.mtime_ns) {
      out += "mtime: " + path.substr(0, 80) + " " + std::to_string(n.mtime_ns) + " vs " +
             std::to_string(g.mtime_ns) + "\n";
    }
    if (n.content_sha != g.content_sha) out += "content: " + path + "\n";
    if (n.target != g.target) out += "target: " + path + "\n";
    if (n.link_group != g.link_group) out += "links: " + path + "\n";
    if (n.xattrs != g.xattrs) out += "xattrs: " + path + "\n";
  }
  for (const auto& [path, n] : got) {
    if (!want.count(path)) out += "extra: " + path.substr(0, 80) + "\n";
  }
  return out;
}

// A pax archive built entry by entry with libarchive, for hostile inputs.
class ArchiveBuilder {
 public:
  ArchiveBuilder() {
    a_ = archive_write_new();
    archive_write_set_format_pax(a_);
    archive_write_open_memory(a_, buf_.data(), buf_.size(), &used_);
  }
  ~ArchiveBuilder() { archive_write_free(a_); }
  ArchiveBuilder& Add(const std::string& path, mode_t type, const std::string& data = "",
                      const char* symlink = nullptr, const char* hardlink = nullptr,
                      dev_t rdev = 0) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (symlink) archive_entry_copy_symlink(e, symlink);
    if (hardlink) archive_entry_copy_hardlink(e, hardlink);
    if (rdev) archive_entry_set_rdev(e, rdev);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    EXPECT_GE(archive_write_header(a_, e), ARCHIVE_WARN) << archive_error_string(a_);
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  ArchiveBuilder& File(const std::string& p, const std::string& d = "x") {
    return Add(p, AE_IFREG, d);
  }
  ArchiveBuilder& Dir(const std::string& p) { return Add(p, AE_IFDIR); }
  ArchiveBuilder& Symlink(const std::string& p, const char* t) { return Add(p, AE_IFLNK, "", t); }
  ArchiveBuilder& Hardlink(const std::string& p, const char* t) {
    return Add(p, AE_IFREG, "", nullptr, t);
  }
  std::string Finish() {
    archive_write_close(a_);
    return std::string(buf_.data(), used_);
  }

 private:
  struct archive* a_;
  std::vector<char> buf_ = std::vector<char>(4 << 20);
  size_t used_ = 0;
};

}  // namespace cairn::volume::testing
