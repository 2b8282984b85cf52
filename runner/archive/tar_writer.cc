// archive/tar_writer: TarWriter on libarchive's pax-restricted writer.
//
// libarchive pushes finished blocks into WriteCallback, which forwards them to the Sink. A Sink
// failure is recorded here and reported to libarchive as -1, so the libarchive call that
// triggered it fails and the writer returns the Sink's own Status. Once failed or aborted the
// callback never touches the Sink again (libarchive's free would otherwise write end blocks).
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <vector>

#include "archive/libarchive_support.h"
#include "archive/tar.h"

namespace cairn::archive {

using base::Code;
using base::Status;

namespace {

constexpr int kBytesPerBlock = 10240;
constexpr size_t kCopyBufferBytes = 256 << 10;

}  // namespace

struct TarWriter::Impl {
  enum class State { kOpen, kFinished, kFailed, kAborted };

  io::Sink* sink = nullptr;  // null once failed or aborted: the callback refuses to write
  struct archive* a = nullptr;
  State state = State::kOpen;
  Status failure;      // why the writer failed (returned by every later call)
  Status sink_status;  // the Sink's error, when a write into it failed
  uint64_t entries = 0;

  ~Impl() {
    sink = nullptr;  // archive_write_free closes an open archive: its output goes nowhere
    if (a != nullptr) {
      internal::ScopedUtf8Locale utf8;
      archive_write_free(a);
    }
  }

  Status Usable() const {
    switch (state) {
      case State::kOpen: return Status::Ok();
      case State::kFailed: return failure;
      case State::kFinished:
        return base::Error(Code::kFailedPrecondition, "tar writer is already finished");
      case State::kAborted: break;
    }
    return base::Error(Code::kCancelled, "tar writer was aborted");
  }

  // Marks the writer failed with `st` and returns it.
  Status Fail(Status st) {
    state = State::kFailed;
    sink = nullptr;
    failure = std::move(st);
    return failure;
  }

  // The Status for a failed libarchive call made while `what`.
  Status FailLibarchive(std::string_view what) {
    if (!sink_status.ok()) return Fail(sink_status.Wrap(what));
    return Fail(
        base::Error(Code::kInternal, std::string(what) + ": " + internal::LibarchiveError(a)));
  }

  Status WriteHeader(std::string_view path, uint64_t size, base::TimePoint mtime) {
    internal::ScopedUtf8Locale utf8;
    struct archive_entry* e = archive_entry_new();
    if (e == nullptr) return Fail(base::Error(Code::kInternal, "out of memory for a tar entry"));
    const std::string p(path);
    // The multibyte form, in the (UTF-8) locale set above: see libarchive_support.h.
    archive_entry_copy_pathname(e, p.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_uname(e, "cairn");
    archive_entry_set_gname(e, "cairn");
    // Whole seconds: pax-restricted drops sub-second times unless an extended header is needed
    // anyway, so keeping them would make the bytes depend on the path length.
    archive_entry_set_mtime(
        e, std::chrono::floor<std::chrono::seconds>(mtime.time_since_epoch()).count(), 0);
    const int r = archive_write_header(a, e);
    archive_entry_free(e);
    // ARCHIVE_WARN: the path could not be translated and went out as raw bytes; still readable.
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return FailLibarchive("unable to write tar header for " + QuoteEntryPath(path));
    }
    return Status::Ok();
  }

  Status WriteData(std::string_view path, std::string_view data) {
    internal::ScopedUtf8Locale utf8;
    while (!data.empty()) {
      const la_ssize_t n = archive_write_data(a, data.data(), data.size());
      if (n <= 0) {
        return FailLibarchive("unable to write data of tar entry " + QuoteEntryPath(path));
      }
      data.remove_prefix(std::min(static_cast<size_t>(n), data.size()));
    }
    return Status::Ok();
  }

  Status FinishEntry(std::string_view path) {
    internal::ScopedUtf8Locale utf8;
    if (const int r = archive_write_finish_entry(a); r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return FailLibarchive("unable to finish tar entry " + QuoteEntryPath(path));
    }
    ++entries;
    return Status::Ok();
  }
};

namespace {

la_ssize_t WriteCallback(struct archive* a, void* client, const void* buf, size_t n) {
  auto* impl = static_cast<TarWriter::Impl*>(client);
  if (impl->sink == nullptr) {
    archive_set_error(a, ECANCELED, "tar writer is stopped");
    return -1;
  }
  try {  // nothing may unwind through libarchive's C frames
    Status st = impl->sink->Write(std::string_view(static_cast<const char*>(buf), n));
    if (!st.ok()) {
      impl->sink_status = std::move(st);
      impl->sink = nullptr;
      archive_set_error(a, EIO, "write to the output stream failed");
      return -1;
    }
  } catch (...) {
    impl->sink_status = base::Error(Code::kInternal, "exception while writing the tar stream");
    impl->sink = nullptr;
    archive_set_error(a, EIO, "exception while writing the tar stream");
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

}  // namespace

TarWriter::TarWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TarWriter::~TarWriter() {
  if (impl_ != nullptr && impl_->state != Impl::State::kFinished) Abort();
}

base::Result<std::unique_ptr<TarWriter>> TarWriter::Create(io::Sink* out) {
  if (out == nullptr) return base::Error(Code::kInternal, "tar writer needs an output stream");
  auto impl = std::make_unique<Impl>();
  impl->sink = out;
  internal::ScopedUtf8Locale utf8;  // libarchive picks its charset when the archive is set up
  impl->a = archive_write_new();
  if (impl->a == nullptr) return base::Error(Code::kInternal, "unable to create a tar writer");
  struct archive* a = impl->a;
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a, kBytesPerBlock) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open2(a, impl.get(), nullptr, WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
    return base::Error(Code::kInternal,
                       "unable to set up the tar writer: " + internal::LibarchiveError(a));
  }
  return std::unique_ptr<TarWriter>(new TarWriter(std::move(impl)));
}

Status TarWriter::Add(std::string_view path, std::string_view data, base::TimePoint mtime) {
  RETURN_IF_ERROR(impl_->Usable());
  RETURN_IF_ERROR(ValidateEntryPath(path));
  RETURN_IF_ERROR(impl_->WriteHeader(path, data.size(), mtime));
  RETURN_IF_ERROR(impl_->WriteData(path, data));
  return impl_->FinishEntry(path);
}

Status TarWriter::AddFrom(std::string_view path, uint64_t size, io::Source& src,
                          base::TimePoint mtime) {
  RETURN_IF_ERROR(impl_->Usable());
  RETURN_IF_ERROR(ValidateEntryPath(path));
  RETURN_IF_ERROR(impl_->WriteHeader(path, size, mtime));
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(size, kCopyBufferBytes)) + 1);
  uint64_t done = 0;
  while (done < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(size - done, buf.size()));
    auto n = src.Read(std::span<char>(buf.data(), want));
    if (!n.ok()) {
      return impl_->Fail(
          n.status().Wrap("unable to read the data of tar entry " + QuoteEntryPath(path)));
    }
    if (*n == 0) {
      return impl_->Fail(base::Error(
          Code::kDataLoss, "the data of tar entry " + QuoteEntryPath(path) + " ended after " +
                               std::to_string(done) + " of " + std::to_string(size) + " bytes"));
    }
    RETURN_IF_ERROR(impl_->WriteData(path, std::string_view(buf.data(), *n)));
    done += *n;
  }
  // The source must end exactly here: more bytes mean the size given was wrong.
  auto extra = src.Read(std::span<char>(buf.data(), 1));
  if (!extra.ok()) {
    return impl_->Fail(
        extra.status().Wrap("unable to read the data of tar entry " + QuoteEntryPath(path)));
  }
  if (*extra != 0) {
    return impl_->Fail(base::Error(Code::kDataLoss, "the data of tar entry " +
                                                        QuoteEntryPath(path) + " is longer than " +
                                                        std::to_string(size) + " bytes"));
  }
  return impl_->FinishEntry(path);
}

Status TarWriter::Finish() {
  RETURN_IF_ERROR(impl_->Usable());
  internal::ScopedUtf8Locale utf8;
  if (archive_write_close(impl_->a) != ARCHIVE_OK) {
    return impl_->FailLibarchive("unable to finish the tar archive");
  }
  impl_->state = Impl::State::kFinished;
  impl_->sink = nullptr;
  return Status::Ok();
}

void TarWriter::Abort() {
  if (impl_->a == nullptr || impl_->state == Impl::State::kFinished) return;
  if (impl_->state != Impl::State::kFailed) impl_->state = Impl::State::kAborted;
  impl_->sink = nullptr;
  internal::ScopedUtf8Locale utf8;
  archive_write_free(impl_->a);  // its close writes into the callback, which now refuses
  impl_->a = nullptr;
}

uint64_t TarWriter::entries() const { return impl_->entries; }

}  // namespace cairn::archive
