// WriteTree → RestoreTree round trips compared with a tree walker: every file type, hostile
// names, hard links, sparse files, xattrs, ownership, files changing or unreadable during the
// walk, and the target rules (empty unless overwrite).
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <thread>
#include <tuple>

#include "io/stream.h"
#include "tree_support.h"
#include "volume/volume.h"

namespace cairn::volume {
namespace {

using testing::Diff;
using testing::Snapshot;
using testing::TempDir;
using testing::WriteFile;

const std::atomic<bool> kNoCancel{false};

std::string Archive(const std::string& root, TreeResult* result = nullptr) {
  std::string tar;
  io::StringSink sink(&tar);
  auto r = WriteTree(root, sink, kNoCancel);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (result != nullptr && r.ok()) *result = *r;
  return tar;
}

TreeResult Restore(const std::string& tar, const std::string& root, RestoreOptions opts = {}) {
  io::StringSource src(tar);
  auto r = RestoreTree(src, root, opts, kNoCancel);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : TreeResult{};
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

void MakeSocket(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
  close(s);
}

TEST(VolumeTree, EveryFileTypeRoundTrips) {
  TempDir src, dst;
  ASSERT_EQ(mkdir((src / "dir").c_str(), 0750), 0);
  ASSERT_EQ(mkdir((src / "dir/deep").c_str(), 0700), 0);
  WriteFile(src / "dir/deep/a.json", "{\"a\":1}\n", 0640);
  WriteFile(src / "exec.sh", "#!/bin/sh\necho hi\n", 0755);
  WriteFile(src / "empty", "", 0600);
  WriteFile(src / "readonly", "ro", 0444);
  WriteFile(src / "setgid", "g", 02755);
  ASSERT_EQ(symlink("dir/deep/a.json", (src / "link").c_str()), 0);
  ASSERT_EQ(symlink("../exec.sh", (src / "dir/up").c_str()), 0);
  ASSERT_EQ(symlink("missing", (src / "dangling").c_str()), 0);
  ASSERT_EQ(link((src / "exec.sh").c_str(), (src / "dir/hard1").c_str()), 0);
  ASSERT_EQ(link((src / "exec.sh").c_str(), (src / "dir/deep/hard2").c_str()), 0);
  ASSERT_EQ(mkfifo((src / "fifo").c_str(), 0644), 0);
  MakeSocket(src / "sock");
  ASSERT_EQ(chown((src / "readonly").c_str(), 1234, 5678), 0);
  ASSERT_EQ(mkdir((src / "closed").c_str(), 0500), 0);  // restore must still fill it
  testing::SetMtime(src / "dir/deep/a.json", 1'700'000'000, 123'456'789);
  testing::SetMtime(src / "link", 1'600'000'000, 0);
  testing::SetMtime(src / "dir/deep", 1'500'000'000, 5);
  testing::SetMtime(src / "dir", 1'400'000'000, 0);

  TreeResult wrote;
  const std::string tar = Archive(src.path(), &wrote);
  EXPECT_EQ(wrote.counts.files, 5u);
  EXPECT_EQ(wrote.counts.hardlinks, 2u);
  EXPECT_EQ(wrote.counts.symlinks, 3u);
  EXPECT_EQ(wrote.counts.dirs, 3u);
  EXPECT_EQ(wrote.counts.skipped, 2u);
  EXPECT_TRUE(wrote.errors.empty()) << Joined(wrote.errors);
  const std::string warnings = Joined(wrote.warnings);
  EXPECT_NE(warnings.find("skipped FIFO 'fifo'"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("skipped socket 'sock'"), std::string::npos) << warnings;

  TreeResult restored = Restore(tar, dst.path(), {.restore_ownership = true});
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_EQ(restored.counts.files, 5u);
  EXPECT_EQ(restored.counts.hardlinks, 2u);
  auto want = Snapshot(src.path());
  want.erase("fifo");
  want.erase("sock");
  EXPECT_EQ(Diff(want, Snapshot(dst.path())), "");
}

TEST(VolumeTree, HostileNamesRoundTrip) {
  TempDir src, dst;
  WriteFile(src / "new\nline", "n");
  WriteFile(src / "bad\xff\xfe-utf8", "u");
  WriteFile(src / "tab\there \x01 ctl", "c");
  // A 4,000-byte path: 16 nested directories of 240 bytes plus a file name.
  std::string rel;
  for (int i = 0; i < 16; ++i) {
    rel += (rel.empty() ? "" : "/") + std::string(240, static_cast<char>('a' + i));
    ASSERT_EQ(mkdir((src / rel).c_str(), 0755), 0) << std::strerror(errno);
  }
  rel += "/" + std::string(4000 - rel.size() - 1, 'z');
  ASSERT_EQ(rel.size(), 4000u);
  int dfd = open(src.path().c_str(), O_RDONLY | O_DIRECTORY);
  // Created relative to the root: the absolute path would pass PATH_MAX.
  int fd = openat(dfd, rel.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(write(fd, "deep", 4), 4);
  close(fd);
  close(dfd);

  TreeResult wrote;
  const std::string tar = Archive(src.path(), &wrote);
  EXPECT_TRUE(wrote.errors.empty()) << Joined(wrote.errors);
  TreeResult restored = Restore(tar, dst.path());
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_EQ(Diff(Snapshot(src.path()), Snapshot(dst.path())), "");
}

TEST(VolumeTree, SparseFileStaysSparse) {
  TempDir src, dst;
  const off_t size = off_t{64} << 20;
  int fd = open((src / "sparse.img").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  ASSERT_EQ(pwrite(fd, "head", 4, 0), 4);
  ASSERT_EQ(pwrite(fd, "middle", 6, 30 << 20), 6);
  ASSERT_EQ(pwrite(fd, "tail", 4, size - 4), 4);
  close(fd);
  struct stat before {};
  ASSERT_EQ(stat((src / "sparse.img").c_str(), &before), 0);
  if (before.st_blocks * 512 > (1 << 20)) GTEST_SKIP() << "the file system made no holes";

  const std::string tar = Archive(src.path());
  EXPECT_LT(tar.size(), 1u << 20) << "holes were stored as data";
  Restore(tar, dst.path());
  struct stat after {};
  ASSERT_EQ(stat((dst / "sparse.img").c_str(), &after), 0);
  EXPECT_EQ(after.st_size, size);
  EXPECT_LE(after.st_blocks * 512, 1 << 20) << "restored without holes";
  EXPECT_EQ(Diff(Snapshot(src.path()), Snapshot(dst.path())), "");
}

// The volume root's own mode and mtime (and owner, when ownership is restored) come back from
// the archive's "./" entry, set after everything below it was written.
TEST(VolumeTree, TheRootsOwnMetadataRoundTrips) {
  TempDir src, dst;
  WriteFile(src / "f", "data");
  ASSERT_EQ(chmod(src.path().c_str(), 0710), 0);
  const bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(chown(src.path().c_str(), 1234, 5678), 0);
  }
  testing::SetMtime(src.path(), 1'600'000'000, 123456789);
  TreeResult written;
  const std::string tar = Archive(src.path(), &written);
  EXPECT_EQ(written.counts.dirs, 0u) << "the root is not counted as a directory";
  ASSERT_EQ(chmod(dst.path().c_str(), 0755), 0);
  TreeResult restored = Restore(tar, dst.path(), {.restore_ownership = root});
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_TRUE(restored.warnings.empty()) << Joined(restored.warnings);
  EXPECT_EQ(restored.counts.dirs, 0u);
  struct stat st {};
  ASSERT_EQ(stat(dst.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  if (root) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  }
  EXPECT_EQ(Diff(Snapshot(src.path()), Snapshot(dst.path())), "");
}

// Sets or clears the immutable flag of a directory (root with CAP_LINUX_IMMUTABLE, on a file
// system that has it): even root cannot change its mode then.
bool SetImmutable(const std::string& dir, bool on) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
  ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  close(fd);
  return ok;
}

// A root mode that cannot be set (a mover without rights over a root kubelet owns) is a
// warning naming both modes; the restore goes on.
TEST(VolumeTree, ARootModeThatCannotBeSetIsAWarning) {
  TempDir src, dst;
  ASSERT_EQ(chmod(src.path().c_str(), 0710), 0);
  const std::string tar = Archive(src.path());
  ASSERT_EQ(chmod(dst.path().c_str(), 0755), 0);
  if (!SetImmutable(dst.path(), true)) {
    GTEST_SKIP() << "no immutable directories here: " << std::strerror(errno);
  }
  TreeResult restored = Restore(tar, dst.path());
  ASSERT_TRUE(SetImmutable(dst.path(), false));
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_EQ(Joined(restored.warnings),
            "unable to give the volume root mode 0710 (it has 0755): Operation not permitted\n");
  struct stat st {};
  ASSERT_EQ(stat(dst.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(VolumeTree, XattrsRoundTrip) {
  TempDir src, dst;
  WriteFile(src / "f", "data");
  ASSERT_EQ(mkdir((src / "d").c_str(), 0755), 0);
  if (setxattr((src / "f").c_str(), "user.cairn.test", "v1", 2, 0) != 0) {
    GTEST_SKIP() << "the file system refuses user xattrs: " << std::strerror(errno);
  }
  ASSERT_EQ(setxattr((src / "d").c_str(), "user.other", "\x00\x01bin", 5, 0), 0);
  const std::string tar = Archive(src.path());
  TreeResult restored = Restore(tar, dst.path());
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_EQ(testing::UserXattrs(dst / "f").at("user.cairn.test"), "v1");
  EXPECT_EQ(Diff(Snapshot(src.path()), Snapshot(dst.path())), "");
}

// A POSIX ACL in the kernel's xattr form (system.posix_acl_access / _default): version 2, then
// (tag, perm, id) entries sorted by tag and id. No libacl headers needed.
std::string PosixAcl(std::initializer_list<std::tuple<uint16_t, uint16_t, uint32_t>> entries) {
  auto le = [](std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string out;
  le(out, 2, 4);
  for (auto [tag, perm, id] : entries) {
    le(out, tag, 2);
    le(out, perm, 2);
    le(out, id, 4);
  }
  return out;
}

std::string GetXattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = getxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// A file's access ACL (a named user and group besides the mode) and a directory's default ACL
// come back as they were, entry for entry.
TEST(VolumeTree, PosixAclsRoundTrip) {
  constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10,
                     kOther = 0x20;
  constexpr uint32_t kNoId = 0xffffffff;
  const std::string access = PosixAcl({{kUserObj, 6, kNoId},
                                       {kUser, 4, 1234},
                                       {kGroupObj, 4, kNoId},
                                       {kGroup, 6, 5678},
                                       {kMask, 6, kNoId},
                                       {kOther, 0, kNoId}});
  const std::string dflt = PosixAcl({{kUserObj, 7, kNoId},
                                     {kUser, 5, 1234},
                                     {kGroupObj, 5, kNoId},
                                     {kMask, 5, kNoId},
                                     {kOther, 0, kNoId}});
  TempDir src, dst;
  WriteFile(src / "f", "data");
  ASSERT_EQ(mkdir((src / "d").c_str(), 0750), 0);
  if (setxattr((src / "f").c_str(), "system.posix_acl_access", access.data(), access.size(), 0) !=
      0) {
    GTEST_SKIP() << "the file system refuses POSIX ACLs: " << std::strerror(errno);
  }
  ASSERT_EQ(setxattr((src / "d").c_str(), "system.posix_acl_default", dflt.data(), dflt.size(), 0),
            0)
      << std::strerror(errno);
  const std::string tar = Archive(src.path());
  TreeResult restored = Restore(tar, dst.path());
  EXPECT_TRUE(restored.errors.empty()) << Joined(restored.errors);
  EXPECT_EQ(GetXattr(dst / "f", "system.posix_acl_access"), access);
  EXPECT_EQ(GetXattr(dst / "d", "system.posix_acl_default"), dflt);
  EXPECT_EQ(Diff(Snapshot(src.path()), Snapshot(dst.path())), "");
}

// A Sink that appends to a file the first time it sees bytes of that file's entry: the file
// changes after WriteTree opened it and before it finished reading it.
class TamperingSink final : public io::Sink {
 public:
  TamperingSink(std::string path, std::string marker) : path_(path), marker_(marker) {}
  base::Status Write(std::string_view data) override {
    if (!done_ && data.find(marker_) != std::string_view::npos) {
      done_ = true;
      int fd = open(path_.c_str(), O_WRONLY | O_APPEND);
      EXPECT_EQ(write(fd, "more", 4), 4);
      close(fd);
    }
    return base::Status::Ok();
  }
  base::Status Close() override { return base::Status::Ok(); }
  void Abort() override {}
  bool done_ = false;

 private:
  std::string path_, marker_;
};

TEST(VolumeTree, FileChangedWhileReadIsAWarning) {
  TempDir src;
  // The header of "growing.log" reaches the sink while its 4 MiB are being copied.
  WriteFile(src / "growing.log", std::string(4 << 20, 'g'));
  WriteFile(src / "steady", "s");
  TamperingSink sink(src / "growing.log", "growing.log");
  auto r = WriteTree(src.path(), sink, kNoCancel);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(sink.done_);
  ASSERT_EQ(r->warnings.size(), 1u) << Joined(r->warnings);
  EXPECT_NE(r->warnings[0].find("changed while it was read: 'growing.log'"), std::string::npos)
      << r->warnings[0];
  EXPECT_TRUE(r->errors.empty());
}

// Unreadable files are per-file errors and the walk goes on. Root reads everything, so the
// walk runs in a child process as nobody.
TEST(VolumeTree, UnreadableFileIsAnErrorAndTheWalkGoesOn) {
  TempDir src;
  WriteFile(src / "a-readable", "a", 0644);
  WriteFile(src / "b-secret", "s", 0600);
  WriteFile(src / "c-readable", "c", 0644);
  ASSERT_EQ(mkdir((src / "d-closed").c_str(), 0700), 0);
  WriteFile(src / "d-closed/inner", "i", 0644);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(src.path().c_str(), 65534, 65534), 0);
    for (const char* p : {"a-readable", "c-readable"}) chown((src / p).c_str(), 65534, 65534);
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
    std::string tar;
    io::StringSink sink(&tar);
    auto r = WriteTree(src.path(), sink, kNoCancel);
    if (!r.ok()) _exit(11);
    if (r->counts.files != 2 || r->errors.size() != 2) _exit(12);
    const std::string errors = Joined(r->errors);
    if (errors.find("'b-secret'") == std::string::npos) _exit(13);
    if (errors.find("'d-closed'") == std::string::npos) _exit(14);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(VolumeTree, NonEmptyTargetNeedsOverwrite) {
  TempDir src, dst;
  WriteFile(src / "f", "new");
  WriteFile(src / "g", "g");
  const std::string tar = Archive(src.path());
  WriteFile(dst / "f", "old");
  io::StringSource in(tar);
  auto refused = RestoreTree(in, dst.path(), {}, kNoCancel);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(testing::ReadFile(dst / "f"), "old");

  TreeResult r = Restore(tar, dst.path(), {.overwrite = true});
  EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
  EXPECT_EQ(testing::ReadFile(dst / "f"), "new");
  EXPECT_EQ(testing::ReadFile(dst / "g"), "g");
}

TEST(VolumeTree, LostAndFoundCountsAsEmpty) {
  TempDir src, dst;
  WriteFile(src / "f", "x");
  ASSERT_EQ(mkdir((dst / "lost+found").c_str(), 0700), 0);
  TreeResult r = Restore(Archive(src.path()), dst.path());
  EXPECT_EQ(testing::ReadFile(dst / "f"), "x");
}

TEST(VolumeTree, CancelStopsTheWalk) {
  TempDir src;
  WriteFile(src / "f", "x");
  std::atomic<bool> cancel{true};
  std::string tar;
  io::StringSink sink(&tar);
  auto r = WriteTree(src.path(), sink, cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kCancelled);
}

TEST(VolumeTree, MissingRootIsNotFound) {
  std::string tar;
  io::StringSink sink(&tar);
  auto r = WriteTree("/nonexistent/cairn-volume", sink, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kNotFound);
}

}  // namespace
}  // namespace cairn::volume
