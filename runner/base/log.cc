#include "base/log.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <vector>

#include "base/clock.h"

namespace cairn::base {
namespace {

struct LogState {
  std::mutex mu;
  std::vector<std::string> secrets;
  LogFormat format = isatty(2) ? LogFormat::kText : LogFormat::kJson;
  LogLevel level = LogLevel::kInfo;
  std::string* capture = nullptr;
};

LogState& State() {
  static LogState* s = new LogState();  // never destroyed: logging works during exit
  return *s;
}

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string RedactLocked(const LogState& st, std::string_view text) {
  std::string out(text);
  for (const auto& secret : st.secrets) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "[REDACTED]");
      pos += 10;
    }
  }
  return out;
}

}  // namespace

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 4) return;
  auto& st = State();
  std::lock_guard<std::mutex> l(st.mu);
  for (const auto& s : st.secrets) {
    if (s == secret) return;
  }
  st.secrets.emplace_back(secret);
}

std::string Redact(std::string_view text) {
  auto& st = State();
  std::lock_guard<std::mutex> l(st.mu);
  return RedactLocked(st, text);
}

void SetLogFormat(LogFormat format) {
  std::lock_guard<std::mutex> l(State().mu);
  State().format = format;
}

void SetLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> l(State().mu);
  State().level = level;
}

void SetLogCapture(std::string* capture) {
  std::lock_guard<std::mutex> l(State().mu);
  State().capture = capture;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  auto& st = State();
  std::lock_guard<std::mutex> l(st.mu);
  if (level < st.level) return;
  const std::string ts = FormatRfc3339(std::chrono::system_clock::now());
  std::string json =
      "{\"time\":\"" + ts + "\",\"level\":\"" + std::string(LevelName(level)) + "\",\"msg\":";
  AppendJsonString(json, RedactLocked(st, msg));
  for (const auto& [k, v] : fields) {
    json += ',';
    AppendJsonString(json, k);
    json += ':';
    AppendJsonString(json, RedactLocked(st, v));
  }
  json += "}\n";
  std::string line;
  if (st.format == LogFormat::kJson) {
    line = json;
  } else {
    line = ts.substr(11, 8) + " " + std::string(LevelName(level)) + " " + RedactLocked(st, msg);
    for (const auto& [k, v] : fields) line += " " + std::string(k) + "=" + RedactLocked(st, v);
    line += "\n";
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
  if (st.capture) *st.capture += json;
}

}  // namespace cairn::base
