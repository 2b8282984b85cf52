// io/zstd: streaming zstd compression (multi-threaded) and decompression as stream filters.
//
// Memory is bounded by zstd's window and the worker count, never by the payload size.
// Decompression fails with DataLoss on a corrupt or truncated frame: a stream that ends before
// its frame does is an error, not a short payload. A frame is hostile input: one asking for a
// window larger than kMaxWindowLog is refused at its header (DataLoss) instead of making the
// decoder fill a buffer of that size (zstd alone allows 128 MiB).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io/stream.h"

namespace cairn::io {

class ZstdCompressSink final : public Sink {
 public:
  // Compresses into `next` (borrowed). `workers` > 0 enables zstd's multi-threaded mode.
  static Result<std::unique_ptr<ZstdCompressSink>> Create(Sink* next, int level, int workers);
  ~ZstdCompressSink() override;
  Status Write(std::string_view data) override;
  // Ends the frame, writes the remainder, then closes `next`.
  Status Close() override;
  void Abort() override;

 private:
  ZstdCompressSink(Sink* next, void* cctx);
  Status Drive(std::string_view in, int mode);
  Sink* next_;
  void* cctx_;  // ZSTD_CCtx*, kept opaque so zstd.h stays private to io
  std::vector<char> out_;
  bool done_ = false;
};

// The largest window a frame may ask for when decoded: 16 MiB. cairn's writers use levels
// 1 to 19 without a pledged size, whose windows are at most 8 MiB.
inline constexpr int kMaxWindowLog = 24;

class ZstdDecompressSource final : public Source {
 public:
  explicit ZstdDecompressSource(Source* src);  // borrowed
  ~ZstdDecompressSource() override;
  Result<size_t> Read(std::span<char> buf) override;

 private:
  Status WindowError() const;
  Source* src_;
  void* dctx_;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool src_eof_ = false;
  static constexpr size_t kUnknownStart = SIZE_MAX;
  size_t frame_start_ = 0;  // in in_: where the frame being decoded began (kUnknownStart: before)
  bool frame_complete_ = true;  // true between frames
  bool saw_frame_ = false;      // a whole frame has been decoded
};

// One-shot forms over whole buffers (the streaming classes above, one frame with checksum).
Result<std::string> ZstdCompress(std::string_view data, int level);
// Fails with DataLoss on a corrupt or truncated frame, FailedPrecondition above `limit`.
Result<std::string> ZstdDecompress(std::string_view frame, size_t limit);

}  // namespace cairn::io
