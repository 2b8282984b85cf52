// Fuzzes vault::ParseVaultInfo, the vault's identity document (read first by every operation).
// Whatever it accepts must render with ToJson, and the rendering must parse again to the same
// bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vault/vault_info.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto doc = vault::ParseVaultInfo(bytes, "fuzz/cairn-vault.json");
  if (!doc.ok()) return 0;
  const std::string once = vault::ToJson(*doc);
  auto again = vault::ParseVaultInfo(once, "fuzz/cairn-vault.json");
  if (!again.ok() || vault::ToJson(*again) != once) std::abort();
  return 0;
}
