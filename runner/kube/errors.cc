#include "kube/errors.h"

namespace cairn::kube {
namespace {

using base::Code;

// One line, at most 200 characters, of a body that is not a Status.
std::string Snippet(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  size_t b = out.find_first_not_of(' ');
  return b == std::string::npos ? "" : out.substr(b);
}

std::string ReasonForStatus(long status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "HTTP " + std::to_string(status);
  }
}

}  // namespace

std::optional<ApiStatus> ParseApiStatus(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("kind", "") != "Status") return std::nullopt;
  ApiStatus s;
  auto str = [&j](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  s.reason = str("reason");
  s.message = str("message");
  if (auto it = j.find("code"); it != j.end() && it->is_number_integer()) s.code = it->get<int>();
  if (auto it = j.find("details"); it != j.end()) s.details = *it;
  return s;
}

Code CodeForReason(std::string_view reason, long http_status) {
  if (reason == "NotFound") return Code::kNotFound;
  if (reason == "AlreadyExists") return Code::kAlreadyExists;
  if (reason == "Conflict") return Code::kConflict;
  if (reason == "Forbidden") return Code::kPermissionDenied;
  if (reason == "Unauthorized") return Code::kUnauthenticated;
  if (reason == "Invalid" || reason == "BadRequest" || reason == "MethodNotAllowed" ||
      reason == "NotAcceptable" || reason == "UnsupportedMediaType" ||
      reason == "RequestEntityTooLarge") {
    return Code::kInvalidArgument;
  }
  if (reason == "TooManyRequests" || reason == "ServiceUnavailable" || reason == "InternalError" ||
      reason == "ServerTimeout") {
    return Code::kUnavailable;
  }
  if (reason == "Timeout") return Code::kDeadlineExceeded;
  if (reason == "Gone" || reason == "Expired") return Code::kFailedPrecondition;
  switch (http_status) {
    case 401: return Code::kUnauthenticated;
    case 403: return Code::kPermissionDenied;
    case 404: return Code::kNotFound;
    case 409: return Code::kConflict;
    case 410: return Code::kFailedPrecondition;
    case 504: return Code::kDeadlineExceeded;
    default: break;
  }
  if (http_status >= 500) return Code::kUnavailable;
  if (http_status >= 400) return Code::kInvalidArgument;
  return Code::kInternal;  // a 1xx/2xx/3xx the caller did not expect
}

base::Status ApiError(std::string_view verb, std::string_view object, long http_status,
                      std::string_view body, int attempts) {
  std::string msg = "unable to " + std::string(verb) + " " + std::string(object) + ": ";
  Code code;
  if (auto st = ParseApiStatus(body)) {
    std::string reason = st->reason.empty() ? ReasonForStatus(http_status) : st->reason;
    code = CodeForReason(st->reason, http_status);
    msg += reason + ": " + (st->message.empty() ? "(no message)" : st->message);
  } else {
    code = CodeForReason("", http_status);
    std::string snippet = Snippet(body);
    msg += ReasonForStatus(http_status);
    if (http_status != 0 && ReasonForStatus(http_status).rfind("HTTP", 0) != 0) {
      msg += " (HTTP " + std::to_string(http_status) + ")";
    }
    if (!snippet.empty()) msg += ": " + snippet;
  }
  if (attempts > 1) msg += " (after " + std::to_string(attempts) + " attempts)";
  return base::Status(code, std::move(msg));
}

}  // namespace cairn::kube
