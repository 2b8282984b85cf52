// base/log: structured logs on stderr, JSON lines or human text.
//
// Every log line passes through Redact(), which replaces registered secrets (S3 secret keys,
// session tokens, bearer tokens) with "[REDACTED]". Secrets are registered once where they are
// loaded; nothing later can leak them through a log line. Messages and field values that may
// carry user text are redacted too.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace cairn::base {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// Remembers a secret value so Redact() and the logger hide it. Values shorter than 4
// characters are ignored (they would redact ordinary text).
void RegisterSecret(std::string_view secret);
// Replaces every registered secret in `text` with "[REDACTED]".
std::string Redact(std::string_view text);

void SetLogFormat(LogFormat format);
void SetLogLevel(LogLevel level);
// Extra sink: every emitted line is also appended here (the run's own log for the vault).
void SetLogCapture(std::string* capture);

using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, m, f);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}
inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, m, f);
}

}  // namespace cairn::base
