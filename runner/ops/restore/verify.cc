#include "ops/restore/verify.h"

#include "archive/tar.h"
#include "io/hash.h"
#include "io/zstd.h"
#include "ops/restore/plan.h"

namespace cairn::ops::restore {
namespace {

// Reads `src` to its end (what a tar reader leaves: padding), so the hashes cover every byte.
base::Status Drain(io::Source& src) {
  std::vector<char> buf(64 * 1024);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) return base::Status::Ok();
  }
}

base::Status ReadArchive(archive::TarReader& tar, BackupContent* out) {
  while (true) {
    ASSIGN_OR_RETURN(auto entry, tar.Next());
    if (!entry) return base::Status::Ok();
    ++out->entries;
    ASSIGN_OR_RETURN(std::string text, tar.ReadEntry(16u << 20));
    if (entry->path == "metadata/backup.json") {
      out->metadata = nlohmann::json::parse(text, nullptr, false);
      if (out->metadata.is_discarded()) {
        return base::Error(base::Code::kDataLoss, "metadata/backup.json is not valid JSON");
      }
      continue;
    }
    auto ref = ParseEntryPath(entry->path);
    if (!ref) continue;  // an entry a later format added: ignored, still hashed
    std::string kind;
    const Spool::ResourceInfo* info = out->objects.Find({ref->group, ref->resource});
    if (!info || info->kind.empty()) {  // the index keeps the first kind of a resource
      auto obj = nlohmann::json::parse(text, nullptr, false);
      if (obj.is_object() && obj.contains("kind") && obj["kind"].is_string()) {
        kind = obj["kind"].get<std::string>();
      }
    }
    RETURN_IF_ERROR(out->objects.Add(*ref, kind, text));
  }
}

}  // namespace

void ReadVerified(store::ObjectStore& store, const vault::Layout& layout,
                  const vault::Manifest& manifest, BackupContent* out,
                  std::vector<std::string>* problems) {
  BackupContent& content = *out;
  for (const vault::StoredObject& o : manifest.objects) {
    const std::string key = layout.BackupObjectKey(manifest.name, o.key);
    auto src = store.Get(key);
    if (!src.ok()) {
      problems->push_back(o.key + ": " + src.status().message());
      continue;
    }
    io::HashingSource stored(src->get());
    std::unique_ptr<io::ZstdDecompressSource> z;
    if (o.compression == "zstd") z = std::make_unique<io::ZstdDecompressSource>(&stored);
    io::HashingSource logical(z ? static_cast<io::Source*>(z.get()) : &stored);
    base::Status st;
    const bool is_archive = o.key == vault::kResourcesObject;
    if (is_archive) {
      auto tar = archive::TarReader::Open(&logical);
      st = tar.ok() ? ReadArchive(**tar, &content) : tar.status();
      if (st.ok()) st = content.objects.Finish();
    }
    if (st.ok()) st = Drain(logical);
    if (!st.ok()) {
      problems->push_back(o.key + ": " + st.message());
      continue;
    }
    auto check = [&](const char* what, uint64_t got, uint64_t want) {
      if (got != want) {
        problems->push_back(o.key + ": " + what + " size " + std::to_string(got) +
                            " differs from the manifest's " + std::to_string(want));
      }
    };
    check("stored", stored.size(), o.stored_size);
    check("logical", logical.size(), o.logical_size);
    if (stored.HexDigest() != o.stored_sha256) {
      problems->push_back(o.key + ": stored sha256 differs from the manifest");
    }
    if (logical.HexDigest() != o.logical_sha256) {
      problems->push_back(o.key + ": logical sha256 differs from the manifest");
    }
    if (is_archive && o.entry_count && static_cast<uint64_t>(content.entries) != *o.entry_count) {
      problems->push_back(o.key + ": " + std::to_string(content.entries) +
                          " entries, the manifest records " + std::to_string(*o.entry_count));
    }
  }
}

}  // namespace cairn::ops::restore
