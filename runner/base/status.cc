#include "base/status.h"

namespace cairn::base {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "Ok";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kUnavailable: return "Unavailable";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Code::kDataLoss: return "DataLoss";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kConflict: return "Conflict";
    case Code::kCancelled: return "Cancelled";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status Status::Wrap(std::string_view context) const {
  if (ok()) return *this;
  Status s(code_, std::string(context) + ": " + message_);
  s.hint_ = hint_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (hint_.empty()) return message_;
  return message_ + "\nHINT: " + hint_;
}

}  // namespace cairn::base
