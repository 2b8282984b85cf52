#include "io/stream.h"

#include <algorithm>
#include <vector>

namespace cairn::io {

Result<std::string> ReadAll(Source& src, size_t limit) {
  std::string out;
  char buf[64 * 1024];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) break;
    if (out.size() + n > limit) {
      return base::Error(base::Code::kFailedPrecondition,
                         "stream is larger than the " + std::to_string(limit) + " bytes allowed");
    }
    out.append(buf, n);
  }
  return out;
}

Result<uint64_t> Copy(Source& src, Sink& dst, size_t buffer_size) {
  std::vector<char> buf(buffer_size);
  uint64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) break;
    RETURN_IF_ERROR(dst.Write(std::string_view(buf.data(), n)));
    total += n;
  }
  return total;
}

Result<size_t> StringSource::Read(std::span<char> buf) {
  size_t n = std::min(buf.size(), data_.size() - pos_);
  std::copy_n(data_.data() + pos_, n, buf.data());
  pos_ += n;
  return n;
}

Result<size_t> CountingSource::Read(std::span<char> buf) {
  auto n = src_->Read(buf);
  if (n.ok()) size_ += *n;
  return n;
}

Result<size_t> BoundedSource::Read(std::span<char> buf) {
  if (past_limit_) return Longer();
  ASSIGN_OR_RETURN(size_t n, src_->Read(buf));
  if (n > limit_ - size_) {
    past_limit_ = true;
    return Longer();
  }
  size_ += n;
  return n;
}

Status BoundedSource::Longer() const {
  return base::Error(
      base::Code::kDataLoss,
      what_ + " is longer than the " + std::to_string(limit_) + " bytes the manifest records");
}

Status StringSink::Write(std::string_view data) {
  if (closed_) return base::Error(base::Code::kInternal, "write after close");
  out_->append(data);
  return Status::Ok();
}

Status StringSink::Close() {
  closed_ = true;
  return Status::Ok();
}

void StringSink::Abort() {
  out_->clear();
  closed_ = true;
}

}  // namespace cairn::io
