#include "report/reporter.h"

#include <sys/stat.h>

#include <fstream>

#include "base/log.h"

namespace cairn::report {

void WriteTerminationMessage(const std::string& path, const std::string& line) {
  struct stat st;
  if (path.empty() || stat(path.c_str(), &st) != 0) return;
  std::string one = base::Redact(line.substr(0, line.find('\n')));
  if (one.size() > 4096) one.resize(4096);
  std::ofstream f(path, std::ios::trunc);
  f << one << "\n";
}

std::vector<std::string> Reporter::Publish(const vault::RunStatus& status,
                                           const std::string& failure_line) {
  std::vector<std::string> warnings;
  if (store_) {
    base::Status st = vault::WriteStatus(*store_, status_key_, status);
    if (!st.ok()) {
      warnings.push_back("unable to write status to the vault: " + st.message());
      base::LogWarn("unable to write status to the vault", {{"error", st.message()}});
    }
  }
  if (!failure_line.empty()) WriteTerminationMessage(opts_.termination_log, failure_line);
  return warnings;
}

}  // namespace cairn::report
