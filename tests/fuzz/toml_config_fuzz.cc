// Fuzzes the TOML config binder (config/config.h ParseConfig): every document is accepted or
// refused with a message that starts with the file name (FILE:LINE:COLUMN: ...).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = config::ParseConfig(text, "fuzz.toml");
  if (!cfg.ok() && cfg.status().message().rfind("fuzz.toml", 0) != 0) std::abort();
  return 0;
}
