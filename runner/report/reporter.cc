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
                                           const std::optional<Event>& event,
                                           const std::string& failure_line) {
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& what, const base::Status& st) {
    warnings.push_back(what + ": " + st.message());
    base::LogWarn(what, {{"error", st.message()}});
  };
  if (store_) {
    base::Status st = vault::WriteStatus(*store_, status_key_, status);
    if (!st.ok()) warn("unable to write status to the vault", st);
  }
  if (cluster_) {
    base::Status st = cluster_->ApplyStatus(status);
    if (!st.ok()) warn("unable to write the status ConfigMap", st);
    if (event) {
      st = cluster_->Emit(status, *event);
      if (!st.ok()) warn("unable to record event " + event->reason, st);
    }
  }
  if (!failure_line.empty()) WriteTerminationMessage(opts_.termination_log, failure_line);
  return warnings;
}

}  // namespace cairn::report
