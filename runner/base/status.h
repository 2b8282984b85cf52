// base/status: the error model of cairn.
//
// No cairn code throws. A fallible function returns [[nodiscard]] Status or Result<T>.
// A Status carries a Code (the stable error code table in runner/README.md), a lowercase
// message naming the operation and the object, and an optional HINT line. Messages never
// contain credentials: callers build them from names, keys and server error codes only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cairn::base {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // bad flag, bad config, malformed input
  kNotFound,            // object, bucket or resource does not exist
  kAlreadyExists,       // conditional create lost: the name is taken
  kPermissionDenied,    // credentials valid but not allowed (403 AccessDenied)
  kUnauthenticated,     // credentials rejected (InvalidAccessKeyId, SignatureDoesNotMatch)
  kUnavailable,         // transient server or network failure after retries
  kDeadlineExceeded,    // the operation's deadline passed
  kDataLoss,            // checksum or size mismatch, truncated or corrupt data
  kFailedPrecondition,  // the world is not in the state required (newer format, archived class)
  kConflict,            // concurrent modification (lease held by another holder)
  kCancelled,           // SIGTERM or an explicit abort
  kInternal,            // a bug or an unexpected library failure
};

// Stable, user-facing name of a code ("NotFound"), as listed in runner/README.md.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // Adds a "HINT: ..." line shown to users below the message.
  Status& WithHint(std::string hint) & {
    hint_ = std::move(hint);
    return *this;
  }
  Status&& WithHint(std::string hint) && {
    hint_ = std::move(hint);
    return std::move(*this);
  }

  // Prefixes context: "unable to read manifest: " + message. Keeps code and hint.
  Status Wrap(std::string_view context) const;

  // "<message>" plus "\nHINT: <hint>" when there is one.
  std::string ToString() const;

  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

inline Status Error(Code code, std::string message) { return Status(code, std::move(message)); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cairn::base

#define CAIRN_CONCAT_INNER(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::cairn::base::Status _cairn_st = (expr); \
    if (!_cairn_st.ok()) return _cairn_st;    \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from a Result or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(CAIRN_CONCAT(_cairn_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
