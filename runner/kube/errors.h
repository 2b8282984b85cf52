// kube/errors: Kubernetes API error responses as cairn Status values.
//
// The API server answers failures with a metav1.Status body (reason, message, code, details).
// ApiError decodes it and maps the reason (or, when there is none, the HTTP status) to a
// base::Code:
//   NotFound → kNotFound, AlreadyExists → kAlreadyExists, Conflict → kConflict,
//   Forbidden → kPermissionDenied, Unauthorized → kUnauthenticated,
//   Invalid/BadRequest (and other 4xx) → kInvalidArgument,
//   TooManyRequests/ServiceUnavailable/InternalError/ServerTimeout (and other 5xx, reached only
//   after the HTTP client's retries) → kUnavailable, Timeout → kDeadlineExceeded,
//   Gone/Expired → kFailedPrecondition.
// Messages read `unable to get configmaps "x" in namespace "shop": NotFound: configmaps "x" not
// found`: the operation, the object, the reason and the server's message. The server's message
// names objects and fields, never credentials; a body that is not a Status (a proxy's HTML page)
// is cut to one short line.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::kube {

struct ApiStatus {
  std::string reason;   // "NotFound"; may be empty
  std::string message;  // the server's text
  int code = 0;         // HTTP status the server put in the body
  nlohmann::json details;
};

// The Status in `body`, or nullopt when the body is not a metav1.Status.
std::optional<ApiStatus> ParseApiStatus(std::string_view body);

// The code for a reason; an empty or unknown reason falls back on the HTTP status.
base::Code CodeForReason(std::string_view reason, long http_status);

// `unable to <verb> <object>: <Reason>: <message>` with the mapped code. `attempts` > 1 adds
// "(after N attempts)".
base::Status ApiError(std::string_view verb, std::string_view object, long http_status,
                      std::string_view body, int attempts = 1);

}  // namespace cairn::kube
