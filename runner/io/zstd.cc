#include "io/zstd.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <cstdint>
#include <string>

namespace cairn::io {
namespace {
ZSTD_CCtx* C(void* p) { return static_cast<ZSTD_CCtx*>(p); }
ZSTD_DCtx* D(void* p) { return static_cast<ZSTD_DCtx*>(p); }
Status ZstdError(const char* what, size_t rc) {
  return base::Error(base::Code::kInternal,
                     std::string("zstd ") + what + ": " + ZSTD_getErrorName(rc));
}
}  // namespace

Result<std::unique_ptr<ZstdCompressSink>> ZstdCompressSink::Create(Sink* next, int level,
                                                                   int workers) {
  if (level < 1 || level > ZSTD_maxCLevel()) {
    return base::Error(base::Code::kInvalidArgument, "compression level " + std::to_string(level) +
                                                         " is out of range 1.." +
                                                         std::to_string(ZSTD_maxCLevel()));
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (!cctx) return base::Error(base::Code::kInternal, "zstd: cannot allocate context");
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (!ZSTD_isError(rc) && workers > 0) {
    // A single-threaded libzstd refuses nbWorkers; compression still works, on one thread.
    // Each worker buffers a job of input and its output; 1 MiB jobs (zstd would pick about
    // 4x the window) keep memory small and fixed while still giving every worker work.
    if (!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers))) {
      (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, 1 << 20);
    }
  }
  if (ZSTD_isError(rc)) {
    ZSTD_freeCCtx(cctx);
    return ZstdError("set parameter", rc);
  }
  return std::unique_ptr<ZstdCompressSink>(new ZstdCompressSink(next, cctx));
}

ZstdCompressSink::ZstdCompressSink(Sink* next, void* cctx)
    : next_(next), cctx_(cctx), out_(ZSTD_CStreamOutSize()) {}

ZstdCompressSink::~ZstdCompressSink() {
  if (!done_) Abort();
  ZSTD_freeCCtx(C(cctx_));
}

Status ZstdCompressSink::Drive(std::string_view data, int mode) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (true) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(C(cctx_), &out, &in, static_cast<ZSTD_EndDirective>(mode));
    if (ZSTD_isError(rc)) return ZstdError("compress", rc);
    if (out.pos > 0) RETURN_IF_ERROR(next_->Write(std::string_view(out_.data(), out.pos)));
    bool finished = mode == ZSTD_e_continue ? in.pos == in.size : rc == 0;
    if (finished) return Status::Ok();
  }
}

Status ZstdCompressSink::Write(std::string_view data) {
  if (done_) return base::Error(base::Code::kInternal, "zstd: write after close");
  return Drive(data, ZSTD_e_continue);
}

Status ZstdCompressSink::Close() {
  if (done_) return base::Error(base::Code::kInternal, "zstd: closed twice");
  Status st = Drive({}, ZSTD_e_end);
  done_ = true;
  if (!st.ok()) {
    next_->Abort();
    return st;
  }
  return next_->Close();
}

void ZstdCompressSink::Abort() {
  if (done_) return;
  done_ = true;
  next_->Abort();
}

ZstdDecompressSource::ZstdDecompressSource(Source* src)
    : src_(src), dctx_(ZSTD_createDCtx()), in_(ZSTD_DStreamInSize()) {
  (void)ZSTD_DCtx_setParameter(D(dctx_), ZSTD_d_windowLogMax, kMaxWindowLog);
}

ZstdDecompressSource::~ZstdDecompressSource() { ZSTD_freeDCtx(D(dctx_)); }

Result<size_t> ZstdDecompressSource::Read(std::span<char> buf) {
  if (buf.empty()) return size_t{0};
  while (true) {
    if (in_pos_ == in_size_ && !src_eof_) {
      ASSIGN_OR_RETURN(size_t n, src_->Read(in_));
      in_pos_ = 0;
      in_size_ = n;
      if (n == 0) src_eof_ = true;
      if (!frame_complete_) frame_start_ = kUnknownStart;  // its header was in the last buffer
    }
    if (in_pos_ == in_size_ && src_eof_) {
      if (!frame_complete_) {
        return base::Error(base::Code::kDataLoss,
                           "zstd stream is truncated: it ends inside a frame");
      }
      // Every stream cairn writes has at least one frame (even for an empty payload), so an
      // empty object is a lost one, not an empty payload.
      if (!saw_frame_) return base::Error(base::Code::kDataLoss, "zstd stream is empty");
      return size_t{0};
    }
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    if (frame_complete_) frame_start_ = in_pos_;
    size_t rc = ZSTD_decompressStream(D(dctx_), &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(rc)) {
      if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) return WindowError();
      return base::Error(base::Code::kDataLoss,
                         std::string("zstd stream is corrupt: ") + ZSTD_getErrorName(rc));
    }
    frame_complete_ = rc == 0;
    saw_frame_ = saw_frame_ || frame_complete_;
    if (out.pos > 0) return out.pos;
  }
}

// Refuses the frame whose header asked for too large a window, with the window it asked for
// (RFC 8878 §3.1.1.1.2) when its header is at frame_start_ in in_ and has a window descriptor.
Status ZstdDecompressSource::WindowError() const {
  std::string asked = "larger than";
  const bool header_here = frame_start_ != kUnknownStart && in_size_ - frame_start_ >= 6;
  const auto* h =
      reinterpret_cast<const unsigned char*>(in_.data()) + (header_here ? frame_start_ : 0);
  if (header_here && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd &&
      (h[4] & 0x20) == 0) {  // not single-segment: a window descriptor follows
    const uint64_t base = uint64_t{1} << (10 + (h[5] >> 3));
    asked = "of " + std::to_string((base + base / 8 * (h[5] & 7)) >> 20) + " MiB, more than";
  }
  return base::Error(base::Code::kDataLoss, "zstd frame asks for a window " + asked + " the " +
                                                std::to_string((1 << kMaxWindowLog) >> 20) +
                                                " MiB allowed");
}

}  // namespace cairn::io

namespace cairn::io {

Result<std::string> ZstdCompress(std::string_view data, int level) {
  std::string out;
  StringSink sink(&out);
  ASSIGN_OR_RETURN(auto z, ZstdCompressSink::Create(&sink, level, 0));
  RETURN_IF_ERROR(z->Write(data));
  RETURN_IF_ERROR(z->Close());
  return out;
}

Result<std::string> ZstdDecompress(std::string_view frame, size_t limit) {
  StringSource src(frame);
  ZstdDecompressSource z(&src);
  return ReadAll(z, limit);
}

}  // namespace cairn::io
