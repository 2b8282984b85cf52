#include "store/s3/s3_store.h"

#include <ctime>

#include "base/log.h"
#include "io/hash.h"
#include "store/s3/s3_internal.h"
#include "store/s3/xml.h"

namespace cairn::store {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

http::Verdict S3Verdict(const http::Response& r) {
  if (http::DefaultVerdict(r) == http::Verdict::kRetry) return http::Verdict::kRetry;
  // S3 asks to retry these although their status is 4xx.
  if ((r.status == 400 && r.body.find("<Code>RequestTimeout</Code>") != std::string::npos) ||
      (r.status == 409 &&
       r.body.find("<Code>ConditionalRequestConflict</Code>") != std::string::npos)) {
    return http::Verdict::kRetry;
  }
  return http::Verdict::kDone;
}

}  // namespace

base::Result<S3Endpoint> ResolveEndpoint(const S3Options& o) {
  S3Endpoint ep;
  std::string url = o.endpoint;
  bool oss = !o.oss_network.empty() || url.find("aliyuncs.com") != std::string::npos;
  if (!o.oss_network.empty() && o.oss_network != "internal" && o.oss_network != "public") {
    return base::Error(base::Code::kInvalidArgument,
                       "oss_network must be 'internal' or 'public', not '" + o.oss_network + "'");
  }
  if (url.empty()) {
    if (o.region.empty()) {
      return base::Error(base::Code::kInvalidArgument, "no endpoint and no region given");
    }
    if (oss) {
      std::string region = o.region.rfind("oss-", 0) == 0 ? o.region.substr(4) : o.region;
      url = "https://oss-" + region + ".aliyuncs.com";
    } else {
      url = "https://s3." + o.region + ".amazonaws.com";
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return base::Error(base::Code::kInvalidArgument,
                       "endpoint '" + url + "' must start with http:// or https://");
  }
  ep.scheme = url.substr(0, sep);
  if (ep.scheme != "http" && ep.scheme != "https") {
    return base::Error(base::Code::kInvalidArgument,
                       "endpoint '" + url + "' must start with http:// or https://");
  }
  ep.host = url.substr(sep + 3);
  while (!ep.host.empty() && ep.host.back() == '/') ep.host.pop_back();
  if (ep.host.empty() || ep.host.find('/') != std::string::npos) {
    return base::Error(base::Code::kInvalidArgument,
                       "endpoint '" + url + "' must be scheme://host[:port] without a path");
  }
  // Default ports are left out so the Host header matches what clients normally send.
  if ((ep.scheme == "https" && EndsWith(ep.host, ":443")) ||
      (ep.scheme == "http" && EndsWith(ep.host, ":80"))) {
    ep.host = ep.host.substr(0, ep.host.rfind(':'));
  }
  if (oss && !o.oss_network.empty()) {
    // oss-cn-hangzhou.aliyuncs.com <-> oss-cn-hangzhou-internal.aliyuncs.com
    size_t dot = ep.host.find('.');
    std::string label = ep.host.substr(0, dot);
    std::string rest = dot == std::string::npos ? "" : ep.host.substr(dot);
    bool internal = EndsWith(label, "-internal");
    if (o.oss_network == "internal" && !internal) label += "-internal";
    if (o.oss_network == "public" && internal) label = label.substr(0, label.size() - 9);
    ep.host = label + rest;
  }
  bool aws_like = o.endpoint.empty() || oss;
  ep.path_style = o.path_style.value_or(!aws_like);
  if (oss && ep.path_style) {
    return base::Error(base::Code::kInvalidArgument,
                       "alibaba oss does not accept path-style requests; remove path_style");
  }
  return ep;
}

S3Store::S3Store(S3Options opts, S3Endpoint ep, std::unique_ptr<http::Client> client,
                 std::unique_ptr<http::Client> cleanup, base::Clock& clock)
    : opts_(std::move(opts)),
      ep_(std::move(ep)),
      client_(std::move(client)),
      cleanup_client_(std::move(cleanup)),
      clock_(clock) {}

S3Store::~S3Store() = default;

Result<std::unique_ptr<S3Store>> S3Store::Create(S3Options opts, base::Clock& clock) {
  ASSIGN_OR_RETURN(S3Endpoint ep, ResolveEndpoint(opts));
  if (opts.bucket.empty()) return base::Error(base::Code::kInvalidArgument, "no bucket given");
  // "a.b.s3.amazonaws.com" does not match the service's wildcard certificate.
  if (!opts.path_style && ep.scheme == "https" && opts.bucket.find('.') != std::string::npos &&
      opts.oss_network.empty() && ep.host.find("aliyuncs.com") == std::string::npos) {
    ep.path_style = true;
  }
  if (opts.part_size < (5u << 20)) {
    return base::Error(base::Code::kInvalidArgument, "s3 part size must be at least 5 MiB");
  }
  if (opts.parallel_parts < 1) opts.parallel_parts = 1;
  base::RegisterSecret(opts.credentials.secret_access_key);
  base::RegisterSecret(opts.credentials.session_token);
  opts.http.max_response_body = std::max<size_t>(opts.read_chunk + (1u << 20), 16u << 20);
  ASSIGN_OR_RETURN(auto client, http::Client::Create(opts.http, clock));
  http::ClientOptions cleanup = opts.http;
  cleanup.cancel = nullptr;
  cleanup.deadline = opts.cleanup_deadline;
  cleanup.retry.overall_deadline = opts.cleanup_timeout;  // its own, whatever retry_timeout is
  cleanup.request_timeout = std::min(cleanup.request_timeout, opts.cleanup_timeout);
  cleanup.connect_timeout = std::min(cleanup.connect_timeout, opts.cleanup_timeout);
  ASSIGN_OR_RETURN(auto cleanup_client, http::Client::Create(std::move(cleanup), clock));
  return std::unique_ptr<S3Store>(new S3Store(std::move(opts), std::move(ep), std::move(client),
                                              std::move(cleanup_client), clock));
}

std::string S3Store::Describe() const {
  return "s3://" + opts_.bucket + " (endpoint " + ep_.scheme + "://" + ep_.host + ")";
}

std::optional<std::chrono::seconds> S3Store::ObservedClockSkew() const {
  if (!skew_known_.load()) return std::nullopt;
  return std::chrono::seconds(skew_seconds_.load());
}

std::string S3Store::What(std::string_view verb, std::string_view key) const {
  return "unable to " + std::string(verb) + " '" + std::string(key) + "' in bucket '" +
         opts_.bucket + "'";
}

Result<http::Response> S3Store::Send(const Call& call) {
  std::string host = ep_.path_style ? ep_.host : opts_.bucket + "." + ep_.host;
  std::string path = ep_.path_style ? "/" + opts_.bucket : "";
  if (!call.key.empty() || path.empty()) path += "/" + call.key;
  std::string url = ep_.scheme + "://" + host + s3::UriEncode(path, false);
  if (!call.query.empty()) url += "?" + s3::CanonicalQueryString(call.query);
  http::Request req{call.method, url, call.headers, call.body};
  req.headers.emplace_back("Host", host);
  std::string payload_hash =
      opts_.unsigned_payload && !call.body.empty() ? "UNSIGNED-PAYLOAD" : io::Sha256Hex(call.body);
  http::Hooks hooks;
  hooks.classify = S3Verdict;
  hooks.sign = [&](const http::Request& r) -> Result<std::vector<http::Header>> {
    s3::SigningRequest sr;
    sr.method = r.method;
    sr.host = host;
    sr.path = path;
    sr.query = call.query;
    sr.headers = call.headers;
    sr.payload_sha256 = payload_hash;
    return s3::SignV4(sr, opts_.credentials, opts_.region, "s3", clock_.Now());
  };
  http::Client& client = call.path == Path::kCleanup ? *cleanup_client_ : *client_;
  auto resp = client.Do(req, hooks);
  if (resp.ok()) {
    if (auto server = http::ParseHttpDate(resp->Get("date"))) {
      skew_seconds_ =
          std::chrono::duration_cast<std::chrono::seconds>(*server - clock_.Now()).count();
      skew_known_ = true;
    }
  }
  return resp;
}

Status S3Store::ResponseError(std::string_view what, const http::Response& r) const {
  s3::S3Error e;
  if (!r.body.empty()) {
    auto parsed = s3::ParseError(r.body);
    if (parsed.ok()) e = *parsed;
  }
  if (e.code.empty()) {  // HEAD and some proxies answer without a body
    switch (r.status) {
      case 301: e.code = "PermanentRedirect"; break;
      case 400: e.code = "BadRequest"; break;
      case 403: e.code = "Forbidden"; break;
      case 404: e.code = "NotFound"; break;
      case 412: e.code = "PreconditionFailed"; break;
      default: e.code = "HTTP" + std::to_string(r.status);
    }
  }
  if (e.request_id.empty()) e.request_id = r.Get("x-amz-request-id");
  base::Code code = base::Code::kInternal;
  const std::string& c = e.code;
  if (r.status == 404 || c == "NoSuchKey" || c == "NoSuchBucket" || c == "NoSuchUpload") {
    code = base::Code::kNotFound;
  } else if (c == "InvalidAccessKeyId" || c == "SignatureDoesNotMatch" || c == "ExpiredToken" ||
             c == "InvalidToken") {
    code = base::Code::kUnauthenticated;
  } else if (r.status == 403 && c != "RequestTimeTooSkewed" && c != "InvalidObjectState") {
    code = base::Code::kPermissionDenied;
  } else if (c == "RequestTimeTooSkewed" || c == "InvalidObjectState" || r.status == 301) {
    code = base::Code::kFailedPrecondition;
  } else if (r.status == 412) {
    code = base::Code::kAlreadyExists;
  } else if (r.status >= 500 || r.status == 429) {
    code = base::Code::kUnavailable;
  } else if (r.status >= 400) {
    code = base::Code::kInvalidArgument;
  }
  std::string msg =
      std::string(what) + ": s3: service returned error: StatusCode=" + std::to_string(r.status) +
      ", ErrorCode=" + e.code + ", ErrorMessage=\"" + e.message + "\", RequestId=" + e.request_id;
  if (r.attempts > 1) {
    msg += " (after " + std::to_string(r.attempts) + " attempts";
    for (size_t i = 0; i < r.attempt_log.size(); ++i) msg += (i ? "; " : ": ") + r.attempt_log[i];
    msg += ")";
  }
  Status st(code, msg);
  if (c == "NoSuchBucket") st.WithHint("create bucket '" + opts_.bucket + "' or fix the url");
  if (c == "SignatureDoesNotMatch") st.WithHint("check the secret key and the region");
  if (c == "RequestTimeTooSkewed") st.WithHint("synchronise this machine's clock (NTP)");
  if (r.status == 301) st.WithHint("the bucket is in another region; set region to match");
  return st;
}

Status S3Store::Put(std::string_view key, std::string_view data, const PutOptions& opts) {
  if (opts.if_none_match && !opts_.conditional_create) {
    auto head = Head(key);
    if (head.ok()) {
      return base::Error(base::Code::kAlreadyExists,
                         "object '" + std::string(key) + "' already exists");
    }
    if (head.status().code() != base::Code::kNotFound) return head.status();
  }
  Call call{"PUT", std::string(key), {}, {}, data};
  call.headers.emplace_back("Content-Type", opts.content_type);
  const std::string& sc = opts.storage_class.empty() ? opts_.storage_class : opts.storage_class;
  if (!sc.empty()) call.headers.emplace_back("x-amz-storage-class", sc);
  if (opts.if_none_match && opts_.conditional_create) {
    call.headers.emplace_back("If-None-Match", "*");
  }
  ASSIGN_OR_RETURN(http::Response r, Send(call));
  if (r.status == 200) return Status::Ok();
  if (r.status == 412) {
    return base::Error(base::Code::kAlreadyExists,
                       "object '" + std::string(key) + "' already exists");
  }
  return ResponseError(What("put", key), r);
}

Result<std::unique_ptr<io::Sink>> S3Store::PutStream(std::string_view key, const PutOptions& opts) {
  return s3internal::NewUploadSink(this, std::string(key), opts);
}

Result<std::unique_ptr<io::Source>> S3Store::Get(std::string_view key, const ByteRange& range) {
  return s3internal::NewRangeSource(this, std::string(key), range);
}

Result<ObjectInfo> S3Store::Head(std::string_view key) {
  ASSIGN_OR_RETURN(http::Response r, Send(Call{"HEAD", std::string(key), {}, {}, {}}));
  if (r.status == 404) {
    return base::Error(base::Code::kNotFound, "object '" + std::string(key) + "' not found");
  }
  if (r.status != 200) return ResponseError(What("stat", key), r);
  ObjectInfo info;
  info.key = std::string(key);
  std::string len = r.Get("content-length");
  info.size = len.empty() ? 0 : std::stoull(len);
  info.etag = s3internal::StripQuotes(r.Get("etag"));
  info.storage_class = r.Get("x-amz-storage-class");
  if (info.storage_class.empty()) info.storage_class = "STANDARD";
  if (auto t = http::ParseHttpDate(r.Get("last-modified"))) info.last_modified = *t;
  return info;
}

Status S3Store::List(const ListOptions& opts, const std::function<bool(const ListPage&)>& page_fn) {
  std::string token;
  while (true) {
    Call call{"GET", "", {{"list-type", "2"}}, {}, {}};
    call.query.emplace_back("max-keys", std::to_string(std::clamp(opts.page_size, 1, 1000)));
    if (!opts.prefix.empty()) call.query.emplace_back("prefix", opts.prefix);
    if (!opts.delimiter.empty()) call.query.emplace_back("delimiter", opts.delimiter);
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    ASSIGN_OR_RETURN(http::Response r, Send(call));
    if (r.status != 200) return ResponseError(What("list", opts.prefix + "*"), r);
    auto parsed = s3::ParseListObjectsV2(r.body);
    if (!parsed.ok()) return parsed.status().Wrap(What("list", opts.prefix + "*"));
    ListPage page;
    for (auto& o : parsed->objects) {
      ObjectInfo info;
      info.key = std::move(o.key);
      info.size = o.size;
      info.etag = std::move(o.etag);
      info.storage_class = o.storage_class.empty() ? "STANDARD" : o.storage_class;
      if (auto t = base::ParseRfc3339(o.last_modified); t.ok()) info.last_modified = *t;
      page.objects.push_back(std::move(info));
    }
    page.common_prefixes = std::move(parsed->common_prefixes);
    if (!page_fn(page)) return Status::Ok();
    if (!parsed->is_truncated) return Status::Ok();
    if (parsed->next_continuation_token.empty()) {
      return base::Error(
          base::Code::kInternal,
          What("list", opts.prefix + "*") + ": truncated listing without a continuation token");
    }
    token = parsed->next_continuation_token;
  }
}

Status S3Store::Delete(const std::vector<std::string>& keys) {
  for (size_t i = 0; i < keys.size(); i += 1000) {
    std::vector<std::string> batch(keys.begin() + i,
                                   keys.begin() + std::min(keys.size(), i + 1000));
    std::string body = s3::BuildDeleteObjects(batch, true);
    Call call{"POST", "", {{"delete", ""}}, {}, body};
    call.headers.emplace_back("Content-Type", "application/xml");
    call.headers.emplace_back("Content-MD5", io::Md5Base64(body));
    ASSIGN_OR_RETURN(http::Response r, Send(call));
    std::string what = What("delete", batch.front() + (batch.size() > 1 ? " and others" : ""));
    if (r.status != 200) return ResponseError(what, r);
    auto parsed = s3::ParseDeleteObjects(r.body);
    if (!parsed.ok()) return parsed.status().Wrap(what);
    if (!parsed->errors.empty()) {
      const auto& e = parsed->errors.front();
      return base::Error(base::Code::kUnavailable,
                         "unable to delete '" + e.resource + "' in bucket '" + opts_.bucket +
                             "': " + e.code + " " + e.message + " (" +
                             std::to_string(parsed->errors.size()) + " keys failed)");
    }
  }
  return Status::Ok();
}

Result<std::vector<PendingUpload>> S3Store::ListPendingUploads(std::string_view prefix) {
  return ListUploads(prefix, Path::kData);
}

Status S3Store::AbortPendingUpload(const PendingUpload& upload) {
  return AbortUpload(upload, Path::kData);
}

Result<std::vector<PendingUpload>> S3Store::ListUploads(std::string_view prefix, Path path) {
  std::vector<PendingUpload> out;
  std::string key_marker, id_marker;
  while (true) {
    Call call{"GET", "", {{"uploads", ""}}, {}, {}, path};
    if (!prefix.empty()) call.query.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) call.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) call.query.emplace_back("upload-id-marker", id_marker);
    ASSIGN_OR_RETURN(http::Response r, Send(call));
    std::string what = "unable to list incomplete uploads in bucket '" + opts_.bucket + "'";
    if (r.status != 200) return ResponseError(what, r);
    auto parsed = s3::ParseListMultipartUploads(r.body);
    if (!parsed.ok()) return parsed.status().Wrap(what);
    for (const auto& u : parsed->uploads) {
      PendingUpload p{u.key, u.upload_id, {}};
      if (auto t = base::ParseRfc3339(u.initiated); t.ok()) p.initiated = *t;
      out.push_back(std::move(p));
    }
    if (!parsed->is_truncated || parsed->next_key_marker.empty()) break;
    key_marker = parsed->next_key_marker;
    id_marker = parsed->next_upload_id_marker;
  }
  return out;
}

Status S3Store::AbortUpload(const PendingUpload& upload, Path path) {
  Call call{"DELETE", upload.key, {{"uploadId", upload.upload_id}}, {}, {}, path};
  ASSIGN_OR_RETURN(http::Response r, Send(call));
  if (r.status == 204 || r.status == 200 || r.status == 404) return Status::Ok();
  return ResponseError(What("abort upload of", upload.key), r);
}

Result<uint64_t> S3Store::PendingUploadBytes(const PendingUpload& upload) {
  // S3 allows 10,000 parts and pages them by 1,000: 10 pages, with a margin, bound the loop.
  constexpr int kMaxPages = 12;
  const std::string what = What("list the parts of the upload of", upload.key);
  uint64_t bytes = 0;
  std::string marker;
  for (int page = 0; page < kMaxPages; ++page) {
    Call call{"GET", upload.key, {{"uploadId", upload.upload_id}, {"max-parts", "1000"}}, {}, {}};
    if (!marker.empty()) call.query.emplace_back("part-number-marker", marker);
    ASSIGN_OR_RETURN(http::Response r, Send(call));
    if (r.status == 404) {
      return base::Error(base::Code::kNotFound,
                         "upload '" + upload.upload_id + "' of '" + upload.key + "' not found");
    }
    if (r.status != 200) return ResponseError(what, r);
    auto parsed = s3::ParseListParts(r.body);
    if (!parsed.ok()) return parsed.status().Wrap(what);
    bytes += parsed->bytes;
    if (!parsed->is_truncated) return bytes;
    marker = parsed->next_part_number_marker;
  }
  return base::Error(base::Code::kInternal, what + ": the listing did not end after " +
                                                std::to_string(kMaxPages) +
                                                " pages (S3 allows 10,000 parts)");
}

}  // namespace cairn::store
