#include "vault/status.h"

#include <cctype>
#include <cmath>
#include <utility>

#include "base/log.h"
#include "vault/create.h"
#include "vault/json_document.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using internal::Json;

namespace {

constexpr size_t kMaxStatusBytes = 4 << 20;
constexpr std::string_view kApiGroupPrefix = "cairn.io/v";
constexpr int kApiMajor = 1;

// Cuts `text` to kMaxIssueTextBytes at a UTF-8 character boundary, ending it with "...".
std::string CapText(std::string_view text) {
  if (text.size() <= kMaxIssueTextBytes) return std::string(text);
  size_t cut = kMaxIssueTextBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

Json IssuesToJson(const IssueList& list) {
  Json items = Json::array();
  for (const Issue& i : list.items) {
    Json item = Json::object();
    item["scope"] = i.scope;
    item["message"] = i.message;
    if (!i.object.empty()) item["object"] = i.object;
    internal::AddUnknown(item, i.extra);
    items.push_back(std::move(item));
  }
  Json j = Json::object();
  j["count"] = list.count;
  j["byScope"] = list.by_scope;
  j["items"] = std::move(items);
  internal::AddUnknown(j, list.extra);
  return j;
}

IssueList IssuesFromJson(internal::FieldReader r, const Json& raw) {
  IssueList list;
  list.count = r.I64("count");
  list.by_scope = r.IntMap("byScope");
  size_t n = r.ArraySize("items", false);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    internal::FieldReader e = r.Element("items", i);
    Issue issue;
    issue.scope = e.Str("scope");
    issue.message = e.Str("message");
    issue.object = e.OptStr("object");
    if (e.ok())
      issue.extra = internal::CollectUnknown(raw["items"][i], {"scope", "message", "object"});
    list.items.push_back(std::move(issue));
  }
  if (r.ok()) list.extra = internal::CollectUnknown(raw, {"count", "byScope", "items"});
  return list;
}

// Ok for cairn.io/v1; kFailedPrecondition for a newer version; kDataLoss for anything else.
Status CheckApiVersion(std::string_view api, std::string_view what) {
  int major = 0;
  bool parsed = api.size() > kApiGroupPrefix.size() &&
                api.substr(0, kApiGroupPrefix.size()) == kApiGroupPrefix;
  std::string_view digits = parsed ? api.substr(kApiGroupPrefix.size()) : "";
  for (size_t i = 0; parsed && i < digits.size(); ++i) {
    parsed = std::isdigit(static_cast<unsigned char>(digits[i])) && i < 6 &&
             !(i == 0 && digits[i] == '0');
    major = major * 10 + (digits[i] - '0');
  }
  if (!parsed) {
    return Error(Code::kDataLoss, std::string(what) + " is malformed: apiVersion '" +
                                      std::string(api) + "' is not cairn.io/v<N>");
  }
  if (major > kApiMajor) {
    return Error(Code::kFailedPrecondition,
                 std::string(what) + ": status format " + std::string(api) +
                     " is newer than this cairn understands (" + std::string(kStatusApiVersion) +
                     "); upgrade cairn");
  }
  return Status::Ok();
}

}  // namespace

std::string NamespaceScope(std::string_view ns) { return "namespace/" + std::string(ns); }

void IssueList::Add(std::string_view scope, std::string_view message, std::string_view object) {
  ++count;
  std::string key(scope);
  size_t scopes = by_scope.size() - by_scope.count(std::string(kScopeOther));
  if (by_scope.count(key) == 0 && scopes >= kMaxIssueScopes) key = std::string(kScopeOther);
  ++by_scope[key];
  if (items.size() < kMaxIssueItems) {
    items.push_back(Issue{std::string(scope), CapText(message), CapText(object), {}});
  }
}

std::string ToJson(const RunStatus& s) {
  Json job = Json::object();
  job["namespace"] = s.job.namespace_name;
  job["name"] = s.job.name;
  job["pod"] = s.job.pod;
  job["cronjob"] = s.job.cronjob;
  internal::AddUnknown(job, s.job.extra);

  Json j = Json::object();
  j["apiVersion"] = s.api_version;
  j["kind"] = s.kind;
  j["name"] = s.name;
  j["vault"] = s.vault;
  j["policy"] = s.policy;
  if (!s.backup.empty()) j["backup"] = s.backup;
  j["phase"] = s.phase;
  j["message"] = s.message;
  j["startTime"] = base::FormatRfc3339(s.start_time);
  j["heartbeatTime"] = base::FormatRfc3339(s.heartbeat_time);
  if (s.completion_time) j["completionTime"] = base::FormatRfc3339(*s.completion_time);
  j["durationSeconds"] = std::round(s.duration_seconds * 1000.0) / 1000.0;
  j["job"] = std::move(job);
  j["counts"] = s.counts;
  j["sizes"] = s.sizes;
  j["errors"] = IssuesToJson(s.errors);
  j["warnings"] = IssuesToJson(s.warnings);
  if (!s.checks.empty()) {
    Json checks = Json::array();
    for (const Check& c : s.checks) {
      Json check = Json::object();
      check["name"] = c.name;
      check["result"] = c.result;
      check["durationMs"] = c.duration_ms;
      check["message"] = c.message;
      internal::AddUnknown(check, c.extra);
      checks.push_back(std::move(check));
    }
    j["checks"] = std::move(checks);
  }
  if (s.last_validated) j["lastValidated"] = base::FormatRfc3339(*s.last_validated);
  internal::AddUnknown(j, s.extra);
  return internal::Pretty(j);
}

Result<RunStatus> ParseRunStatus(std::string_view json, std::string_view source) {
  const std::string what = "status '" + std::string(source) + "'";
  ASSIGN_OR_RETURN(Json doc, internal::ParseDocument(json, what));
  internal::FieldReader r(doc);
  RunStatus s;
  s.api_version = r.Str("apiVersion");
  RETURN_IF_ERROR(r.status(what));
  RETURN_IF_ERROR(CheckApiVersion(s.api_version, what));

  // Required by readers (FORMAT.md §7); the other members default when absent.
  s.kind = r.Str("kind");
  s.name = r.Str("name");
  s.phase = r.Str("phase");
  s.start_time = r.Time("startTime");
  s.heartbeat_time = r.Time("heartbeatTime");
  s.vault = r.OptStr("vault");
  s.policy = r.OptStr("policy");
  s.backup = r.OptStr("backup");
  s.message = r.OptStr("message");
  s.completion_time = r.OptTime("completionTime");
  if (doc.contains("durationSeconds")) s.duration_seconds = r.Number("durationSeconds");
  internal::FieldReader job = r.Child("job", false);
  s.job.namespace_name = job.OptStr("namespace");
  s.job.name = job.OptStr("name");
  s.job.pod = job.OptStr("pod");
  s.job.cronjob = job.OptStr("cronjob");
  s.counts = r.IntMap("counts");
  s.sizes = r.IntMap("sizes");
  static const Json kEmpty = Json::object();
  auto member = [&](const char* name) -> const Json& {
    auto it = doc.find(name);
    return it != doc.end() && it->is_object() ? *it : kEmpty;
  };
  s.errors = IssuesFromJson(r.Child("errors", false), member("errors"));
  s.warnings = IssuesFromJson(r.Child("warnings", false), member("warnings"));
  size_t n = r.ArraySize("checks", false);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    internal::FieldReader e = r.Element("checks", i);
    Check c;
    c.name = e.Str("name");
    c.result = e.Str("result");
    c.duration_ms = e.I64("durationMs");
    c.message = e.OptStr("message");
    if (e.ok()) {
      c.extra =
          internal::CollectUnknown(doc["checks"][i], {"name", "result", "durationMs", "message"});
    }
    s.checks.push_back(std::move(c));
  }
  s.last_validated = r.OptTime("lastValidated");
  RETURN_IF_ERROR(r.status(what));
  if (s.kind.empty() || s.name.empty() || s.phase.empty()) {
    return Error(Code::kDataLoss, what + " is malformed: kind, name and phase must not be empty");
  }
  s.job.extra = internal::CollectUnknown(member("job"), {"namespace", "name", "pod", "cronjob"});
  s.extra = internal::CollectUnknown(
      doc, {"apiVersion", "kind", "name", "vault", "policy", "backup", "phase", "message",
            "startTime", "heartbeatTime", "completionTime", "durationSeconds", "job", "counts",
            "sizes", "errors", "warnings", "checks", "lastValidated"});
  return s;
}

Status CreateStatus(store::ObjectStore& store, std::string_view key, const RunStatus& status) {
  Status st = CreateIfAbsent(store, key, base::Redact(ToJson(status)));
  if (!st.ok() && st.code() != base::Code::kAlreadyExists) {
    return st.Wrap("unable to create status '" + std::string(key) + "' in " + store.Describe());
  }
  return st;
}

Status WriteStatus(store::ObjectStore& store, std::string_view key, const RunStatus& status) {
  store::PutOptions opts;
  opts.content_type = "application/json";
  // Defence in depth: no message carries a secret, and none could reach the vault if one did.
  Status st = store.Put(key, base::Redact(ToJson(status)), opts);
  if (!st.ok()) {
    return st.Wrap("unable to write status '" + std::string(key) + "' to " + store.Describe());
  }
  return Status::Ok();
}

Result<RunStatus> ReadStatus(store::ObjectStore& store, std::string_view key) {
  auto bytes = store.GetAll(key, kMaxStatusBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return bytes.status();
    return bytes.status().Wrap("unable to read status '" + std::string(key) + "' from " +
                               store.Describe());
  }
  return ParseRunStatus(*bytes, key);
}

}  // namespace cairn::vault
