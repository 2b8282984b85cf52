#include "main/metrics.h"

#include "base/log.h"

namespace cairn::wiring {

report::MetricsTarget MetricsTargetFor(const Invocation& inv) {
  report::MetricsTarget t;
  t.pushgateway = inv.settings.pushgateway;
  t.metrics_file = inv.settings.metrics_file;
  if (inv.config) {
    const config::MetricsConfig& m = inv.config->metrics;
    if (inv.common.pushgateway.empty() && !m.pushgateway.empty()) t.pushgateway = m.pushgateway;
    t.basic_auth_file = m.basic_auth_file;
    t.bearer_token_file = m.bearer_token_file;
    if (m.push_timeout) {
      t.push_deadline = std::chrono::duration_cast<std::chrono::milliseconds>(*m.push_timeout);
    }
  }
  return t;
}

std::vector<std::string> DeliverMetrics(const Invocation& inv, std::string_view operation,
                                        const report::Labels& grouping,
                                        const report::MetricSet& metrics) {
  const report::MetricsTarget target = MetricsTargetFor(inv);
  auto warnings = report::Deliver(target, "cairn-" + std::string(operation), grouping, metrics);
  for (const auto& w : warnings) base::LogWarn("metrics not delivered", {{"error", w}});
  if (warnings.empty() && !target.pushgateway.empty()) base::LogInfo("metrics pushed");
  return warnings;
}

}  // namespace cairn::wiring
