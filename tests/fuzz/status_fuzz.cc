// Fuzzes vault::ParseRunStatus, a run's status document (what the catalog, gc and vault-check
// read). Whatever it accepts must render with ToJson, and the rendering must parse again to the
// same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vault/status.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto doc = vault::ParseRunStatus(bytes, "fuzz/status.json");
  if (!doc.ok()) return 0;
  const std::string once = vault::ToJson(*doc);
  auto again = vault::ParseRunStatus(once, "fuzz/status.json");
  if (!again.ok() || vault::ToJson(*again) != once) std::abort();
  return 0;
}
