// bench-upload: streams stdin through zstd into an S3 multipart upload, the data path of a
// backup, and prints one JSON line: bytes in, bytes stored, seconds, MB/s, peak RSS.
//
//   bench-upload --endpoint URL --bucket B --key K [--level 3] [--workers 2]
//                [--part-size MiB] [--parallel-parts N]
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. scripts/bench runs it.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/hash.h"
#include "io/zstd.h"
#include "store/s3/s3_store.h"

using namespace cairn;

namespace {

class StdinSource final : public io::Source {
 public:
  base::Result<size_t> Read(std::span<char> buf) override {
    while (true) {
      ssize_t n = read(0, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return base::Error(base::Code::kUnavailable, "read stdin failed");
      return static_cast<size_t>(n);
    }
  }
};

long PeakRssKiB() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, bucket, key;
  int level = 3, workers = 2, parallel = 2;
  uint64_t part_mib = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--endpoint")
      endpoint = v;
    else if (f == "--bucket")
      bucket = v;
    else if (f == "--key")
      key = v;
    else if (f == "--level")
      level = std::atoi(v.c_str());
    else if (f == "--workers")
      workers = std::atoi(v.c_str());
    else if (f == "--part-size")
      part_mib = std::strtoull(v.c_str(), nullptr, 10);
    else if (f == "--parallel-parts")
      parallel = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "bench-upload: unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  const char* ak = std::getenv("AWS_ACCESS_KEY_ID");
  const char* sk = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (endpoint.empty() || bucket.empty() || key.empty() || !ak || !sk) {
    std::fprintf(stderr, "usage: bench-upload --endpoint URL --bucket B --key K (and AWS_* env)\n");
    return 2;
  }
  store::S3Options o;
  o.bucket = bucket;
  o.endpoint = endpoint;
  o.path_style = true;
  o.credentials = {ak, sk, ""};
  o.part_size = part_mib << 20;
  o.parallel_parts = parallel;
  auto s3 = store::S3Store::Create(o);
  if (!s3.ok()) {
    std::fprintf(stderr, "bench-upload: %s\n", s3.status().message().c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  auto sink = (*s3)->PutStream(key, {});
  if (!sink.ok()) return 1;
  io::HashingSink stored(sink->get());
  auto z = io::ZstdCompressSink::Create(&stored, level, workers);
  if (!z.ok()) return 1;
  io::HashingSink logical(z->get());
  StdinSource in;
  auto copied = io::Copy(in, logical, 1 << 20);
  base::Status st = copied.ok() ? logical.Close() : copied.status();
  if (!st.ok()) {
    std::fprintf(stderr, "bench-upload: %s\n", st.message().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"bytes_in\":%llu,\"bytes_stored\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
      "\"peak_rss_kib\":%ld,\"sha256\":\"%s\"}\n",
      static_cast<unsigned long long>(logical.size()),
      static_cast<unsigned long long>(stored.size()), secs, logical.size() / secs / 1e6,
      PeakRssKiB(), logical.HexDigest().c_str());
  return 0;
}
