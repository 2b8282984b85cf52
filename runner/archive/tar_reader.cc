// archive/tar_reader: TarReader on libarchive's tar reader (tar only: decompression is io's job).
//
// libarchive pulls input through ReadCallback, which refills one 64 KiB buffer from the Source.
// A Source failure is recorded here and reported to libarchive as -1; the reader then returns
// the Source's own Status rather than libarchive's generic message.
//
// libarchive treats an archive that stops at a header boundary as complete, even without the
// end-of-archive blocks. A stream cut there is a truncated upload, not an empty tail, so Next
// checks that libarchive consumed an end block (the input position moved) before reporting the
// end: an archive without one is kDataLoss.
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

constexpr size_t kInputBufferBytes = 64 << 10;
// Input one Next may read to reach an entry's data: its headers (pax records, a GNU long name:
// a path is at most kMaxEntryPathBytes) and a GNU sparse map, which libarchive reads with the
// header and keeps as a list (48 bytes per region, 4 bytes of map each). Bounding the input
// bounds that list (a few MiB), which an entry refused afterwards would already have cost.
constexpr uint64_t kMaxHeaderInputBytes = 256 << 10;

}  // namespace

struct TarReader::Impl {
  enum class State { kBeforeFirst, kInEntry, kRejected, kEnd, kFailed };

  io::Source* src = nullptr;
  struct archive* a = nullptr;
  struct archive_entry* entry = nullptr;
  std::vector<char> buf = std::vector<char>(kInputBufferBytes);
  State state = State::kBeforeFirst;
  Status failure;          // why the reader failed (returned by every later call)
  Status source_status;    // the Source's error, when a read from it failed
  bool in_header = false;  // Next is reading headers: header_input counts the input read
  uint64_t header_input = 0;
  std::string path;       // of the current entry
  uint64_t size = 0;      // its declared size
  uint64_t consumed = 0;  // and how much of it Read returned

  ~Impl() {
    internal::ScopedUtf8Locale utf8;
    if (a != nullptr) archive_read_free(a);
    if (entry != nullptr) archive_entry_free(entry);
  }

  Status Fail(Status st) {
    state = State::kFailed;
    failure = std::move(st);
    return failure;
  }

  // The Status for a failed libarchive call made while `what`: the Source's error when it
  // caused the failure, else a data problem in the archive.
  Status FailLibarchive(std::string_view what) {
    if (!source_status.ok()) return Fail(source_status.Wrap(what));
    return Fail(
        base::Error(Code::kDataLoss, std::string(what) + ": " + internal::LibarchiveError(a)));
  }

  // Classifies the header just read: ok for a regular file with a safe path, skip for a
  // directory, kDataLoss naming the entry otherwise.
  base::Result<bool> Accept() {
    // The multibyte form is UTF-8 under ScopedUtf8Locale; without a UTF-8 locale it holds the
    // raw header bytes, which for archives written by cairn are UTF-8 too.
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) name = archive_entry_pathname_utf8(entry);
    path = name == nullptr ? "" : name;
    size = 0;
    if (name == nullptr) return base::Error(Code::kDataLoss, "tar entry without a path");
    const std::string quoted = QuoteEntryPath(path);
    const la_int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (declared < 0) {
      return base::Error(Code::kDataLoss, "tar entry " + quoted + " has a negative size");
    }
    size = static_cast<uint64_t>(declared);
    if (const char* target = archive_entry_hardlink(entry); target != nullptr) {
      return base::Error(Code::kDataLoss, "tar entry " + quoted + " is a hard link to " +
                                              QuoteEntryPath(target) +
                                              ": only regular files are allowed");
    }
    const char* kind = nullptr;
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG: break;
      case AE_IFDIR: return false;
      case AE_IFLNK: kind = "a symbolic link"; break;
      case AE_IFCHR:
      case AE_IFBLK: kind = "a device"; break;
      case AE_IFIFO: kind = "a fifo"; break;
      case AE_IFSOCK: kind = "a socket"; break;
      default: kind = "of an unknown type"; break;
    }
    // A sparse file's holes read as zeros: its declared size costs nothing to store.
    if (kind == nullptr && archive_entry_sparse_count(entry) > 0) kind = "a sparse file";
    if (kind != nullptr) {
      return base::Error(Code::kDataLoss, "tar entry " + quoted + " is " + kind +
                                              ": only regular files are allowed");
    }
    if (Status st = ValidateEntryPath(path); !st.ok()) {
      return base::Error(Code::kDataLoss, "unsafe tar entry: " + st.message());
    }
    return true;
  }

  EntryInfo Info() const {
    // A hostile mtime must not overflow the nanosecond time point (about ±292 years): it is
    // held to ±9e9 s (years 1685 to 2255), a value no real backup has.
    constexpr int64_t kMaxSeconds = 9'000'000'000;
    const int64_t seconds =
        std::clamp<int64_t>(archive_entry_mtime(entry), -kMaxSeconds, kMaxSeconds);
    const int64_t nanos = std::clamp<int64_t>(archive_entry_mtime_nsec(entry), 0, 999'999'999);
    const auto since_epoch = std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos);
    return EntryInfo{
        .path = path,
        .size = size,
        .mtime =
            base::TimePoint(std::chrono::duration_cast<base::TimePoint::duration>(since_epoch)),
    };
  }
};

namespace {

la_ssize_t ReadCallback(struct archive* a, void* client, const void** out) {
  auto* impl = static_cast<TarReader::Impl*>(client);
  try {  // nothing may unwind through libarchive's C frames
    auto n = impl->src->Read(std::span<char>(impl->buf));
    if (n.ok() && impl->in_header && (impl->header_input += *n) > kMaxHeaderInputBytes) {
      n = base::Error(Code::kDataLoss, "the headers of one tar entry take more than " +
                                           std::to_string(kMaxHeaderInputBytes >> 10) +
                                           " KiB (a sparse map or extended header that large "
                                           "is refused)");
    }
    if (!n.ok()) {
      impl->source_status = n.status();
      archive_set_error(a, EIO, "read from the input stream failed");
      return -1;
    }
    *out = impl->buf.data();
    return static_cast<la_ssize_t>(*n);
  } catch (...) {
    impl->source_status = base::Error(Code::kInternal, "exception while reading the tar stream");
    archive_set_error(a, EIO, "exception while reading the tar stream");
    return -1;
  }
}

}  // namespace

TarReader::TarReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TarReader::~TarReader() = default;

base::Result<std::unique_ptr<TarReader>> TarReader::Open(io::Source* in) {
  if (in == nullptr) return base::Error(Code::kInternal, "tar reader needs an input stream");
  auto impl = std::make_unique<Impl>();
  impl->src = in;
  internal::ScopedUtf8Locale utf8;  // libarchive picks its charset when the archive is set up
  impl->a = archive_read_new();
  impl->entry = archive_entry_new();
  if (impl->a == nullptr || impl->entry == nullptr) {
    return base::Error(Code::kInternal, "unable to create a tar reader");
  }
  if (archive_read_support_format_tar(impl->a) != ARCHIVE_OK) {
    return base::Error(Code::kInternal,
                       "unable to set up the tar reader: " + internal::LibarchiveError(impl->a));
  }
  // Opening already pulls the first bytes from the Source.
  if (archive_read_open2(impl->a, impl.get(), nullptr, ReadCallback, nullptr, nullptr) !=
      ARCHIVE_OK) {
    Status st = impl->FailLibarchive("unable to open the tar archive");
    return st;
  }
  return std::unique_ptr<TarReader>(new TarReader(std::move(impl)));
}

base::Result<std::optional<EntryInfo>> TarReader::Next() {
  Impl& r = *impl_;
  if (r.state == Impl::State::kFailed) return r.failure;
  if (r.state == Impl::State::kEnd) return std::optional<EntryInfo>();
  internal::ScopedUtf8Locale utf8;
  while (true) {
    if (r.state == Impl::State::kInEntry || r.state == Impl::State::kRejected) {
      if (archive_read_data_skip(r.a) != ARCHIVE_OK) {
        return r.FailLibarchive("unable to skip the rest of tar entry " + QuoteEntryPath(r.path));
      }
    }
    const la_int64_t before = archive_filter_bytes(r.a, 0);
    r.in_header = true;
    r.header_input = 0;
    const int rc = archive_read_next_header2(r.a, r.entry);
    r.in_header = false;
    if (rc == ARCHIVE_EOF) {
      if (archive_filter_bytes(r.a, 0) == before) {
        return r.Fail(base::Error(Code::kDataLoss,
                                  "tar archive ends without its end-of-archive blocks "
                                  "(truncated after " +
                                      std::to_string(before) + " bytes)"));
      }
      r.state = Impl::State::kEnd;
      return std::optional<EntryInfo>();
    }
    // ARCHIVE_WARN: a path that could not be translated to the locale; kept as raw bytes.
    // ARCHIVE_RETRY (a header with a bad checksum) is an error too: the archive is damaged.
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return r.FailLibarchive(r.state == Impl::State::kBeforeFirst
                                  ? std::string("unable to read the tar archive")
                                  : "unable to read the tar header after entry " +
                                        QuoteEntryPath(r.path));
    }
    auto accepted = r.Accept();
    if (!accepted.ok()) {
      r.state = Impl::State::kRejected;  // Next passes over it; Read refuses it
      return accepted.status();
    }
    r.state = Impl::State::kInEntry;
    r.consumed = 0;
    if (*accepted) return std::optional<EntryInfo>(r.Info());
  }
}

std::optional<EntryInfo> TarReader::rejected() const {
  if (impl_->state != Impl::State::kRejected) return std::nullopt;
  return EntryInfo{.path = impl_->path, .size = impl_->size, .mtime = {}};
}

base::Result<size_t> TarReader::Read(std::span<char> buf) {
  Impl& r = *impl_;
  switch (r.state) {
    case Impl::State::kFailed: return r.failure;
    case Impl::State::kInEntry: break;
    case Impl::State::kRejected:
      return base::Error(Code::kFailedPrecondition,
                         "tar entry " + QuoteEntryPath(r.path) + " was rejected; call Next");
    case Impl::State::kBeforeFirst:
    case Impl::State::kEnd:
      return base::Error(Code::kFailedPrecondition, "no current tar entry to read");
  }
  if (buf.empty()) return size_t{0};
  internal::ScopedUtf8Locale utf8;
  const la_ssize_t n = archive_read_data(r.a, buf.data(), buf.size());
  if (n < 0) return r.FailLibarchive("unable to read tar entry " + QuoteEntryPath(r.path));
  r.consumed += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

base::Result<std::string> TarReader::ReadEntry(size_t limit) {
  Impl& r = *impl_;
  const uint64_t rest = r.size > r.consumed ? r.size - r.consumed : 0;
  if (r.state == Impl::State::kInEntry && rest > limit) {
    return base::Error(Code::kFailedPrecondition,
                       "tar entry " + QuoteEntryPath(r.path) + " has " + std::to_string(r.size) +
                           " bytes, more than the " + std::to_string(limit) + " allowed");
  }
  std::string out;
  if (r.state == Impl::State::kInEntry) out.reserve(static_cast<size_t>(rest));
  char chunk[16 << 10];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, Read(chunk));
    if (n == 0) break;
    if (out.size() + n > limit) {
      return base::Error(Code::kFailedPrecondition, "tar entry " + QuoteEntryPath(r.path) +
                                                        " is larger than the " +
                                                        std::to_string(limit) + " bytes allowed");
    }
    out.append(chunk, n);
  }
  return out;
}

}  // namespace cairn::archive
