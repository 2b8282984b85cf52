// report/metrics: a run's Prometheus metrics, delivered the way batch jobs report (README
// "Metrics"): pushed to a Pushgateway when the run ends and/or written as a node-exporter textfile.
//
// Contract: Exposition() writes the Prometheus text format 0.0.4 (HELP and TYPE once per
// family, label values escaped as the format says: backslash, double quote, newline; HELP
// text: backslash, newline). GroupingPath() builds the Pushgateway path of a group; a value
// containing '/' (or empty) uses the `@base64` form with URL-safe base64, anything else is
// percent-encoded. Deliver() never fails the run: what cannot be pushed or written comes back
// as warnings for the run's status. A push is a PUT (it replaces its group), bounded by a
// short deadline and not cancelled by SIGTERM, so a terminated run still reports.
// Credentials for the Pushgateway are read from files, never taken from a flag.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cairn::report {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string suffix;  // "" or, for histograms, "_bucket", "_sum", "_count"
  Labels labels;
  double value = 0;
};

struct Family {
  std::string name;
  std::string type;  // gauge | counter | histogram | untyped
  std::string help;
  std::vector<Sample> samples;
};

// An ordered set of families; adding to a family already present appends its samples.
class MetricSet {
 public:
  void Gauge(std::string_view name, std::string_view help, Labels labels, double value);
  // A histogram from observations with the given upper bounds (+Inf is added).
  void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const std::vector<double>& bounds, const std::vector<double>& observations);
  const std::vector<Family>& families() const { return families_; }
  bool empty() const { return families_.empty(); }

 private:
  Family& Get(std::string_view name, std::string_view type, std::string_view help);
  std::vector<Family> families_;
};

std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// Go's strconv.FormatFloat(v, 'g', -1, 64) spelling, +Inf/-Inf/NaN as Prometheus writes them.
std::string FormatValue(double v);
std::string Exposition(const MetricSet& metrics);

// "/metrics/job/<job>/<name>/<value>..." for the Pushgateway.
std::string GroupingPath(std::string_view job, const Labels& grouping);

struct MetricsTarget {
  std::string pushgateway;        // http(s) base URL; empty: no push
  std::string metrics_file;       // textfile path; empty: none
  std::string basic_auth_file;    // "user:password" (one line); empty: none
  std::string bearer_token_file;  // the token; empty: none
  std::chrono::milliseconds push_deadline{5'000};
};

// PUTs `body` to the group of `target.pushgateway`.
[[nodiscard]] base::Status Push(const MetricsTarget& target, std::string_view job,
                                const Labels& grouping, const std::string& body);

// Writes `body` to `path` atomically: a temporary file beside it, fsync, rename.
[[nodiscard]] base::Status WriteTextfile(const std::string& path, const std::string& body);

// Pushes and/or writes `metrics`; returns what failed, as warnings.
std::vector<std::string> Deliver(const MetricsTarget& target, std::string_view job,
                                 const Labels& grouping, const MetricSet& metrics);

}  // namespace cairn::report
