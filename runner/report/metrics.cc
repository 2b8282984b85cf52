#include "report/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "http/client.h"
#include "kube/base64.h"

namespace cairn::report {

using base::Code;
using base::Error;
using base::Status;

void MetricSet::Gauge(std::string_view name, std::string_view help, Labels labels, double value) {
  Get(name, "gauge", help).samples.push_back({"", std::move(labels), value});
}

void MetricSet::Histogram(std::string_view name, std::string_view help, const Labels& labels,
                          const std::vector<double>& bounds,
                          const std::vector<double>& observations) {
  Family& f = Get(name, "histogram", help);
  double sum = 0;
  for (double o : observations) sum += o;
  for (double b : bounds) {
    int64_t n = 0;
    for (double o : observations) n += o <= b ? 1 : 0;
    Labels l = labels;
    l.emplace_back("le", FormatValue(b));
    f.samples.push_back({"_bucket", std::move(l), static_cast<double>(n)});
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  f.samples.push_back({"_bucket", std::move(inf), static_cast<double>(observations.size())});
  f.samples.push_back({"_sum", labels, sum});
  f.samples.push_back({"_count", labels, static_cast<double>(observations.size())});
}

Family& MetricSet::Get(std::string_view name, std::string_view type, std::string_view help) {
  for (Family& f : families_) {
    if (f.name == name) return f;
  }
  families_.push_back({std::string(name), std::string(type), std::string(help), {}});
  return families_.back();
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // The shortest spelling that reads back as the same double.
  for (int prec = 1; prec <= 17; ++prec) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", prec, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string Exposition(const MetricSet& metrics) {
  std::string out;
  for (const Family& f : metrics.families()) {
    out += "# HELP " + f.name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const Sample& s : f.samples) {
      out += f.name + s.suffix;
      if (!s.labels.empty()) {
        out += "{";
        for (size_t i = 0; i < s.labels.size(); ++i) {
          out += (i ? "," : "") + s.labels[i].first + "=\"" + EscapeLabelValue(s.labels[i].second) +
                 "\"";
        }
        out += "}";
      }
      out += " " + FormatValue(s.value) + "\n";
    }
  }
  return out;
}

namespace {

// RFC 4648 §5 (URL- and filename-safe), the alphabet the Pushgateway's @base64 form takes.
std::string Base64Url(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Segment(std::string_view name, std::string_view value) {
  if (value.empty()) return "/" + std::string(name) + "@base64/=";
  if (value.find('/') != std::string_view::npos) {
    return "/" + std::string(name) + "@base64/" + Base64Url(value);
  }
  return "/" + std::string(name) + "/" + http::UrlEncode(value, false);
}

base::Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Code::kInvalidArgument, "unable to read pushgateway " + std::string(what) +
                                             " file '" + path + "': " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) {
    return Error(Code::kInvalidArgument,
                 "pushgateway " + std::string(what) + " file '" + path + "' is empty");
  }
  return s;
}

base::Result<std::vector<http::Header>> AuthHeaders(const MetricsTarget& t) {
  std::vector<http::Header> h;
  if (!t.bearer_token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token, ReadSecretFile(t.bearer_token_file, "bearer token"));
    h.emplace_back("Authorization", "Bearer " + token);
  } else if (!t.basic_auth_file.empty()) {
    ASSIGN_OR_RETURN(std::string pair, ReadSecretFile(t.basic_auth_file, "basic auth"));
    if (pair.find(':') == std::string::npos) {
      return Error(Code::kInvalidArgument, "pushgateway basic auth file '" + t.basic_auth_file +
                                               "' must hold user:password");
    }
    h.emplace_back("Authorization", "Basic " + kube::Base64Encode(pair));
  }
  return h;
}

}  // namespace

std::string GroupingPath(std::string_view job, const Labels& grouping) {
  std::string path = "/metrics" + Segment("job", job);
  for (const auto& [name, value] : grouping) path += Segment(name, value);
  return path;
}

Status Push(const MetricsTarget& target, std::string_view job, const Labels& grouping,
            const std::string& body) {
  std::string base = target.pushgateway;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + GroupingPath(job, grouping);
  ASSIGN_OR_RETURN(std::vector<http::Header> auth, AuthHeaders(target));
  http::ClientOptions opts;
  opts.connect_timeout = std::min(target.push_deadline, std::chrono::milliseconds(3'000));
  opts.request_timeout = target.push_deadline;
  opts.retry.overall_deadline = target.push_deadline;
  opts.retry.max_attempts = 3;
  opts.user_agent = "cairn-metrics";
  ASSIGN_OR_RETURN(auto client, http::Client::Create(opts));
  http::Request req;
  req.method = "PUT";
  req.url = url;
  req.headers = std::move(auth);
  req.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
  req.body = body;
  auto resp = client->Do(req);
  const std::string where =
      "unable to push metrics to '" + base + GroupingPath(job, grouping) + "'";
  if (!resp.ok()) return resp.status().Wrap(where);
  if (resp->status / 100 != 2) {
    std::string text = resp->body.substr(0, 200);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return Error(Code::kUnavailable, where + ": HTTP " + std::to_string(resp->status) +
                                         (text.empty() ? "" : ": " + text));
  }
  return Status::Ok();
}

Status WriteTextfile(const std::string& path, const std::string& body) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(Code::kUnavailable, "unable to write metrics file '" + path + "': " + what + ": " +
                                         std::strerror(err));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("create " + tmp);
  size_t off = 0;
  while (off < body.size()) {
    ssize_t n = ::write(fd, body.data() + off, body.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return fail("sync");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return Status::Ok();
}

std::vector<std::string> Deliver(const MetricsTarget& target, std::string_view job,
                                 const Labels& grouping, const MetricSet& metrics) {
  std::vector<std::string> warnings;
  if (target.pushgateway.empty() && target.metrics_file.empty()) return warnings;
  const std::string body = Exposition(metrics);
  if (!target.pushgateway.empty()) {
    if (Status st = Push(target, job, grouping, body); !st.ok()) warnings.push_back(st.message());
  }
  if (!target.metrics_file.empty()) {
    if (Status st = WriteTextfile(target.metrics_file, body); !st.ok()) {
      warnings.push_back(st.message());
    }
  }
  return warnings;
}

}  // namespace cairn::report
