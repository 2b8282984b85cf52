// http/client: the one HTTP client of cairn (libcurl), and the one place that retries.
//
// A request is retried on transport failures (connection refused or reset, timeouts, a body
// shorter than its Content-Length) and on responses the caller's classifier calls transient
// (by default 500/502/503/504 and 429, honouring Retry-After in seconds or as an HTTP date),
// with capped exponential backoff and jitter for up to the retry budget (`retry.overall_deadline`,
// the config's retry_timeout), never past `deadline` (the run's --timeout): no attempt and no
// wait ends after it. Setting `cancel` aborts a transfer and a backoff sleep within 100 ms.
// Before every attempt the `sign` hook adds fresh headers (SigV4 signs the time). When retries
// run out, the result says how many attempts were made, for how long, and what they got. Bodies are
// held in memory: callers bound them (S3 parts, range chunks), which is what makes every request
// retriable. libcurl stays private to this module.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/retry.h"
#include "base/status.h"

namespace cairn::http {

using base::Result;
using base::Status;
using Header = std::pair<std::string, std::string>;

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string_view body;  // borrowed; must outlive Do()
};

struct Response {
  long status = 0;
  std::vector<Header> headers;  // names lowercased, in received order
  std::string body;
  int attempts = 1;
  // One line per failed attempt; when retries ran out on a transient status, the last line is
  // this response itself.
  std::vector<std::string> attempt_log;
  // The value of the first header named `name` (case-insensitive), or "".
  std::string Get(std::string_view name) const;
};

enum class Verdict { kDone, kRetry };

struct ClientOptions {
  std::string ca_file;          // extra CA bundle; empty = system bundle
  std::string ca_pem;           // CA certificates as PEM text (kubeconfig *-data); with ca_file
  std::string client_cert_pem;  // client certificate for mutual TLS, PEM
  std::string client_key_pem;   // its private key, PEM
  bool insecure_skip_verify = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000};  // one attempt, whatever the deadline
  std::chrono::seconds low_speed_time{30};             // abort below 1 KiB/s for this long
  std::string user_agent = "cairn";
  base::RetryPolicy retry;
  size_t max_response_body = 64u << 20;
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGTERM) to abort transfers
  const base::Deadline* deadline = nullptr;   // nothing waits past it (the run's --timeout)
  // A request other than GET and HEAD under way when `cancel` is set gets this long to finish
  // (within the deadline), so that its outcome is known: a write the server applied is not
  // reported as failed. No request starts once `cancel` is set.
  std::chrono::milliseconds write_grace{0};
};

struct Hooks {
  // Headers to add for this attempt (called before every attempt).
  std::function<Result<std::vector<Header>>(const Request&)> sign;
  // Whether a response is final or transient; default: DefaultVerdict.
  std::function<Verdict(const Response&)> classify;
};

Verdict DefaultVerdict(const Response& r);

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientOptions opts,
                                                base::Clock& clock = base::RealClock());
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Performs `req`, retrying as described above. Returns the final HTTP response whatever its
  // status (the caller interprets 4xx), or an error when no response could be had: kUnavailable
  // (network), kDeadlineExceeded, kCancelled, kFailedPrecondition (TLS verification).
  Result<Response> Do(const Request& req, const Hooks& hooks = {});

  const ClientOptions& options() const { return opts_; }

 private:
  struct Handle;
  Client(ClientOptions opts, base::Clock& clock);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);
  // One attempt; transport failures come back as a Status with `retriable` set.
  Result<Response> Attempt(Handle& h, const Request& req, bool* retriable);
  Result<Response> GiveUp(const Request& req, Result<Response> last, int attempts,
                          std::vector<std::string> log, const base::Backoff& backoff);
  bool DeadlinePassed() const;
  bool Cancelled() const { return opts_.cancel && opts_.cancel->load(); }

  ClientOptions opts_;
  base::Clock& clock_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

// An HTTP date (RFC 9110: IMF-fixdate, and the obsolete RFC 850 and asctime forms), as in Date,
// Last-Modified and Retry-After; nullopt when `v` is none of them.
std::optional<base::TimePoint> ParseHttpDate(std::string_view v);

// Percent-encodes for a URL path or query component (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s, bool keep_slash);

}  // namespace cairn::http
