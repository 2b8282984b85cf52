// main/metrics: where a run's metrics go, from its invocation (--pushgateway, --metrics-file,
// [metrics] and [defaults]), and the one call every executable makes at its end.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "main/wiring.h"
#include "report/metrics.h"

namespace cairn::wiring {

report::MetricsTarget MetricsTargetFor(const Invocation& inv);

// Pushes/writes `metrics` for the group job=cairn-<operation>, `grouping`; returns warnings
// for the run's status (a failed push never fails the run).
std::vector<std::string> DeliverMetrics(const Invocation& inv, std::string_view operation,
                                        const report::Labels& grouping,
                                        const report::MetricSet& metrics);

}  // namespace cairn::wiring
