// bench-kube-list: lists every ConfigMap in all namespaces page by page through kube::Client,
// the read path of a backup, and prints one JSON line: objects, pages, seconds, objects/s, peak
// RSS (which must not grow with the object count: one page is held at a time).
//
//   bench-kube-list --kubeconfig FILE --count N [--context C] [--limit 500] [--qps 50]
//
// It seeds nothing: scripts/bench creates the ConfigMaps first. --count is how many it created;
// fewer objects listed is an error (exit 1), so a half-seeded cluster is never timed.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kube/client.h"
#include "kube/config.h"

using namespace cairn;

namespace {

long PeakRssKiB() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench-kube-list --kubeconfig FILE --count N [--context C] [--limit 500] "
               "[--qps 50]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  kube::LoadOptions load;
  int64_t count = -1;
  int limit = 500;
  double qps = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--kubeconfig") {
      load.kubeconfig = v;
    } else if (f == "--context") {
      load.context = v;
    } else if (f == "--count") {
      count = std::strtoll(v.c_str(), nullptr, 10);
    } else if (f == "--limit") {
      limit = std::atoi(v.c_str());
    } else if (f == "--qps") {
      qps = std::atof(v.c_str());
    } else {
      std::fprintf(stderr, "bench-kube-list: unknown flag %s\n", f.c_str());
      return Usage();
    }
  }
  if (argc % 2 == 0 || load.kubeconfig.empty() || count < 0) return Usage();
  auto cfg = kube::LoadClusterConfig(load);
  if (!cfg.ok()) {
    std::fprintf(stderr, "bench-kube-list: %s\n", cfg.status().ToString().c_str());
    return 1;
  }
  kube::ClientOptions opts;
  opts.qps = qps;
  auto client = kube::Client::Create(*cfg, opts);
  if (!client.ok()) {
    std::fprintf(stderr, "bench-kube-list: %s\n", client.status().ToString().c_str());
    return 1;
  }
  kube::ListOptions lo;
  lo.limit = limit;
  kube::ListStats stats;
  auto start = std::chrono::steady_clock::now();
  base::Status st = (*client)->List(
      {"", "v1", "configmaps", true}, lo, [](const nlohmann::json&) { return true; }, &stats);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!st.ok()) {
    std::fprintf(stderr, "bench-kube-list: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf(
      "{\"objects\":%lld,\"pages\":%d,\"seconds\":%.3f,\"objects_per_s\":%.1f,"
      "\"peak_rss_kib\":%ld,\"bytes\":%lld,\"restarts\":%d}\n",
      static_cast<long long>(stats.items), stats.pages, secs,
      secs > 0 ? static_cast<double>(stats.items) / secs : 0.0, PeakRssKiB(),
      static_cast<long long>(stats.bytes), stats.restarts);
  if (stats.items < count) {
    std::fprintf(stderr, "bench-kube-list: listed %lld configmaps, expected at least %lld\n",
                 static_cast<long long>(stats.items), static_cast<long long>(count));
    return 1;
  }
  return 0;
}
