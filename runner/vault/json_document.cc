#include "vault/json_document.h"

#include <cctype>
#include <limits>
#include <set>
#include <utility>
#include <vector>

namespace cairn::vault::internal {

using base::Code;
using base::Error;
using base::Result;
using base::Status;

namespace {

// Deeper documents are refused: nothing in the format nests more than a few levels, and a
// bound keeps recursive dump() safe on documents read from an untrusted vault.
constexpr int kMaxDepth = 64;

// nlohmann messages start "[json.exception.parse_error.101] "; keep what follows.
std::string StripExceptionId(const char* what) {
  std::string s(what);
  if (!s.empty() && s[0] == '[') {
    size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

bool HasNonInteger(const Json& v) {
  if (v.is_number_float()) return true;
  if (v.is_structured()) {
    for (const auto& e : v) {
      if (HasNonInteger(e)) return true;
    }
  }
  return false;
}

}  // namespace

Result<Json> ParseDocument(std::string_view text, std::string_view what) {
  std::vector<std::set<std::string>> members;  // one set per open object
  int depth = 0;
  std::string problem;
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) -> bool {
    switch (event) {
      case Json::parse_event_t::object_start: members.emplace_back(); [[fallthrough]];
      case Json::parse_event_t::array_start:
        if (++depth > kMaxDepth && problem.empty()) {
          problem = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
        }
        break;
      case Json::parse_event_t::object_end:
        if (!members.empty()) members.pop_back();
        [[fallthrough]];
      case Json::parse_event_t::array_end: --depth; break;
      case Json::parse_event_t::key:
        if (!members.empty() && parsed.is_string() &&
            !members.back().insert(parsed.get_ref<const std::string&>()).second &&
            problem.empty()) {
          problem = "duplicate member '" + parsed.get_ref<const std::string&>() + "'";
        }
        break;
      default: break;
    }
    return true;
  };
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    return Error(Code::kDataLoss,
                 std::string(what) + " is malformed: " + StripExceptionId(e.what()));
  }
  if (problem.empty() && !doc.is_object()) problem = "the document is not a JSON object";
  if (!problem.empty()) {
    return Error(Code::kDataLoss, std::string(what) + " is malformed: " + problem);
  }
  return doc;
}

Result<std::string> Canonical(const Json& value, std::string_view what) {
  if (HasNonInteger(value)) {
    return Error(Code::kInvalidArgument, "unable to canonicalise " + std::string(what) +
                                             ": it contains a non-integer number");
  }
  try {
    return value.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception& e) {
    return Error(Code::kInvalidArgument,
                 "unable to canonicalise " + std::string(what) + ": " + StripExceptionId(e.what()));
  }
}

std::string Pretty(const Json& value) {
  // With error_handler_t::replace, dump() does not throw for strings; other types cannot fail.
  try {
    return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  } catch (const Json::exception&) {
    return "{}\n";
  }
}

Result<FormatVersion> ParseFormatVersion(std::string_view text, std::string_view what) {
  auto malformed = [&] {
    return Error(Code::kDataLoss, std::string(what) + " is malformed: format_version '" +
                                      std::string(text) + "' is not MAJOR.MINOR");
  };
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return malformed();
  uint32_t parts[2];
  std::string_view fields[2] = {text.substr(0, dot), text.substr(dot + 1)};
  for (int i = 0; i < 2; ++i) {
    std::string_view f = fields[i];
    if (f.empty() || f.size() > 9 || (f.size() > 1 && f[0] == '0')) return malformed();
    uint32_t n = 0;
    for (char c : f) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return malformed();
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    parts[i] = n;
  }
  if (parts[0] == 0) return malformed();
  return FormatVersion{parts[0], parts[1]};
}

Status CheckFormatReadable(std::string_view text, std::string_view what) {
  ASSIGN_OR_RETURN(FormatVersion v, ParseFormatVersion(text, what));
  if (v.major > kFormatMajor) {
    return Error(Code::kFailedPrecondition, std::string(what) + ": vault format " +
                                                std::string(text) +
                                                " is newer than this cairn understands (" +
                                                std::to_string(kFormatMajor) + ".x); upgrade cairn")
        .WithHint("the vault was written by a newer cairn; run a release that reads format " +
                  std::to_string(v.major) + ".x");
  }
  return Status::Ok();
}

Extra CollectUnknown(const Json& obj, std::initializer_list<std::string_view> known) {
  Extra extra;
  if (!obj.is_object()) return extra;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || it.key() == k;
    if (!is_known)
      extra[it.key()] = it.value().dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return extra;
}

void AddUnknown(Json& obj, const Extra& extra) {
  for (const auto& [name, text] : extra) {
    if (obj.contains(name)) continue;
    try {
      obj[name] = Json::parse(text);
    } catch (const Json::exception&) {
      // Not JSON text: the caller built it by hand. Dropping it beats writing a broken document.
    }
  }
}

// ---- FieldReader ----

FieldReader::FieldReader(const Json* obj, std::string path, std::shared_ptr<std::string> error)
    : obj_(obj), path_(std::move(path)), error_(std::move(error)) {
  if (!obj_->is_object() && error_->empty()) {
    *error_ = path_.empty() ? "the document is not a JSON object"
                            : "field '" + path_ + "' must be an object";
  }
}

std::string FieldReader::Path(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

void FieldReader::Fail(std::string problem) {
  if (error_->empty()) *error_ = std::move(problem);
}

void FieldReader::FailField(std::string_view name, std::string_view want) {
  Fail("field '" + Path(name) + "' " + std::string(want));
}

const Json* FieldReader::Find(std::string_view name, bool required) {
  if (!obj_->is_object()) return nullptr;
  auto it = obj_->find(name);
  if (it == obj_->end() || it->is_null()) {
    if (required) FailField(name, "is required");
    return nullptr;
  }
  return &*it;
}

std::string FieldReader::Str(std::string_view name) {
  const Json* v = Find(name, true);
  if (v == nullptr) return "";
  if (!v->is_string()) {
    FailField(name, "must be a string");
    return "";
  }
  return v->get<std::string>();
}

std::string FieldReader::OptStr(std::string_view name) {
  const Json* v = Find(name, false);
  if (v == nullptr) return "";
  if (!v->is_string()) {
    FailField(name, "must be a string");
    return "";
  }
  return v->get<std::string>();
}

std::optional<uint64_t> FieldReader::OptU64(std::string_view name) {
  const Json* v = Find(name, false);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0) {
    return static_cast<uint64_t>(v->get<int64_t>());
  }
  FailField(name, "must be a non-negative integer");
  return std::nullopt;
}

uint64_t FieldReader::U64(std::string_view name) {
  if (Find(name, true) == nullptr) return 0;
  return OptU64(name).value_or(0);
}

int64_t FieldReader::I64(std::string_view name) {
  const Json* v = Find(name, true);
  if (v == nullptr) return 0;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(u);
    }
  } else if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  FailField(name, "must be an integer between -2^63 and 2^63-1");
  return 0;
}

double FieldReader::Number(std::string_view name) {
  const Json* v = Find(name, true);
  if (v == nullptr) return 0;
  if (!v->is_number()) {
    FailField(name, "must be a number");
    return 0;
  }
  return v->get<double>();
}

std::optional<base::TimePoint> FieldReader::OptTime(std::string_view name) {
  const Json* v = Find(name, false);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    auto t = base::ParseRfc3339(v->get_ref<const std::string&>());
    if (t.ok()) return *t;
  }
  FailField(name, "must be an RFC 3339 UTC timestamp such as \"2026-11-21T04:48:00Z\"");
  return std::nullopt;
}

base::TimePoint FieldReader::Time(std::string_view name) {
  if (Find(name, true) == nullptr) return {};
  return OptTime(name).value_or(base::TimePoint{});
}

std::map<std::string, int64_t> FieldReader::IntMap(std::string_view name) {
  std::map<std::string, int64_t> out;
  const Json* v = Find(name, false);
  if (v == nullptr) return out;
  FieldReader map(v, Path(name), error_);
  if (!v->is_object()) return out;
  for (auto it = v->begin(); it != v->end(); ++it) out[it.key()] = map.I64(it.key());
  return out;
}

FieldReader FieldReader::Child(std::string_view name, bool required) {
  static const Json kEmptyObject = Json::object();
  const Json* v = Find(name, required);
  return FieldReader(v != nullptr ? v : &kEmptyObject, Path(name), error_);
}

size_t FieldReader::ArraySize(std::string_view name, bool required) {
  const Json* v = Find(name, required);
  if (v == nullptr) return 0;
  if (!v->is_array()) {
    FailField(name, "must be an array");
    return 0;
  }
  return v->size();
}

FieldReader FieldReader::Element(std::string_view name, size_t index) {
  static const Json kEmptyObject = Json::object();
  const Json* v = Find(name, true);
  std::string path = Path(name) + "[" + std::to_string(index) + "]";
  if (v == nullptr || !v->is_array() || index >= v->size()) {
    return FieldReader(&kEmptyObject, std::move(path), error_);
  }
  return FieldReader(&(*v)[index], std::move(path), error_);
}

Status FieldReader::status(std::string_view what) const {
  if (error_->empty()) return Status::Ok();
  return Error(Code::kDataLoss, std::string(what) + " is malformed: " + *error_);
}

}  // namespace cairn::vault::internal
