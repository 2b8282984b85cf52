// Text and JSON renderings of vault-check results and backup listings.
#include <nlohmann/json.hpp>
#include <sstream>

#include "ops/vault_check/vault_check.h"

namespace cairn::ops::vault_check {
namespace {

std::string HumanSize(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
  return buf;
}

std::string HumanAge(base::Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

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

std::string FormatBackupList(const std::vector<vault::BackupEntry>& backups, base::TimePoint now) {
  std::ostringstream out;
  if (backups.empty()) return "no backups in this vault\n";
  out << Pad("NAME", 40) << Pad("PHASE", 17) << Pad("COMPLETE", 10) << Pad("SIZE", 10) << "AGE\n";
  for (const auto& b : backups) {
    out << Pad(b.name, 40) << Pad(b.phase, 17) << Pad(b.complete ? "yes" : "no", 10)
        << Pad(HumanSize(b.size), 10) << HumanAge(now - b.created) << "\n";
  }
  return out.str();
}

std::string BackupListJson(const std::vector<vault::BackupEntry>& backups) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& b : backups) {
    nlohmann::json e = {{"name", b.name},
                        {"phase", b.phase},
                        {"complete", b.complete},
                        {"restorable", b.complete && b.phase != vault::kPhaseFailed},
                        {"size", b.size},
                        {"objects", b.object_count},
                        {"created", base::FormatRfc3339(b.created)}};
    if (!b.warnings.empty()) e["warnings"] = b.warnings;
    arr.push_back(std::move(e));
  }
  return nlohmann::json{{"backups", arr}}.dump(2) + "\n";
}

}  // namespace cairn::ops::vault_check
