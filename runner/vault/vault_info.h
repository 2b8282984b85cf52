// vault/vault_info: the vault's identity document, <prefix>/cairn-vault.json (FORMAT.md §4).
//
// Every operation reads it first (ReadVaultInfo) and refuses a vault whose format major version
// is newer than this cairn or whose encryption mode it does not know. InitVault writes it once
// with a conditional create; of two concurrent initialisers the loser adopts the winner's
// document, so a vault has one id forever.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"

namespace cairn::vault {

// The format version this cairn writes.
inline constexpr std::string_view kFormatVersion = "1.0";

struct EncryptionInfo {
  std::string mode = "none";                 // the only mode of format 1
  std::map<std::string, std::string> extra;  // unknown members: name → JSON text
};

struct VaultInfo {
  std::string format_version = std::string(kFormatVersion);
  std::string vault_id;  // UUID v4
  base::TimePoint created{};
  std::string created_by;  // "cairn 0.1.0"
  EncryptionInfo encryption;
  std::map<std::string, std::string> extra;  // unknown members, preserved on rewrite
};

// The document's bytes: two-space indented JSON, sorted members, final newline.
std::string ToJson(const VaultInfo& info);

// Parses and checks a cairn-vault.json. kDataLoss when malformed, kFailedPrecondition for a
// newer major version or an unknown encryption mode. `source` names it in messages.
[[nodiscard]] base::Result<VaultInfo> ParseVaultInfo(std::string_view json,
                                                     std::string_view source = "cairn-vault.json");

// Reads the vault's cairn-vault.json: nullopt when the vault has none (not initialised).
[[nodiscard]] base::Result<std::optional<VaultInfo>> ReadVaultInfo(store::ObjectStore& store,
                                                                   const Layout& layout);

struct InitVaultResult {
  VaultInfo info;
  bool created = false;  // false: the vault already existed (or another run won the race)
};

// Returns the vault's identity, creating cairn-vault.json (new UUID, clock's now, `created_by`)
// when the vault has none.
[[nodiscard]] base::Result<InitVaultResult> InitVault(store::ObjectStore& store,
                                                      const Layout& layout,
                                                      const base::Clock& clock,
                                                      std::string_view created_by);

}  // namespace cairn::vault
