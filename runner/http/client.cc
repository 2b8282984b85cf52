#include "http/client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>

#include "base/log.h"

namespace cairn::http {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

struct Transfer {
  Response* resp;
  size_t max_body;
  bool body_too_large = false;
  const std::atomic<bool>* cancel;
  std::chrono::milliseconds grace{0};  // how long a transfer under way outlives a cancel
  std::optional<std::chrono::steady_clock::time_point> cancel_seen;
};

size_t OnBody(char* ptr, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t->resp->body.size() + len > t->max_body) {
    t->body_too_large = true;
    return 0;  // aborts the transfer
  }
  t->resp->body.append(ptr, len);
  return len;
}

size_t OnHeader(char* ptr, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(ptr, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after 100 Continue or a redirect)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->resp->headers.emplace_back(Lower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
    // Size the body once: appending by doubling would hold up to twice a large body.
    if (t->resp->headers.back().first == "content-length") {
      uint64_t len = 0;
      const std::string& v = t->resp->headers.back().second;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
      if (ec == std::errc() && end == v.data() + v.size() && len <= t->max_body) {
        t->resp->body.reserve(len);
      }
    }
  }
  return size * n;
}

int OnProgress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(ud);
  if (!t->cancel || !t->cancel->load()) return 0;
  if (t->grace.count() == 0) return 1;
  const auto now = std::chrono::steady_clock::now();
  if (!t->cancel_seen) t->cancel_seen = now;
  return now - *t->cancel_seen >= t->grace ? 1 : 0;
}

bool RetriableCurlError(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
  }
}

std::string HostOf(const std::string& url) {
  size_t s = url.find("://");
  size_t start = s == std::string::npos ? 0 : s + 3;
  size_t end = url.find_first_of("/?", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// Retry-After in seconds or as an HTTP date, capped at an hour: the retry budget decides
// anyway, and a hostile value must not overflow.
std::optional<std::chrono::milliseconds> RetryAfter(const Response& r, base::TimePoint now) {
  std::string v = r.Get("retry-after");
  if (v.empty()) return std::nullopt;
  constexpr uint64_t kMaxSeconds = 3600;
  uint64_t secs = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc() && end == v.data() + v.size()) {
    return std::chrono::milliseconds(std::min(secs, kMaxSeconds) * 1000);
  }
  auto at = ParseHttpDate(v);
  if (!at) return std::nullopt;
  if (*at <= now) return std::chrono::milliseconds(0);
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*at - now);
  return std::min(wait, std::chrono::milliseconds(kMaxSeconds * 1000));
}

// The attempt log of a request that gave up: every line when there are few, else the first
// two and the last two (a five-minute outage makes dozens).
std::string JoinAttemptLog(const std::vector<std::string>& log) {
  std::string all;
  for (size_t i = 0; i < log.size(); ++i) {
    if (log.size() > 4 && i == 2) {
      all += "; ... " + std::to_string(log.size() - 4) + " more";
      i = log.size() - 3;
      continue;
    }
    all += (all.empty() ? "" : "; ") + log[i];
  }
  return all;
}

}  // namespace

struct Client::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string Response::Get(std::string_view name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return "";
}

Verdict DefaultVerdict(const Response& r) {
  switch (r.status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return Verdict::kRetry;
    default: return Verdict::kDone;
  }
}

std::optional<base::TimePoint> ParseHttpDate(std::string_view v) {
  const std::string str(v);
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(str.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return std::chrono::system_clock::from_time_t(timegm(&tm));
  }
  return std::nullopt;
}

std::string UrlEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Client::Client(ClientOptions opts, base::Clock& clock) : opts_(std::move(opts)), clock_(clock) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions opts, base::Clock& clock) {
  GlobalInit();
  if (!opts.ca_file.empty() && access(opts.ca_file.c_str(), R_OK) != 0) {
    return base::Error(base::Code::kInvalidArgument,
                       "ca file '" + opts.ca_file + "' cannot be read: " + std::strerror(errno));
  }
  return std::unique_ptr<Client>(new Client(std::move(opts), clock));
}

std::unique_ptr<Client::Handle> Client::Acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  return h;
}

void Client::Release(std::unique_ptr<Handle> h) {
  std::lock_guard<std::mutex> l(mu_);
  idle_.push_back(std::move(h));
}

Result<Response> Client::Attempt(Handle& h, const Request& req, bool* retriable) {
  *retriable = false;
  CURL* c = h.curl;
  curl_easy_reset(c);
  Response resp;
  Transfer t{&resp, opts_.max_response_body, false, opts_.cancel, {}, std::nullopt};
  if (req.method != "GET" && req.method != "HEAD") t.grace = opts_.write_grace;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, opts_.user_agent.c_str());
  // The retry budget stops new attempts; an attempt under way gets its full timeout, so a large
  // part on a slow link is not cut short by the retries before it. The run's deadline is
  // stricter: no attempt outlives it.
  auto connect_timeout = opts_.connect_timeout, request_timeout = opts_.request_timeout;
  if (opts_.deadline) {
    auto now = clock_.Steady();
    connect_timeout =
        std::max(std::chrono::milliseconds(1), opts_.deadline->Cap(connect_timeout, now));
    request_timeout =
        std::max(std::chrono::milliseconds(1), opts_.deadline->Cap(request_timeout, now));
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request_timeout.count()));
  // S3 keys are signed as written: curl must not collapse "/./" or "/../" segments.
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts_.low_speed_time.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!opts_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
  // Blobs are borrowed (NOCOPY): they live in opts_ as long as the client.
  curl_blob ca{const_cast<char*>(opts_.ca_pem.data()), opts_.ca_pem.size(), CURL_BLOB_NOCOPY};
  if (!opts_.ca_pem.empty()) curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_blob cert{const_cast<char*>(opts_.client_cert_pem.data()), opts_.client_cert_pem.size(),
                 CURL_BLOB_NOCOPY};
  curl_blob key{const_cast<char*>(opts_.client_key_pem.data()), opts_.client_key_pem.size(),
                CURL_BLOB_NOCOPY};
  if (!opts_.client_cert_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
  }
  if (opts_.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || !req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  struct curl_slist* hdrs = nullptr;
  // No "Expect: 100-continue" round trip, and no Content-Type unless the caller sets one.
  hdrs = curl_slist_append(hdrs, "Expect:");
  bool has_type = false;
  for (const auto& [k, v] : req.headers) {
    if (Lower(k) == "content-type") has_type = true;
    std::string line = k + (v.empty() ? ";" : ": " + v);
    hdrs = curl_slist_append(hdrs, line.c_str());
  }
  if (!has_type && !req.body.empty()) hdrs = curl_slist_append(hdrs, "Content-Type:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    std::string host = HostOf(req.url);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return base::Error(base::Code::kCancelled, "request to " + host + " cancelled");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT && DeadlinePassed()) {
      return base::Error(base::Code::kDeadlineExceeded,
                         "request to " + host + " stopped at the run's deadline: " + detail);
    }
    if (t.body_too_large) {
      return base::Error(base::Code::kInternal, "response from " + host + " is larger than " +
                                                    std::to_string(opts_.max_response_body) +
                                                    " bytes");
    }
    *retriable = RetriableCurlError(rc);
    base::Code code = base::Code::kUnavailable;
    std::string kind = "network error";
    switch (rc) {
      case CURLE_COULDNT_RESOLVE_HOST: kind = "dns lookup failed"; break;
      case CURLE_COULDNT_CONNECT: kind = "tcp connect failed"; break;
      case CURLE_OPERATION_TIMEDOUT: kind = "timed out"; break;
      case CURLE_PARTIAL_FILE: kind = "response truncated"; break;
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING: kind = "connection reset"; break;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        kind = "tls verification failed";
        code = base::Code::kFailedPrecondition;
        break;
      case CURLE_SSL_CONNECT_ERROR: kind = "tls handshake failed"; break;
      default: break;
    }
    return base::Error(code, kind + " (" + host + "): " + detail);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  resp.status = status;
  return resp;
}

bool Client::DeadlinePassed() const {
  auto left = opts_.deadline ? opts_.deadline->Left(clock_.Steady()) : std::nullopt;
  return left && left->count() <= 0;
}

// The answer of a request whose retries ran out: the last transient response itself (the
// caller names it), or the last transport error with the attempts and why they stopped.
Result<Response> Client::GiveUp(const Request& req, Result<Response> last, int attempts,
                                std::vector<std::string> log, const base::Backoff& backoff) {
  if (last.ok()) {
    last->attempts = attempts;
    last->attempt_log = std::move(log);
    return last;
  }
  std::string why;
  base::Code code = last.status().code();
  switch (backoff.limit()) {
    case base::RetryLimit::kBudget:
      why = " over " + base::FormatDuration(backoff.Elapsed()) + " (retry_timeout " +
            base::FormatDuration(opts_.retry.overall_deadline) + ")";
      break;
    case base::RetryLimit::kDeadline:
      why = " (the run's deadline)";
      code = base::Code::kDeadlineExceeded;
      break;
    default: break;
  }
  base::Status st(code, last.status().message() + " (gave up after " + std::to_string(attempts) +
                            " attempts" + why + ": " + JoinAttemptLog(log) + ")");
  if (backoff.limit() == base::RetryLimit::kBudget) {
    st.WithHint(HostOf(req.url) +
                " failed for longer than retry_timeout; raise retry_timeout (--retry-timeout) to "
                "ride out longer outages");
  }
  return st;
}

Result<Response> Client::Do(const Request& req, const Hooks& hooks) {
  base::Backoff backoff(opts_.retry, clock_, std::random_device{}(), opts_.deadline);
  std::vector<std::string> log;
  auto handle = Acquire();
  struct ReleaseOnExit {
    Client* c;
    std::unique_ptr<Handle>& h;
    ~ReleaseOnExit() { c->Release(std::move(h)); }
  } release{this, handle};
  for (int attempt = 1;; ++attempt) {
    if (Cancelled()) {
      return base::Error(base::Code::kCancelled,
                         "request to " + HostOf(req.url) + " not sent: cancelled" +
                             (log.empty() ? "" : " (" + JoinAttemptLog(log) + ")"));
    }
    if (DeadlinePassed()) {
      return base::Error(base::Code::kDeadlineExceeded,
                         "request to " + HostOf(req.url) + " not sent: the run's deadline passed" +
                             (log.empty() ? "" : " (" + JoinAttemptLog(log) + ")"));
    }
    Request r = req;
    if (hooks.sign) {
      auto extra = hooks.sign(r);
      if (!extra.ok()) return extra.status();
      r.headers.insert(r.headers.end(), extra->begin(), extra->end());
    }
    bool retriable = false;
    auto resp = Attempt(*handle, r, &retriable);
    std::optional<std::chrono::milliseconds> retry_after;
    std::string failure;
    if (resp.ok()) {
      Verdict v = hooks.classify ? hooks.classify(*resp) : DefaultVerdict(*resp);
      if (v == Verdict::kDone) {
        resp->attempts = attempt;
        resp->attempt_log = std::move(log);
        return resp;
      }
      retry_after = RetryAfter(*resp, clock_.Now());
      failure = "HTTP " + std::to_string(resp->status);
    } else if (!retriable) {
      if (attempt == 1) return resp.status();
      return base::Error(resp.status().code(),
                         resp.status().message() + " (attempt " + std::to_string(attempt) + ")");
    } else {
      failure = resp.status().message();
    }
    log.push_back("attempt " + std::to_string(attempt) + ": " + failure);
    auto wait = Cancelled() ? std::nullopt : backoff.Next(attempt, retry_after);
    if (!Cancelled() && !wait)
      return GiveUp(req, std::move(resp), attempt, std::move(log), backoff);
    base::LogDebug("retrying request",
                   {{"method", req.method}, {"host", HostOf(req.url)}, {"after", failure}});
    if (Cancelled() || !base::SleepUnlessCancelled(clock_, *wait, opts_.cancel)) {
      return base::Error(base::Code::kCancelled,
                         "request to " + HostOf(req.url) + " cancelled after " + failure);
    }
  }
}

}  // namespace cairn::http
