#include "config/toml_binder.h"

#include <algorithm>

#include "config/values.h"

namespace cairn::config::internal {
namespace {

using base::Code;
using base::Error;

// A config with more mistakes than this is reported in part; fixing these shows the rest.
constexpr size_t kMaxReportedErrors = 20;

}  // namespace

Position PositionOf(const toml::source_region& region) {
  return {region.begin.line, region.begin.column};
}

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

base::Status TypeError(std::string_view want, const toml::node& got) {
  return Error(Code::kInvalidArgument,
               "expected " + std::string(want) + ", got " + std::string(TypeName(got)));
}

base::Status CheckChoice(std::string_view value, const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return base::Status::Ok();
  std::string want;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) want += i + 1 == choices.size() ? " or " : ", ";
    want += choices[i];
  }
  std::vector<std::string_view> names(choices.begin(), choices.end());
  return Error(Code::kInvalidArgument, "invalid value '" + std::string(value) + "' (want " + want +
                                           ")" + DidYouMean(value, names));
}

base::Result<int64_t> IntInRange(const toml::node& n, int64_t lo, int64_t hi) {
  const auto* v = n.as_integer();
  if (v == nullptr) return TypeError("an integer", n);
  if (v->get() < lo || v->get() > hi) {
    return Error(Code::kInvalidArgument, std::to_string(v->get()) + " is out of range (want " +
                                             std::to_string(lo) + " to " + std::to_string(hi) +
                                             ")");
  }
  return v->get();
}

base::Result<uint64_t> SizeInRange(const toml::node& n, uint64_t lo, uint64_t hi) {
  uint64_t bytes = 0;
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) {
      return Error(Code::kInvalidArgument, "size " + std::to_string(i->get()) + " is negative");
    }
    bytes = static_cast<uint64_t>(i->get());
  } else if (const auto* s = n.as_string()) {
    ASSIGN_OR_RETURN(bytes, ParseSize(s->get()));
  } else {
    return TypeError("a size such as \"16MiB\" or a number of bytes", n);
  }
  if (bytes < lo || bytes > hi) {
    return Error(Code::kInvalidArgument, "size " + FormatSize(bytes) + " is out of range (want " +
                                             FormatSize(lo) + " to " + FormatSize(hi) + ")");
  }
  return bytes;
}

base::Result<base::Duration> PositiveDuration(const toml::node& n) {
  const auto* s = n.as_string();
  if (s == nullptr) return TypeError("a duration string such as \"10m\"", n);
  ASSIGN_OR_RETURN(base::Duration d, base::ParseDuration(s->get()));
  if (d <= base::Duration::zero()) {
    return Error(Code::kInvalidArgument, "duration '" + s->get() + "' must be positive");
  }
  return d;
}

void Binder::Add(Position pos, std::string_view key_path, std::string_view message) {
  AddAt(pos, std::string(key_path) + ": " + std::string(message));
}

void Binder::AddAt(Position pos, std::string message) {
  errors_.emplace_back(pos, std::move(message));
}

std::optional<Position> Binder::Find(std::string_view key_path) const {
  auto it = positions_.find(key_path);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

std::string Binder::Origin(Position pos) const { return file_ + ":" + std::to_string(pos.line); }

base::Status Binder::Finish() const {
  if (errors_.empty()) return base::Status::Ok();
  std::vector<std::pair<Position, std::string>> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  std::string message;
  for (size_t i = 0; i < sorted.size() && i < kMaxReportedErrors; ++i) {
    if (i > 0) message += "\n";
    const Position& p = sorted[i].first;
    message += file_;
    if (p.line > 0) message += ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
    message += ": " + sorted[i].second;
  }
  if (sorted.size() > kMaxReportedErrors) {
    message += "\n" + file_ + ": and " + std::to_string(sorted.size() - kMaxReportedErrors) +
               " more errors";
  }
  return Error(Code::kInvalidArgument, std::move(message));
}

std::string Binder::Join(std::string_view table_path, std::string_view key) {
  if (table_path.empty()) return std::string(key);
  return std::string(table_path) + "." + std::string(key);
}

}  // namespace cairn::config::internal
