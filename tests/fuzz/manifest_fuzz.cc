// Fuzzes vault::ParseManifest (the commit point restore trusts). Each input is parsed as it is
// (the version and checksum gates) and, when it is a JSON object, once more re-sealed with the
// checksum FORMAT.md §6.4 defines, as a forger would, so the fuzzer also reaches the member
// checks behind the checksum. Whatever ParseManifest accepts must serialise, and the serialised
// bytes must parse again to the same bytes: a manifest read and rewritten is stable.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "io/hash.h"
#include "vault/manifest.h"

using namespace cairn;

namespace {

void CheckStable(std::string_view bytes) {
  auto manifest = vault::ParseManifest(bytes, "fuzz/manifest.json");
  if (!manifest.ok()) return;
  auto once = vault::SerializeManifest(*manifest);
  if (!once.ok()) std::abort();
  auto again = vault::ParseManifest(*once, "fuzz/manifest.json");
  if (!again.ok()) std::abort();
  auto twice = vault::SerializeManifest(*again);
  if (!twice.ok() || *twice != *once) std::abort();
}

// The document with its "checksum" member replaced by the one its other members give.
std::optional<std::string> Reseal(std::string_view bytes) {
  size_t depth_marks = 0;
  for (char c : bytes) depth_marks += (c == '[' || c == '{');
  if (depth_marks > 64) return std::nullopt;  // nlohmann's own dump recurses
  nlohmann::json doc = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  doc.erase("checksum");
  if (doc.empty()) return std::nullopt;
  std::string canonical = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string checksum = "sha256:" + io::Sha256Hex(canonical);
  canonical.pop_back();  // '}'
  return canonical + ",\"checksum\":\"" + checksum + "\"}\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckStable(bytes);
  if (auto resealed = Reseal(bytes)) CheckStable(*resealed);
  return 0;
}
