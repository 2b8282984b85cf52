// Streaming multipart upload as an io::Sink (see s3_store.h for the contract).
#include <deque>
#include <future>
#include <thread>

#include "base/log.h"
#include "base/retry.h"
#include "io/hash.h"
#include "store/s3/s3_internal.h"
#include "store/s3/xml.h"

namespace cairn::store::s3internal {
namespace {

// A finished part: its number, ETag and size, and its buffer, handed back for reuse.
struct PartDone {
  int number = 0;
  std::string etag;
  std::string buffer;
  uint64_t size = 0;
};

// Slack around this run's clock when telling its uploads from others' by their start time.
constexpr std::chrono::seconds kInitiatedSlack{5};

std::optional<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

std::optional<std::string> MultipartEtag(const std::vector<std::pair<int, std::string>>& parts) {
  std::string digests;
  for (const auto& [number, etag] : parts) {
    auto raw = HexDecode(StripQuotes(etag));
    if (!raw || raw->size() != 16) return std::nullopt;  // not an MD5 (SSE-KMS, some gateways)
    digests += *raw;
  }
  return io::Md5Hex(digests) + "-" + std::to_string(parts.size());
}

namespace {
using PartResult = Result<PartDone>;

class UploadSink final : public io::Sink {
 public:
  UploadSink(S3Store* store, std::string key, PutOptions opts)
      : store_(store), key_(std::move(key)), opts_(std::move(opts)) {
    if (opts_.storage_class.empty()) opts_.storage_class = store_->options().storage_class;
    buf_.reserve(store_->options().part_size);
  }
  ~UploadSink() override { Abort(); }

  // Part buffers are recycled: at most parallel_parts + 1 are ever allocated, so memory stays
  // bounded however the allocator treats freed blocks.

  Status Write(std::string_view data) override {
    RETURN_IF_ERROR(error_);  // the first failure, however often the caller asks
    if (done_) return base::Error(base::Code::kInternal, "write to a closed upload");
    while (!data.empty()) {
      const size_t part = PartSize(next_part_);
      size_t n = std::min(data.size(), part - std::min(part, buf_.size()));
      buf_.append(data.data(), n);
      data.remove_prefix(n);
      if (buf_.size() >= part) {
        Status st = SendPart();
        if (!st.ok()) {
          Fail(st);
          return error_;
        }
      }
    }
    return Status::Ok();
  }

  Status Close() override {
    RETURN_IF_ERROR(error_);
    if (done_) return base::Error(base::Code::kInternal, "upload closed twice");
    if (upload_id_.empty()) {  // smaller than one part: one PUT is cheaper and atomic
      done_ = true;
      error_ = store_->Put(key_, buf_, opts_);
      return error_;
    }
    Status st = buf_.empty() ? Status::Ok() : SendPart();
    if (st.ok()) st = Drain(0);
    if (st.ok()) st = Complete();
    if (!st.ok()) {
      Fail(st);
      return error_;
    }
    done_ = true;
    return Status::Ok();
  }

  // S3 allows 10,000 parts. The part size doubles every 2,000 parts, so a stream of up to
  // ~500 GiB (with 8 MiB parts) fits; memory grows only for such streams.
  size_t PartSize(int number) const {
    int doublings = std::min(5, (number - 1) / 2000);
    return static_cast<size_t>(store_->options().part_size) << doublings;
  }

  // Records the first failure and aborts the upload.
  void Fail(const Status& st) {
    if (error_.ok()) error_ = st;
    Abort();
  }

  // Runs on the cleanup path: a cancelled run still aborts what it started.
  void Abort() override {
    if (done_) return;
    done_ = true;
    Drain(0).IgnoreError();
    if (upload_id_.empty()) return;
    Status st = store_->AbortUpload(PendingUpload{key_, upload_id_, {}}, S3Store::Path::kCleanup);
    if (st.ok()) st = AbortOrphans(S3Store::Path::kCleanup);
    if (!st.ok()) {
      // gc removes what is left; the upload never becomes visible.
      base::LogWarn("unable to abort multipart upload; gc will remove it",
                    {{"key", key_}, {"error", st.message()}});
    }
  }

 private:
  std::string What() const {
    return "unable to upload '" + key_ + "' to bucket '" + store_->options().bucket + "'";
  }

  Status Initiate() {
    S3Store::Call call{"POST", key_, {{"uploads", ""}}, {}, {}};
    call.headers.emplace_back("Content-Type", opts_.content_type);
    if (!opts_.storage_class.empty()) {
      call.headers.emplace_back("x-amz-storage-class", opts_.storage_class);
    }
    initiated_after_ = store_->clock().Now();
    ASSIGN_OR_RETURN(http::Response r, store_->Send(call));
    if (r.status != 200) return store_->ResponseError(What(), r);
    auto id = s3::ParseInitiateMultipartUpload(r.body);
    if (!id.ok()) return id.status().Wrap(What());
    upload_id_ = *id;
    initiate_attempts_ = r.attempts;
    return Status::Ok();
  }

  // An initiate whose response was lost and was sent again may have started uploads this run
  // never heard of: those for this key, started since this run's initiate (server clock), are
  // aborted. Another run cannot be writing the same key then: backup names are claimed first.
  Status AbortOrphans(S3Store::Path path) {
    if (initiate_attempts_ <= 1) return Status::Ok();
    ASSIGN_OR_RETURN(auto uploads, store_->ListUploads(key_, path));
    auto skew = store_->ObservedClockSkew().value_or(std::chrono::seconds(0));
    base::TimePoint since = initiated_after_ + skew - kInitiatedSlack;
    for (const auto& u : uploads) {
      if (u.key != key_ || u.upload_id == upload_id_ || u.initiated < since) continue;
      base::LogInfo("aborting an upload left by a retried initiate",
                    {{"key", key_}, {"upload", u.upload_id}});
      RETURN_IF_ERROR(store_->AbortUpload(u, path));
    }
    return Status::Ok();
  }

  // Waits until at most `keep` parts are in flight; records the first failure.
  Status Drain(size_t keep) {
    while (inflight_.size() > keep) {
      PartResult r = inflight_.front().get();
      inflight_.pop_front();
      if (r.ok()) {
        etags_.emplace_back(r->number, std::move(r->etag));
        uploaded_bytes_ += r->size;
        r->buffer.clear();
        spare_.push_back(std::move(r->buffer));
      } else if (error_.ok()) {
        error_ = r.status();
      }
    }
    return error_;
  }

  Status SendPart() {
    if (next_part_ > 10'000) {
      return base::Error(base::Code::kFailedPrecondition,
                         What() + ": the stream needs more than 10,000 parts; raise part_size");
    }
    if (upload_id_.empty()) RETURN_IF_ERROR(Initiate());
    RETURN_IF_ERROR(Drain(static_cast<size_t>(store_->options().parallel_parts) - 1));
    int number = next_part_++;
    std::string body = std::move(buf_);
    if (spare_.empty()) {
      buf_ = std::string();
      buf_.reserve(PartSize(next_part_));
    } else {
      buf_ = std::move(spare_.back());
      spare_.pop_back();
    }
    inflight_.push_back(std::async(
        std::launch::async,
        [store = store_, key = key_, id = upload_id_, number,
         body = std::move(body)]() mutable -> PartResult {
          S3Store::Call call{
              "PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", id}}, {}, body};
          std::string what = "unable to upload part " + std::to_string(number) + " of '" + key +
                             "' to bucket '" + store->options().bucket + "'";
          auto sent = store->Send(call);
          if (!sent.ok()) return sent.status().Wrap(what);
          http::Response& r = *sent;
          if (r.status != 200) return store->ResponseError(what, r);
          std::string etag = r.Get("etag");
          if (etag.empty()) {
            return base::Error(base::Code::kInternal, what + ": response has no ETag");
          }
          uint64_t size = body.size();
          return PartDone{number, std::move(etag), std::move(body), size};
        }));
    return Status::Ok();
  }

  Status Complete() {
    std::sort(etags_.begin(), etags_.end());
    std::string body = s3::BuildCompleteMultipartUpload(etags_);
    // Servers that honour If-None-Match on PUT often ignore it on CompleteMultipartUpload
    // (Ceph RGW, older AWS): check first. Between this HEAD and the Complete, a concurrent
    // writer could still win; callers that need an atomic create use a single PUT.
    if (opts_.if_none_match && store_->Head(key_).ok()) {
      return base::Error(base::Code::kAlreadyExists, "object '" + key_ + "' already exists");
    }
    RETURN_IF_ERROR(AbortOrphans(S3Store::Path::kData));
    // A Complete can fail inside a 200 response; InternalError there is retried.
    for (int attempt = 1;; ++attempt) {
      S3Store::Call call{"POST", key_, {{"uploadId", upload_id_}}, {}, body};
      call.headers.emplace_back("Content-Type", "application/xml");
      if (opts_.if_none_match && store_->options().conditional_create) {
        call.headers.emplace_back("If-None-Match", "*");
      }
      ASSIGN_OR_RETURN(http::Response r, store_->Send(call));
      if (r.status == 412) {
        return base::Error(base::Code::kAlreadyExists, "object '" + key_ + "' already exists");
      }
      if (r.status == 404 && r.body.find("<Code>NoSuchUpload</Code>") != std::string::npos) {
        return AcceptIfCompleted(store_->ResponseError(What(), r));
      }
      if (r.status != 200) return store_->ResponseError(What(), r);
      auto parsed = s3::ParseCompleteMultipartUpload(r.body);
      if (!parsed.ok()) return parsed.status().Wrap(What());
      if (!parsed->is_error) return Status::Ok();
      bool transient = parsed->error.code == "InternalError" || parsed->error.code == "SlowDown";
      if (!transient || attempt >= 4) {
        return base::Error(
            base::Code::kUnavailable,
            What() + ": complete failed: " + parsed->error.code + " " + parsed->error.message);
      }
      if (!base::SleepUnlessCancelled(store_->clock(), std::chrono::milliseconds(500) * attempt,
                                      store_->options().http.cancel)) {
        return base::Error(base::Code::kCancelled, What() + ": cancelled");
      }
    }
  }

  // NoSuchUpload from a Complete: an earlier attempt whose response was lost may have
  // completed it. The object under the key is this upload's when its size and multipart ETag
  // are those of the parts this run uploaded.
  Status AcceptIfCompleted(const Status& no_such_upload) {
    auto expected = MultipartEtag(etags_);
    if (!expected) return no_such_upload;
    auto head = store_->Head(key_);
    if (!head.ok()) return no_such_upload;
    if (head->etag != *expected || head->size != uploaded_bytes_) {
      return base::Error(base::Code::kDataLoss,
                         What() +
                             ": the upload is gone and the object under the key is not the "
                             "one this run wrote (ETag " +
                             head->etag + ", want " + *expected + ")");
    }
    base::LogInfo("multipart upload was completed by an attempt whose response was lost",
                  {{"key", key_}, {"etag", *expected}});
    return Status::Ok();
  }

  S3Store* store_;
  std::string key_;
  PutOptions opts_;
  std::string buf_;
  std::string upload_id_;
  int next_part_ = 1;
  std::deque<std::future<PartResult>> inflight_;
  std::vector<std::pair<int, std::string>> etags_;
  std::vector<std::string> spare_;
  uint64_t uploaded_bytes_ = 0;
  int initiate_attempts_ = 0;
  base::TimePoint initiated_after_{};
  Status error_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<io::Sink> NewUploadSink(S3Store* store, std::string key, PutOptions opts) {
  return std::make_unique<UploadSink>(store, std::move(key), std::move(opts));
}

}  // namespace cairn::store::s3internal
