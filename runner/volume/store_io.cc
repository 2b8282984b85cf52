// volume/store_io: a volume archive to and from the vault: tree → tar → zstd → store and back,
// hashing on either side of compression as it streams (the manifest's stored and logical
// sizes and digests).
#include <memory>

#include "io/hash.h"
#include "io/read_ahead.h"
#include "io/zstd.h"
#include "volume/volume.h"

namespace cairn::volume {

using base::Code;
using base::Status;

namespace {

// Reads what is left of `src` (tar padding past the end-of-archive blocks) so that the hashes
// cover every byte.
Status Drain(io::Source& src) {
  std::vector<char> buf(64 << 10);
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) return Status::Ok();
  }
}

Status CompareStored(const std::string& key, uint64_t size, uint64_t want_size,
                     const std::string& sha, const std::string& want_sha) {
  if (size == want_size && sha == want_sha) return Status::Ok();
  return base::Error(Code::kDataLoss,
                     "volume archive '" + key + "' differs from its manifest entry: stored size " +
                         std::to_string(size) + " sha256 " + sha + ", expected size " +
                         std::to_string(want_size) + " sha256 " + want_sha);
}

}  // namespace

base::Result<ArchiveInfo> BackupToStore(store::ObjectStore& store, std::string_view key,
                                        const std::string& root, int compression_level,
                                        int zstd_workers, const std::atomic<bool>& cancel) {
  store::PutOptions po;
  po.content_type = "application/zstd";
  ASSIGN_OR_RETURN(std::unique_ptr<io::Sink> sink, store.PutStream(key, po));
  io::HashingSink stored(sink.get());
  auto zstd = io::ZstdCompressSink::Create(&stored, compression_level, zstd_workers);
  if (!zstd.ok()) {
    sink->Abort();
    return zstd.status();
  }
  io::HashingSink logical(zstd->get());
  auto tree = WriteTree(root, logical, cancel);
  if (tree.ok() && cancel.load())
    tree = base::Error(Code::kCancelled, "volume backup was cancelled");
  if (!tree.ok()) {
    logical.Abort();  // aborts zstd, which aborts the upload: nothing appears under `key`
    return tree.status().Wrap("unable to back up '" + root + "' to '" + std::string(key) + "'");
  }
  if (Status st = logical.Close(); !st.ok()) {
    return st.Wrap("unable to store volume archive '" + std::string(key) + "'");
  }
  ArchiveInfo info;
  info.key = std::string(key);
  info.stored_size = stored.size();
  info.stored_sha256 = stored.HexDigest();
  info.logical_size = logical.size();
  info.logical_sha256 = logical.HexDigest();
  info.tree = std::move(*tree);
  return info;
}

// The stored SHA-256 covers every byte of the archive, and decompression is a function of those
// bytes: the logical payload is checked by its size only, so a restore hashes the compressed
// bytes instead of both streams (FORMAT.md §5.3). The frame checksum cairn writes is checked
// too, at the frame's end; it is not what the integrity rests on.
base::Result<TreeResult> RestoreFromStore(store::ObjectStore& store, const ArchiveInfo& expected,
                                          const std::string& root, const RestoreOptions& opts,
                                          const std::atomic<bool>& cancel) {
  ASSIGN_OR_RETURN(std::unique_ptr<io::Source> src, store.Get(expected.key));
  // No more than the recorded sizes is read: a longer stream (a zstd bomb) fails the volume
  // where it passes them, instead of filling the volume first.
  io::BoundedSource stored_bytes(src.get(), expected.stored_size,
                                 "volume archive '" + expected.key + "'");
  io::HashingSource stored(&stored_bytes);
  io::ZstdDecompressSource zstd(&stored);
  io::BoundedSource logical(&zstd, expected.logical_size,
                            "the payload of volume archive '" + expected.key + "'");
  // Reading, the digest and decompression on one core; parsing and writing on another.
  io::ReadAheadSource ahead(&logical);
  auto tree = RestoreTree(ahead, root, opts, cancel);
  if (!tree.ok()) {
    return tree.status().Wrap("unable to restore volume archive '" + expected.key + "' into '" +
                              root + "'");
  }
  if (Status st = Drain(ahead); !st.ok()) {
    return st.Wrap("unable to read volume archive '" + expected.key + "'");
  }
  RETURN_IF_ERROR(CompareStored(expected.key, stored.size(), expected.stored_size,
                                stored.HexDigest(), expected.stored_sha256));
  if (logical.size() != expected.logical_size) {
    return base::Error(Code::kDataLoss, "volume archive '" + expected.key +
                                            "' differs from its manifest entry: logical size " +
                                            std::to_string(logical.size()) + ", expected " +
                                            std::to_string(expected.logical_size));
  }
  return tree;
}

}  // namespace cairn::volume
