// Fuzzes vault::ParseLease, a lease document (gc's lock and restore's read leases). Whatever it
// accepts must render with ToJson, and the rendering must parse again to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vault/lease.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto doc = vault::ParseLease(bytes, "fuzz/locks/gc.json");
  if (!doc.ok()) return 0;
  const std::string once = vault::ToJson(*doc);
  auto again = vault::ParseLease(once, "fuzz/locks/gc.json");
  if (!again.ok() || vault::ToJson(*again) != once) std::abort();
  return 0;
}
