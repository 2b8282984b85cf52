// The text rendering of vault-check results (the JSON one is the status object).
#include <sstream>

#include "ops/vault_check/vault_check.h"

namespace cairn::ops::vault_check {
namespace {

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

}  // namespace

std::string FormatChecks(const vault::RunStatus& st, const std::string& where) {
  std::ostringstream out;
  out << "vault " << st.name << ": " << where << "\n";
  for (const auto& k : st.checks) {
    std::string mark = k.result == vault::kCheckPassed    ? "ok"
                       : k.result == vault::kCheckFailed  ? "FAIL"
                       : k.result == vault::kCheckWarning ? "warn"
                                                          : "skip";
    out << "  " << Pad(mark, 5) << Pad(k.name, 19) << Pad(std::to_string(k.duration_ms) + "ms", 8)
        << k.message << "\n";
  }
  out << "phase: " << st.phase << "\n";
  if (st.phase != vault::kPhaseAvailable) out << FailureLine(st) << "\n";
  return out.str();
}

}  // namespace cairn::ops::vault_check
