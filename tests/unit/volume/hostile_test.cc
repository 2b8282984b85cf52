// Hostile archives on restore: every entry that could write outside the target is refused as an
// error naming it, and a walk of the directory around the target shows nothing changed there.
#include <sys/sysmacros.h>

#include <atomic>

#include "io/stream.h"
#include "tree_support.h"
#include "volume/volume.h"

namespace cairn::volume {
namespace {

using testing::ArchiveBuilder;
using testing::Diff;
using testing::Snapshot;
using testing::TempDir;

const std::atomic<bool> kNoCancel{false};

// <base>/outside/secret (the victim), <base>/target (the restore root). Each test checks that
// everything under <base> except the target is untouched.
class VolumeHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir((base_ / "outside").c_str(), 0755), 0);
    testing::WriteFile(base_ / "outside/secret", "secret");
    ASSERT_EQ(mkdir(target().c_str(), 0755), 0);
  }
  std::string target() const { return base_ / "target"; }
  std::map<std::string, testing::Node> Around() {
    auto all = Snapshot(base_.path());
    std::erase_if(all, [](const auto& kv) { return kv.first.rfind("target", 0) == 0; });
    return all;
  }
  // Restores `tar`, expects `refused` to be named in an error, and nothing outside the target.
  TreeResult RestoreExpectRefused(const std::string& tar, const std::string& refused,
                                  bool overwrite = false) {
    auto before = Around();
    io::StringSource in(tar);
    auto r = RestoreTree(in, target(), {.overwrite = overwrite}, kNoCancel);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    std::string errors;
    for (const auto& e : r->errors) errors += e + "\n";
    EXPECT_NE(errors.find(refused), std::string::npos) << "errors:\n" << errors;
    EXPECT_EQ(Diff(before, Around()), "") << "written outside the target";
    EXPECT_EQ(testing::ReadFile(base_ / "outside/secret"), "secret");
    // The good entry of every archive is restored: refusals do not end the restore.
    EXPECT_EQ(testing::ReadFile(target() + "/ok"), "ok");
    return *r;
  }

  TempDir base_;
};

// "./" carries the volume root's own metadata: only a directory may, never a symlink or a file
// that would replace the root.
TEST_F(VolumeHostile, TheRootEntryMustBeADirectory) {
  RestoreExpectRefused(ArchiveBuilder().Symlink("./", "/etc").File("ok", "ok").Finish(),
                       "refused archive entry './': the volume root must be a directory");
  TempDir again;
  const std::string tar = ArchiveBuilder().File(".", "pwned").Finish();
  io::StringSource in(tar);
  auto r = RestoreTree(in, again.path(), {}, kNoCancel);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0], "refused archive entry './': the volume root must be a directory");
  struct stat st {};
  ASSERT_EQ(lstat(again.path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(VolumeHostile, DotDotPaths) {
  RestoreExpectRefused(
      ArchiveBuilder().File("../outside/secret", "pwned").File("ok", "ok").Finish(),
      "'../outside/secret'");
  RestoreExpectRefused(
      ArchiveBuilder().File("a/../../outside/new", "pwned").File("ok", "ok").Finish(),
      "'a/../../outside/new'", true);
}

TEST_F(VolumeHostile, AbsolutePaths) {
  const std::string abs = base_ / "outside/secret";
  RestoreExpectRefused(ArchiveBuilder().File(abs, "pwned").File("ok", "ok").Finish(),
                       "'" + abs + "'");
}

TEST_F(VolumeHostile, SymlinksPointingOutside) {
  const std::string abs = base_ / "outside";
  RestoreExpectRefused(ArchiveBuilder()
                           .Symlink("abs", abs.c_str())
                           .Symlink("up", "../outside")
                           .Symlink("d/up2", "../../outside")
                           .Symlink("mid", "d/../../outside")
                           .File("ok", "ok")
                           .Finish(),
                       "'abs'");
  const std::string tar = ArchiveBuilder()
                              .Symlink("up", "../outside")
                              .Symlink("d/up2", "../../outside")
                              .Symlink("mid", "d/../x")
                              .Symlink("fine", "d/x")
                              .Symlink("d/fine2", "../ok")
                              .Finish();
  io::StringSource in(tar);
  auto r = RestoreTree(in, target(), {.overwrite = true}, kNoCancel);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->errors.size(), 3u);
  EXPECT_NE(r->errors[0].find("'up'"), std::string::npos);
  EXPECT_NE(r->errors[1].find("'d/up2'"), std::string::npos);
  EXPECT_NE(r->errors[2].find("'mid'"), std::string::npos);
  EXPECT_EQ(r->counts.symlinks, 2u);
}

TEST_F(VolumeHostile, WriteThroughARestoredSymlink) {
  // "link" → "sub" is inside and allowed; a later entry written through it is refused.
  auto r = RestoreExpectRefused(ArchiveBuilder()
                                    .Dir("sub")
                                    .Symlink("link", "sub")
                                    .File("link/through", "pwned")
                                    .File("ok", "ok")
                                    .Finish(),
                                "link/through");
  struct stat st {};
  EXPECT_NE(lstat((target() + "/sub/through").c_str(), &st), 0);
}

TEST_F(VolumeHostile, WriteThroughASymlinkThatReplacedACheckedDirectory) {
  // "d/e" is checked as the parent of an entry that cannot be created (its name is too long),
  // so it stays empty; a symlink entry then replaces it, and what goes through it is refused
  // although "d/e" was a directory when last checked.
  auto r = RestoreExpectRefused(ArchiveBuilder()
                                    .Dir("sub")
                                    .Dir("d")
                                    .Dir("d/e")
                                    .File("d/e/" + std::string(300, 'x'), "long")
                                    .Symlink("d/e", "../sub")
                                    .File("d/e/through", "pwned")
                                    .File("ok", "ok")
                                    .Finish(),
                                "d/e/through");
  struct stat st {};
  EXPECT_EQ(lstat((target() + "/d/e").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_NE(lstat((target() + "/sub/through").c_str(), &st), 0);
}

TEST_F(VolumeHostile, WriteThroughAnExistingSymlink) {
  // The volume already holds a symlink to outside (overwrite mode): nothing goes through it,
  // and an entry of the same name replaces the link itself.
  ASSERT_EQ(symlink((base_ / "outside").c_str(), (target() + "/pre").c_str()), 0);
  ASSERT_EQ(symlink((base_ / "outside/secret").c_str(), (target() + "/pre-file").c_str()), 0);
  RestoreExpectRefused(ArchiveBuilder()
                           .File("pre/secret", "pwned")
                           .File("pre-file", "replaced")
                           .File("ok", "ok")
                           .Finish(),
                       "pre/secret", true);
  EXPECT_EQ(testing::ReadFile(target() + "/pre-file"), "replaced");
}

TEST_F(VolumeHostile, HardLinksToOutside) {
  const std::string abs = base_ / "outside/secret";
  ASSERT_EQ(symlink((base_ / "outside").c_str(), (target() + "/pre").c_str()), 0);
  auto r = RestoreExpectRefused(ArchiveBuilder()
                                    .Hardlink("h1", "../outside/secret")
                                    .Hardlink("h2", abs.c_str())
                                    .Hardlink("h3", "pre/secret")
                                    .Symlink("s", "ok")
                                    .File("ok", "ok")
                                    .Hardlink("h4", "s")
                                    .Hardlink("h5", "ok")
                                    .Finish(),
                                "'h1'", true);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_NE(r.errors[1].find("'h2'"), std::string::npos);
  EXPECT_NE(r.errors[2].find("'h3'"), std::string::npos);
  EXPECT_NE(r.errors[3].find("'h4'"), std::string::npos);
  // No new link to the victim exists anywhere.
  struct stat st {};
  ASSERT_EQ(stat((base_ / "outside/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(r.counts.hardlinks, 1u);  // h5 → ok is fine
}

TEST_F(VolumeHostile, DevicesAndFifos) {
  auto r = RestoreExpectRefused(ArchiveBuilder()
                                    .Add("null", AE_IFCHR, "", nullptr, nullptr, makedev(1, 3))
                                    .Add("disk", AE_IFBLK, "", nullptr, nullptr, makedev(8, 0))
                                    .Add("pipe", AE_IFIFO)
                                    .File("ok", "ok")
                                    .Finish(),
                                "'null': device node");
  ASSERT_EQ(r.errors.size(), 3u);
  struct stat st {};
  EXPECT_NE(lstat((target() + "/null").c_str(), &st), 0);
  EXPECT_NE(lstat((target() + "/pipe").c_str(), &st), 0);
}

TEST_F(VolumeHostile, CorruptArchiveIsDataLoss) {
  std::string tar = ArchiveBuilder().File("ok", std::string(10000, 'o')).Finish();
  tar[100] ^= 0x55;  // the header checksum no longer matches
  io::StringSource in(tar);
  auto r = RestoreTree(in, target(), {}, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
}

TEST(VolumeSymlinkRule, LeadingDotDotWithinDepth) {
  EXPECT_TRUE(SymlinkTargetStaysInside("a", "b"));
  EXPECT_TRUE(SymlinkTargetStaysInside("a/b/l", "../../c"));
  EXPECT_TRUE(SymlinkTargetStaysInside("a/l", "./../c/./d"));
  EXPECT_FALSE(SymlinkTargetStaysInside("a/b/l", "../../../c"));
  EXPECT_FALSE(SymlinkTargetStaysInside("l", ".."));
  EXPECT_FALSE(SymlinkTargetStaysInside("a/l", "b/../c"));
  EXPECT_FALSE(SymlinkTargetStaysInside("a/l", "/etc"));
  EXPECT_FALSE(SymlinkTargetStaysInside("a/l", ""));
}

}  // namespace
}  // namespace cairn::volume
