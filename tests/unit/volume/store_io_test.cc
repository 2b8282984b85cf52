// BackupToStore → RestoreFromStore through the memory store: sizes and digests as the manifest
// records them, nothing stored on failure or cancel, and DataLoss for an archive that differs
// from what was recorded.
#include <sys/stat.h>

#include <atomic>

#include "io/hash.h"
#include "io/zstd.h"
#include "store/memory/memory_store.h"
#include "tree_support.h"
#include "volume/volume.h"

namespace cairn::volume {
namespace {

using testing::TempDir;
using testing::WriteFile;

const std::atomic<bool> kNoCancel{false};

TEST(VolumeStore, RoundTripRecordsSizesAndDigests) {
  TempDir src, dst;
  WriteFile(src / "a", std::string(100000, 'a'));
  ASSERT_EQ(mkdir((src / "d").c_str(), 0755), 0);
  WriteFile(src / "d/b", "b");
  store::MemoryStore store;
  auto info = BackupToStore(store, "backups/x/volumes/ns/pvc.tar.zst", src.path(), 3, 2, kNoCancel);
  ASSERT_TRUE(info.ok()) << info.status().message();
  auto stored = store.GetAll(info->key);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(info->stored_size, stored->size());
  EXPECT_EQ(info->stored_sha256, io::Sha256Hex(*stored));
  auto logical = io::ZstdDecompress(*stored, 64 << 20);
  ASSERT_TRUE(logical.ok());
  EXPECT_EQ(info->logical_size, logical->size());
  EXPECT_EQ(info->logical_sha256, io::Sha256Hex(*logical));
  EXPECT_EQ(info->tree.counts.files, 2u);
  EXPECT_EQ(info->tree.counts.bytes, 100001u);

  auto r = RestoreFromStore(store, *info, dst.path(), {}, kNoCancel);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(testing::Diff(testing::Snapshot(src.path()), testing::Snapshot(dst.path())), "");
}

TEST(VolumeStore, DifferentArchiveIsDataLoss) {
  TempDir src, other, dst;
  WriteFile(src / "a", "the real data");
  WriteFile(other / "a", "forged data!!");
  store::MemoryStore store;
  auto info = BackupToStore(store, "v.tar.zst", src.path(), 3, 0, kNoCancel);
  ASSERT_TRUE(info.ok());
  // Another valid archive under the same key: well-formed, but not what was recorded.
  ASSERT_TRUE(BackupToStore(store, "v.tar.zst", other.path(), 3, 0, kNoCancel).ok());
  auto r = RestoreFromStore(store, *info, dst.path(), {}, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
  // The sizes of two such archives differ by a few bytes of pax times: a longer one is refused
  // where it passes the recorded size, one as long or shorter by its size or digest.
  const std::string& m = r.status().message();
  EXPECT_TRUE(m.find("differs from its manifest entry") != std::string::npos ||
              m.find("'v.tar.zst' is longer than the") != std::string::npos)
      << m;
}

TEST(VolumeStore, LogicalSizeIsChecked) {
  TempDir src, dst;
  WriteFile(src / "a", "data");
  store::MemoryStore store;
  auto info = BackupToStore(store, "v.tar.zst", src.path(), 3, 0, kNoCancel);
  ASSERT_TRUE(info.ok());
  info->logical_size += 512;
  auto r = RestoreFromStore(store, *info, dst.path(), {}, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
  EXPECT_NE(r.status().message().find("logical size"), std::string::npos) << r.status().message();
}

// A payload longer than recorded (a zstd bomb whose manifest entry keeps a small logical size)
// fails where it passes that size: no more than it is written into the volume.
TEST(VolumeStore, APayloadLongerThanRecordedStopsAtTheRecordedSize) {
  TempDir src, dst;
  WriteFile(src / "big", std::string(16 << 20, 'z'));
  store::MemoryStore store;
  auto info = BackupToStore(store, "v.tar.zst", src.path(), 3, 0, kNoCancel);
  ASSERT_TRUE(info.ok());
  info->logical_size = 1 << 20;
  auto r = RestoreFromStore(store, *info, dst.path(), {}, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDataLoss);
  EXPECT_NE(r.status().message().find("the payload of volume archive 'v.tar.zst' is longer "
                                      "than the 1048576 bytes the manifest records"),
            std::string::npos)
      << r.status().message();
  struct stat st {};  // (its size may be set ahead: the blocks are what was written)
  if (stat((dst / "big").c_str(), &st) == 0) {
    EXPECT_LE(st.st_blocks * 512, 1 << 20);
  }
}

// The logical payload is not hashed on restore: a frame whose content does not match its zstd
// checksum is refused although its stored digest is the one the (re-sealed) manifest holds.
TEST(VolumeStore, AFrameThatFailsItsChecksumIsRefused) {
  TempDir src, dst;
  WriteFile(src / "a", std::string(200000, 'x') + "tail");
  store::MemoryStore store;
  auto info = BackupToStore(store, "v.tar.zst", src.path(), 3, 0, kNoCancel);
  ASSERT_TRUE(info.ok());
  auto got = store.GetAll("v.tar.zst");
  ASSERT_TRUE(got.ok());
  std::string stored = *got;
  stored[stored.size() - 2] ^= 0x01;  // in the frame's content checksum
  ASSERT_TRUE(store.Put("v.tar.zst", stored, {}).ok());
  info->stored_size = stored.size();
  info->stored_sha256 = io::Sha256Hex(stored);
  auto r = RestoreFromStore(store, *info, dst.path(), {}, kNoCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();
}

TEST(VolumeStore, NothingStoredOnCancelOrMissingRoot) {
  TempDir src;
  WriteFile(src / "a", "a");
  store::MemoryStore store;
  std::atomic<bool> cancel{true};
  auto r = BackupToStore(store, "v.tar.zst", src.path(), 3, 0, cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kCancelled);
  auto missing = BackupToStore(store, "w.tar.zst", src / "nope", 3, 0, kNoCancel);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::Code::kNotFound);
  auto all = store.ListAll({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

}  // namespace
}  // namespace cairn::volume
