// Streaming GET as a sequence of range requests (see s3_store.h for why).
#include <cstring>

#include "store/s3/s3_internal.h"

namespace cairn::store::s3internal {
namespace {

// Parses "bytes 0-99/1234" into first, last and total.
bool ParseContentRange(const std::string& v, uint64_t* first, uint64_t* last, uint64_t* total) {
  unsigned long long a, b, t;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) != 3) return false;
  *first = a;
  *last = b;
  *total = t;
  return true;
}

class RangeSource final : public io::Source {
 public:
  RangeSource(S3Store* store, std::string key, ByteRange range)
      : store_(store), key_(std::move(key)), pos_(range.offset), length_(range.length) {}

  // Fetches the first chunk, so a missing object fails at open time.
  Status Start() {
    if (length_ && *length_ == 0) {  // nothing to read, but the object must exist
      auto head = store_->Head(key_);
      if (!head.ok()) return head.status();
      total_ = pos_;
      start_ = pos_;
      started_ = true;
      return Status::Ok();
    }
    return Fetch();
  }

  Result<size_t> Read(std::span<char> buf) override {
    if (buf.empty()) return size_t{0};
    if (off_ == chunk_.size()) {
      if (Done()) return size_t{0};
      RETURN_IF_ERROR(Fetch());
      if (chunk_.empty()) return size_t{0};
    }
    size_t n = std::min(buf.size(), chunk_.size() - off_);
    std::memcpy(buf.data(), chunk_.data() + off_, n);
    off_ += n;
    return n;
  }

 private:
  bool Done() const {
    if (!total_) return false;
    uint64_t end = *total_;
    if (length_) end = std::min(end, start_ + *length_);
    return pos_ >= end;
  }

  Status Fetch() {
    if (!started_) start_ = pos_;
    uint64_t want = store_->options().read_chunk;
    if (length_) want = std::min(want, start_ + *length_ - pos_);
    S3Store::Call call{"GET", key_, {}, {}, {}};
    call.headers.emplace_back(
        "Range", "bytes=" + std::to_string(pos_) + "-" + std::to_string(pos_ + want - 1));
    if (!etag_.empty()) call.headers.emplace_back("If-Match", "\"" + etag_ + "\"");
    std::string what = "unable to read '" + key_ + "' in bucket '" + store_->options().bucket + "'";
    ASSIGN_OR_RETURN(http::Response r, store_->Send(call));
    chunk_.clear();
    off_ = 0;
    if (r.status == 416 && pos_ == start_ && !started_) {
      // An empty object (or a start past the end) has no satisfiable range.
      auto head = store_->Head(key_);
      if (head.ok() && head->size == pos_) {
        total_ = pos_;
        started_ = true;
        return Status::Ok();
      }
      return store_->ResponseError(what, r);
    }
    if (r.status == 412) {
      return base::Error(base::Code::kDataLoss,
                         what + ": the object changed while it was being read");
    }
    if (r.status == 404) {
      return base::Error(base::Code::kNotFound, "object '" + key_ + "' not found");
    }
    uint64_t first = 0, last = 0, total = 0;
    if (r.status == 206) {
      if (!ParseContentRange(r.Get("content-range"), &first, &last, &total) || first != pos_) {
        return base::Error(base::Code::kDataLoss,
                           what + ": unexpected Content-Range '" + r.Get("content-range") + "'");
      }
    } else if (r.status == 200 && pos_ == 0) {  // server ignored Range: whole object
      first = 0;
      total = r.body.size();
      last = total == 0 ? 0 : total - 1;
    } else {
      return store_->ResponseError(what, r);
    }
    uint64_t expect = total == 0 ? 0 : last - first + 1;
    if (r.body.size() != expect) {
      return base::Error(base::Code::kDataLoss, what + ": response truncated: got " +
                                                    std::to_string(r.body.size()) + " of " +
                                                    std::to_string(expect) + " bytes at offset " +
                                                    std::to_string(pos_));
    }
    if (total_ && *total_ != total) {
      return base::Error(base::Code::kDataLoss, what + ": object size changed while reading");
    }
    total_ = total;
    if (etag_.empty()) etag_ = StripQuotes(r.Get("etag"));
    started_ = true;
    chunk_ = std::move(r.body);
    if (length_) {
      uint64_t end = start_ + *length_;
      if (pos_ + chunk_.size() > end) chunk_.resize(end - pos_);
    }
    pos_ += chunk_.size();
    return Status::Ok();
  }

  S3Store* store_;
  std::string key_;
  uint64_t pos_;
  uint64_t start_ = 0;
  std::optional<uint64_t> length_;
  std::optional<uint64_t> total_;
  std::string etag_;
  bool started_ = false;
  std::string chunk_;
  size_t off_ = 0;
};

}  // namespace

Result<std::unique_ptr<io::Source>> NewRangeSource(S3Store* store, std::string key,
                                                   ByteRange range) {
  auto src = std::make_unique<RangeSource>(store, std::move(key), range);
  RETURN_IF_ERROR(src->Start());
  return std::unique_ptr<io::Source>(std::move(src));
}

}  // namespace cairn::store::s3internal
