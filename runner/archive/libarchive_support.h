// archive/libarchive_support: what the tar writer and reader share about driving libarchive.
// Private to runner/archive and runner/volume (the volume data path drives libarchive's disk
// reader and writer itself): nothing else includes it or <archive.h>.
//
// libarchive converts entry paths between the process locale and UTF-8. cairn never calls
// setlocale, so the process runs in the "C" locale, where libarchive cannot translate non-ASCII
// names (3.6 even crashes on archive_entry_set_pathname_utf8 there). Every libarchive call is
// therefore made under a thread-local UTF-8 LC_CTYPE (uselocale), which leaves the rest of the
// process alone. Should no UTF-8 locale exist, calls run in the process locale: ASCII paths
// are unaffected and non-ASCII ones still round-trip as raw bytes (pax "hdrcharset=BINARY").
#pragma once

#include <locale.h>

#include <string>

struct archive;

namespace cairn::archive::internal {

class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale();
  ~ScopedUtf8Locale();
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t previous_ = nullptr;
};

// libarchive's last error for `a`, with a lowercase first letter as cairn messages have.
std::string LibarchiveError(struct archive* a);

}  // namespace cairn::archive::internal
