// store/s3: the ObjectStore driver for AWS S3 and S3-compatible services (Ceph RGW, MinIO,
// Alibaba OSS), on http::Client (libcurl) with SigV4 header signing.
//
// Contract beyond ObjectStore:
//  - Endpoint: empty means AWS (https://s3.<region>.amazonaws.com). For Alibaba OSS,
//    `oss_network` picks the internal or public endpoint of the region. Addressing is
//    path-style or virtual-hosted (bucket as a host label).
//  - Payloads are signed (x-amz-content-sha256 of the body) or UNSIGNED-PAYLOAD; never
//    aws-chunked. Bodies are at most one part, held in memory, so every request is retriable.
//  - PutStream uploads parts of `part_size` with at most `parallel_parts` in flight (memory is
//    about (parallel_parts + 1) * part_size); a stream smaller than one part is a single PUT.
//  - Get reads in range requests of `read_chunk` bytes pinned to the first response's ETag,
//    so a replaced object is detected and a dropped connection resumes where it stopped.
//  - Conditional create sends If-None-Match: * (412 means the key exists). With
//    `conditional_create = false` (servers that ignore the header) it falls back to HEAD then
//    PUT, which leaves a race window between two writers (runner/vault/FORMAT.md).
//  - Cancellation (http.cancel: SIGTERM, --timeout) stops the data path, never the cleanup:
//    aborting a multipart upload (and listing the ones a retried initiate left behind) goes
//    through a second client that ignores `cancel` and has its own short retry budget
//    (`cleanup_timeout` per request, whatever retry_timeout is; never past
//    `cleanup_deadline`), so a stopped run leaves no pending upload behind.
//  - A CompleteMultipartUpload whose response was lost (the retry answers NoSuchUpload) is
//    accepted when HEAD shows the object this upload wrote: its size and its multipart ETag
//    (md5 of the parts' md5s, "-N") computed from the parts' ETags.
//  - Errors read like: unable to put 'k' in bucket 'b': s3: service returned error:
//    StatusCode=403, ErrorCode=AccessDenied, ErrorMessage="...", RequestId=...
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/client.h"
#include "store/object_store.h"
#include "store/s3/sigv4.h"

namespace cairn::store {

struct S3Options {
  std::string bucket;
  std::string endpoint;  // scheme://host[:port]; empty = AWS for `region`
  std::string region = "us-east-1";
  std::optional<bool> path_style;  // unset: true for custom endpoints, false for AWS and OSS
  std::string oss_network;         // "", "internal" or "public"
  s3::Credentials credentials;
  bool unsigned_payload = false;
  bool conditional_create = true;
  uint64_t part_size = 8u << 20;
  int parallel_parts = 2;
  uint64_t read_chunk = 8u << 20;
  std::string storage_class;  // default for puts; empty = bucket default
  http::ClientOptions http;
  // Aborts of multipart uploads: their own budget per request, and a deadline that moves when
  // the run stops (the run's final writes, report/); not stopped by http.cancel.
  std::chrono::milliseconds cleanup_timeout{15'000};
  const base::Deadline* cleanup_deadline = nullptr;
};

// Resolves the endpoint URL and addressing style from the options (public for tests).
struct S3Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // host[:port] of the service, without the bucket
  bool path_style = true;
};
base::Result<S3Endpoint> ResolveEndpoint(const S3Options& opts);

class S3Store final : public ObjectStore {
 public:
  static Result<std::unique_ptr<S3Store>> Create(S3Options opts,
                                                 base::Clock& clock = base::RealClock());
  ~S3Store() override;

  Capabilities caps() const override { return {opts_.conditional_create, true, true}; }
  std::string Describe() const override;
  Status Put(std::string_view key, std::string_view data, const PutOptions& opts) override;
  Result<std::unique_ptr<io::Sink>> PutStream(std::string_view key,
                                              const PutOptions& opts) override;
  Result<std::unique_ptr<io::Source>> Get(std::string_view key,
                                          const ByteRange& range = {}) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(const ListOptions& opts, const std::function<bool(const ListPage&)>& page) override;
  Status Delete(const std::vector<std::string>& keys) override;
  Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) override;
  Status AbortPendingUpload(const PendingUpload& upload) override;
  Result<uint64_t> PendingUploadBytes(const PendingUpload& upload) override;

  std::optional<std::chrono::seconds> ObservedClockSkew() const override;

  // Which client sends a request: the data path (cancellable) or the cleanup path.
  enum class Path { kData, kCleanup };
  // One signed request (public for the multipart sink and the range reader).
  struct Call {
    std::string method = "GET";
    std::string key;  // empty: the bucket itself
    std::vector<http::Header> query;
    std::vector<http::Header> headers;
    std::string_view body;
    Path path = Path::kData;
  };
  // ListPendingUploads / AbortPendingUpload on a chosen path (the multipart sink's cleanup).
  Result<std::vector<PendingUpload>> ListUploads(std::string_view prefix, Path path);
  Status AbortUpload(const PendingUpload& upload, Path path);
  Result<http::Response> Send(const Call& call);
  // Builds the error for a non-success response: "<what>: s3: service returned error: ...".
  Status ResponseError(std::string_view what, const http::Response& r) const;
  const S3Options& options() const { return opts_; }
  base::Clock& clock() const { return clock_; }

 private:
  S3Store(S3Options opts, S3Endpoint ep, std::unique_ptr<http::Client> client,
          std::unique_ptr<http::Client> cleanup, base::Clock& clock);
  std::string What(std::string_view verb, std::string_view key) const;

  S3Options opts_;
  S3Endpoint ep_;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<http::Client> cleanup_client_;
  base::Clock& clock_;
  std::atomic<int64_t> skew_seconds_{0};
  std::atomic<bool> skew_known_{false};
};

}  // namespace cairn::store
