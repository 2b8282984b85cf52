// io/read_ahead: a Source that reads its upstream on a thread of its own, ahead of its reader,
// into a bounded ring of buffers. A restore reads the vault, checks the stored digest,
// decompresses and checks the logical digest on that thread while the caller parses and writes
// files: the two halves of the pipeline run on two cores instead of taking turns on one.
//
// Memory is bounded: `depth` buffers of `chunk` bytes. The upstream chain (borrowed) is touched
// only by the thread until Read has returned 0 or an error, or until Stop: read the state of
// filters in it (sizes, digests) only after that.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "io/stream.h"

namespace cairn::io {

class ReadAheadSource final : public Source {
 public:
  explicit ReadAheadSource(Source* upstream, size_t chunk = 1 << 20, size_t depth = 4);
  ~ReadAheadSource() override { Stop(); }
  ReadAheadSource(const ReadAheadSource&) = delete;
  ReadAheadSource& operator=(const ReadAheadSource&) = delete;

  Result<size_t> Read(std::span<char> buf) override;
  // Stops the thread (after the upstream Read in progress returns) and joins it. Idempotent.
  // Call it from the reading thread (as the destructor does). A Read after a Stop that came
  // before the end of the stream fails with kCancelled once the chunks read ahead are used up:
  // a stream cut short never looks complete.
  void Stop();

 private:
  struct Chunk {
    std::vector<char> data;
    size_t size = 0;  // 0: the end of the stream (or the error in status_)
  };
  void Run();
  bool Fill(Chunk& c);  // false at the end of the stream or on an error
  bool NextChunk();     // waits for the next chunk; false when there is none

  Source* upstream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> ready_;  // filled by the thread, in order
  std::deque<Chunk> free_;   // emptied by the reader, for reuse
  Chunk current_;
  size_t pos_ = 0;
  bool stop_ = false;
  bool finished_ = false;  // the thread has pushed its last chunk
  bool cut_ = false;       // stopped before the end of the stream
  Status status_;          // the upstream's error, reported once the chunks before it are read
  std::thread thread_;
};

}  // namespace cairn::io
