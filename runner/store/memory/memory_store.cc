#include "store/memory/memory_store.h"

#include "io/hash.h"

namespace cairn::store {

class MemoryStore::UploadSink final : public io::Sink {
 public:
  UploadSink(MemoryStore* store, std::string key, std::string id, PutOptions opts)
      : store_(store), key_(std::move(key)), id_(std::move(id)), opts_(std::move(opts)) {}
  ~UploadSink() override { Abort(); }
  Status Write(std::string_view data) override {
    if (done_) return base::Error(base::Code::kInternal, "write after close");
    buf_.append(data);
    std::lock_guard<std::mutex> l(store_->mu_);
    store_->pending_bytes_[id_] = buf_.size();
    return Status::Ok();
  }
  Status Close() override {
    if (done_) return base::Error(base::Code::kInternal, "upload closed twice");
    done_ = true;
    {
      std::lock_guard<std::mutex> l(store_->mu_);
      store_->pending_.erase(id_);
      store_->pending_bytes_.erase(id_);
    }
    return store_->Commit(key_, std::move(buf_), opts_);
  }
  void Abort() override {
    if (done_) return;
    done_ = true;
    std::lock_guard<std::mutex> l(store_->mu_);
    store_->pending_.erase(id_);
    store_->pending_bytes_.erase(id_);
  }

 private:
  MemoryStore* store_;
  std::string key_, id_;
  PutOptions opts_;
  std::string buf_;
  bool done_ = false;
};

namespace {
class OwnedStringSource final : public io::Source {
 public:
  explicit OwnedStringSource(std::string data) : data_(std::move(data)), src_(data_) {}
  Result<size_t> Read(std::span<char> buf) override { return src_.Read(buf); }

 private:
  std::string data_;
  io::StringSource src_;
};
}  // namespace

Status MemoryStore::Commit(const std::string& key, std::string data, const PutOptions& opts) {
  std::lock_guard<std::mutex> l(mu_);
  if (opts.if_none_match && objects_.count(key)) {
    return base::Error(base::Code::kAlreadyExists, "object '" + key + "' already exists");
  }
  Object obj;
  obj.info.key = key;
  obj.info.size = data.size();
  obj.info.etag = io::Sha256Hex(data).substr(0, 32);
  obj.info.last_modified = clock_.Now();
  obj.info.storage_class = opts.storage_class.empty() ? "STANDARD" : opts.storage_class;
  obj.data = std::move(data);
  objects_[key] = std::move(obj);
  return Status::Ok();
}

Status MemoryStore::Put(std::string_view key, std::string_view data, const PutOptions& opts) {
  return Commit(std::string(key), std::string(data), opts);
}

Result<std::unique_ptr<io::Sink>> MemoryStore::PutStream(std::string_view key,
                                                         const PutOptions& opts) {
  std::lock_guard<std::mutex> l(mu_);
  std::string id = "mem-" + std::to_string(++next_upload_);
  pending_[id] = PendingUpload{std::string(key), id, clock_.Now()};
  return std::unique_ptr<io::Sink>(new UploadSink(this, std::string(key), id, opts));
}

Result<std::unique_ptr<io::Source>> MemoryStore::Get(std::string_view key, const ByteRange& range) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
  }
  const std::string& d = it->second.data;
  if (range.offset > d.size()) {
    return base::Error(base::Code::kInvalidArgument,
                       "range start is past the end of '" + std::string(key) + "'");
  }
  std::string part = d.substr(range.offset, range.length.value_or(std::string::npos));
  return std::unique_ptr<io::Source>(new OwnedStringSource(std::move(part)));
}

Result<ObjectInfo> MemoryStore::Head(std::string_view key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
  }
  return it->second.info;
}

Status MemoryStore::List(const ListOptions& opts,
                         const std::function<bool(const ListPage&)>& page_fn) {
  ListPage page;
  std::string last_prefix;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = objects_.lower_bound(opts.prefix); it != objects_.end(); ++it) {
      const std::string& k = it->first;
      if (k.compare(0, opts.prefix.size(), opts.prefix) != 0) break;
      if (!opts.delimiter.empty()) {
        size_t d = k.find(opts.delimiter, opts.prefix.size());
        if (d != std::string::npos) {
          std::string cp = k.substr(0, d + opts.delimiter.size());
          if (cp != last_prefix) page.common_prefixes.push_back(cp);
          last_prefix = cp;
          continue;
        }
      }
      page.objects.push_back(it->second.info);
    }
  }
  // Re-page the snapshot so callers see paging behave as on the real drivers.
  size_t per = static_cast<size_t>(std::max(1, opts.page_size));
  size_t total = page.objects.size() + page.common_prefixes.size();
  if (total <= per) {
    page_fn(page);
    return Status::Ok();
  }
  for (size_t i = 0; i < page.objects.size(); i += per) {
    ListPage p;
    p.objects.assign(page.objects.begin() + i,
                     page.objects.begin() + std::min(page.objects.size(), i + per));
    if (i + per >= page.objects.size()) p.common_prefixes = page.common_prefixes;
    if (!page_fn(p)) return Status::Ok();
  }
  if (page.objects.empty()) page_fn(page);
  return Status::Ok();
}

Status MemoryStore::Delete(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& k : keys) objects_.erase(k);
  return Status::Ok();
}

Result<std::vector<PendingUpload>> MemoryStore::ListPendingUploads(std::string_view prefix) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<PendingUpload> out;
  for (const auto& [id, u] : pending_) {
    if (u.key.compare(0, prefix.size(), prefix) == 0) out.push_back(u);
  }
  return out;
}

Status MemoryStore::AbortPendingUpload(const PendingUpload& upload) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.erase(upload.upload_id);
  pending_bytes_.erase(upload.upload_id);
  return Status::Ok();
}

Result<uint64_t> MemoryStore::PendingUploadBytes(const PendingUpload& upload) {
  std::lock_guard<std::mutex> l(mu_);
  if (!pending_.count(upload.upload_id)) {
    return base::Error(base::Code::kNotFound,
                       "upload '" + upload.upload_id + "' of '" + upload.key + "' not found");
  }
  auto it = pending_bytes_.find(upload.upload_id);
  return it == pending_bytes_.end() ? uint64_t{0} : it->second;
}

}  // namespace cairn::store
