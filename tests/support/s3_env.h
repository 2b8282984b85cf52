// Test support: the S3 test server that scripts/test starts (hack/s3-server), read from the
// environment it exports. CAIRN_REQUIRE_S3=1 (set by scripts/test) turns a missing server
// into a failure instead of a skip, so CI cannot silently stop testing the s3 driver.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include "store/s3/s3_store.h"

namespace cairn::testing {

struct S3Env {
  std::string endpoint, bucket, access_key, secret_key, region;
};

inline std::optional<S3Env> GetS3Env() {
  auto get = [](const char* n) -> std::string {
    const char* v = std::getenv(n);
    return v ? v : "";
  };
  S3Env e{get("S3_ENDPOINT"), get("S3_BUCKET"), get("AWS_ACCESS_KEY_ID"),
          get("AWS_SECRET_ACCESS_KEY"), get("AWS_REGION")};
  if (e.endpoint.empty() || e.bucket.empty() || e.access_key.empty()) return std::nullopt;
  if (e.region.empty()) e.region = "us-east-1";
  return e;
}

inline bool S3Required() {
  const char* v = std::getenv("CAIRN_REQUIRE_S3");
  return v && std::string(v) == "1";
}

inline store::S3Options S3TestOptions(const S3Env& e) {
  store::S3Options o;
  o.bucket = e.bucket;
  o.endpoint = e.endpoint;
  o.region = e.region;
  o.path_style = true;
  o.credentials = {e.access_key, e.secret_key, ""};
  o.part_size = 5u << 20;
  o.parallel_parts = 3;
  o.read_chunk = 1u << 20;
  o.http.retry.overall_deadline = std::chrono::milliseconds(60'000);
  return o;
}

}  // namespace cairn::testing
