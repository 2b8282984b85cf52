#include "archive/libarchive_support.h"

#include <archive.h>

#include <cctype>
#include <initializer_list>

namespace cairn::archive::internal {
namespace {

// Built once and kept for the life of the process (a locale_t is immutable and shareable).
locale_t Utf8Locale() {
  static const locale_t loc = [] {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"}) {
      locale_t l = newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(nullptr));
      if (l != static_cast<locale_t>(nullptr)) return l;
    }
    return static_cast<locale_t>(nullptr);
  }();
  return loc;
}

}  // namespace

ScopedUtf8Locale::ScopedUtf8Locale() {
  if (locale_t loc = Utf8Locale(); loc != static_cast<locale_t>(nullptr)) {
    previous_ = uselocale(loc);
  }
}

ScopedUtf8Locale::~ScopedUtf8Locale() {
  if (previous_ != static_cast<locale_t>(nullptr)) uselocale(previous_);
}

std::string LibarchiveError(struct archive* a) {
  const char* text = a == nullptr ? nullptr : archive_error_string(a);
  std::string s = (text == nullptr || *text == '\0')
                      ? "damaged or truncated archive (libarchive gave no reason)"
                      : text;
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace cairn::archive::internal
