// Fuzzes the kubeconfig parser (kube/config.h LoadKubeconfig) on a file holding the input. The
// file lives in a private temporary directory, so relative paths inside it (certificate files,
// token files) resolve to nothing. No plugin is run and nothing is contacted.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/log.h"
#include "kube/config.h"

using namespace cairn;

namespace {
std::string ScratchFile() {
  char dir[] = "/tmp/cairn-fuzz-kubeconfig.XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  return std::string(dir) + "/config";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string file = [] {
    base::SetLogLevel(base::LogLevel::kError);  // "setting not supported" warnings
    return ScratchFile();
  }();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)kube::LoadKubeconfig({file}, "");
  return 0;
}
