#include "ops/backup/archive_stream.h"

namespace cairn::ops::backup {

using base::Status;

base::Result<Upload> Upload::Open(store::ObjectStore& store, const std::string& key, int level,
                                  int workers, const std::string& content_type) {
  Upload u;
  u.store = &store;
  u.key = key;
  u.content_type = content_type;
  store::PutOptions po;
  po.content_type = content_type;
  ASSIGN_OR_RETURN(u.sink, store.PutStream(key, po));
  u.stored = std::make_unique<io::HashingSink>(u.sink.get());
  ASSIGN_OR_RETURN(u.zstd, io::ZstdCompressSink::Create(u.stored.get(), level, workers));
  u.logical = std::make_unique<io::HashingSink>(u.zstd.get());
  return u;
}

Status Upload::Commit() {
  RETURN_IF_ERROR(in().Close());
  auto info = store->Head(key);
  if (!info.ok()) return info.status().Wrap("unable to check uploaded object '" + key + "'");
  etag = info->etag;
  return Status::Ok();
}

vault::StoredObject Upload::Describe(std::string_view rel) const {
  vault::StoredObject o;
  o.key = std::string(rel);
  o.stored_size = stored->size();
  o.stored_sha256 = stored->HexDigest();
  o.logical_size = logical->size();
  o.logical_sha256 = logical->HexDigest();
  o.compression = "zstd";
  o.content_type = content_type;
  return o;
}

base::Result<std::unique_ptr<ArchiveStream>> ArchiveStream::Open(store::ObjectStore& store,
                                                                 const std::string& archive_key,
                                                                 const std::string& list_key,
                                                                 int level, int workers,
                                                                 base::TimePoint mtime) {
  std::unique_ptr<ArchiveStream> s(new ArchiveStream());
  s->mtime_ = mtime;
  ASSIGN_OR_RETURN(s->archive_,
                   Upload::Open(store, archive_key, level, workers, "application/x-tar"));
  auto list = Upload::Open(store, list_key, 3, 0, "application/json");
  if (!list.ok()) {
    s->archive_.in().Abort();
    return list.status();
  }
  s->list_ = std::move(list).value();
  auto tar = archive::TarWriter::Create(&s->archive_.in());
  if (!tar.ok()) {
    s->Abort();
    return tar.status();
  }
  s->tar_ = std::move(tar).value();
  return s;
}

Status ArchiveStream::AddMetadata(const std::string& json) {
  RETURN_IF_ERROR(tar_->Add("metadata/backup.json", json, mtime_));
  ++entries_;
  return list_.in().Write("[\n");
}

Status ArchiveStream::Drain(EntryQueue& queue, RunState& state) {
  while (std::optional<ArchiveEntry> e = queue.Pop()) {
    Status st = Write(*e, state);
    if (!st.ok()) {
      queue.Fail(st);
      return st;
    }
  }
  return Status::Ok();
}

Status ArchiveStream::Write(const ArchiveEntry& e, RunState& state) {
  RETURN_IF_ERROR(tar_->Add(e.path, e.data, mtime_));
  RETURN_IF_ERROR(list_.in().Write((first_line_ ? "" : ",\n") + e.line));
  first_line_ = false;
  ++entries_;
  if (!e.primary) return Status::Ok();
  ++objects_;
  if (!e.namespace_name.empty()) namespaces_.insert(e.namespace_name);
  if (e.pulled_in) ++cluster_objects_;
  const auto stored = static_cast<int64_t>(archive_.stored->size());
  state.Update([&](vault::RunStatus& st) {
    st.counts["objects"] = objects_;
    st.sizes["storedBytes"] = stored;
  });
  return Status::Ok();
}

Status ArchiveStream::Finish() {
  Status st = tar_->Finish();
  if (st.ok()) st = archive_.Commit();
  if (st.ok()) st = list_.in().Write("\n]\n");
  if (st.ok()) st = list_.Commit();
  if (!st.ok()) {
    Abort();
    return st;
  }
  finished_ = true;
  return Status::Ok();
}

void ArchiveStream::Abort() {
  if (finished_) return;
  if (tar_) tar_->Abort();
  if (archive_.logical) archive_.in().Abort();
  if (list_.logical) list_.in().Abort();
}

}  // namespace cairn::ops::backup
